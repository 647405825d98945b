#!/usr/bin/python3
"""Reference numbers for Whet's optimisers, gradient clipping and learning-rate schedules,
checked by tests/train/test_optimizer.cpp and tests/train/test_lr_schedule.cpp.

torch.optim.AdamW and torch.optim.SGD run on a few small tensors with fixed values and a
fixed sequence of gradients and learning rates; every parameter is recorded after every
step. torch.nn.utils.clip_grad_norm_ runs on fixed gradients, once clipping and once not.
Schedule values come from transformers' lr lambdas (optimization.py), rewritten below from
their published definitions so no transformers install is needed.

The output is committed as tests/fixtures/optimizer_reference.json; regenerate it with
Debian's python3-torch (torch and the standard library only):

    /usr/bin/python3 tests/python/make_optimizer_reference.py
"""
import argparse
import json
import math
import os
import re

import torch

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUTPUT = os.path.join(REPO, "tests", "fixtures", "optimizer_reference.json")

# name, shape, decay. The norm weight is the decay=false case.
PARAMS = [("blk.0.attn_q.weight", (3, 4), True),
          ("blk.0.attn_norm.weight", (4,), False),
          ("blk.0.attn_q.lora_a", (2, 3), True)]
GRAD_SCALES = [1.0, 0.5, 2.0, 0.1, 1.0]  # one gradient per step, of varying size

OPTIMIZER_CASES = [
    {"name": "adamw_weight_decay", "kind": "adamw", "beta1": 0.9, "beta2": 0.95, "eps": 1e-6,
     "weight_decay": 0.1, "lrs": [0.01, 0.02, 0.015, 0.01, 0.005]},
    {"name": "adamw_no_weight_decay", "kind": "adamw", "beta1": 0.9, "beta2": 0.999, "eps": 1e-8,
     "weight_decay": 0.0, "lrs": [0.001, 0.002, 0.002, 0.001, 0.0005]},
    {"name": "sgd_momentum_weight_decay", "kind": "sgd", "momentum": 0.9, "weight_decay": 0.01,
     "lrs": [0.1, 0.05, 0.1, 0.08, 0.02]},
]

SCHEDULE_STEPS = [0, 1, 2, 5, 9, 10, 11, 25, 50, 55, 99, 100, 101, 105]
SCHEDULE_CASES = [
    {"kind": kind, "warmup_steps": warmup, "total_steps": 100, "base_lr": 2e-4, "min_lr": 0.0}
    for kind in ("constant", "linear", "cosine") for warmup in (0, 10)
] + [
    {"kind": "cosine", "warmup_steps": 10, "total_steps": 100, "base_lr": 2e-4, "min_lr": 2e-5},
    {"kind": "linear", "warmup_steps": 10, "total_steps": 10, "base_lr": 1e-3, "min_lr": 0.0},
    {"kind": "cosine", "warmup_steps": 10, "total_steps": 10, "base_lr": 1e-3, "min_lr": 0.0},
]


def initial_values_and_grads():
    gen = torch.Generator().manual_seed(1234)
    values = [torch.randn(shape, generator=gen) for _, shape, _ in PARAMS]
    grads = []
    for scale in GRAD_SCALES:
        step = [torch.randn(shape, generator=gen) * scale for _, shape, _ in PARAMS]
        step[0][0, 0] = 0.0  # a gradient that is exactly zero at every step
        grads.append(step)
    return values, grads


def run_optimizer(case, values, grads):
    tensors = [v.clone().requires_grad_(True) for v in values]
    decay = [t for t, (_, _, d) in zip(tensors, PARAMS) if d]
    no_decay = [t for t, (_, _, d) in zip(tensors, PARAMS) if not d]
    groups = [{"params": decay, "weight_decay": case["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}]
    if case["kind"] == "adamw":
        opt = torch.optim.AdamW(groups, lr=case["lrs"][0], betas=(case["beta1"], case["beta2"]), eps=case["eps"])
    else:
        opt = torch.optim.SGD(groups, lr=case["lrs"][0], momentum=case["momentum"])
    after = []
    for lr, step_grads in zip(case["lrs"], grads):
        for group in opt.param_groups:
            group["lr"] = lr
        for t, g in zip(tensors, step_grads):
            t.grad = g.clone()
        opt.step()
        after.append([t.detach().flatten().tolist() for t in tensors])
    return dict(case, after_step=after)


def run_clip(max_norm):
    gen = torch.Generator().manual_seed(99)
    tensors = [torch.zeros(shape, requires_grad=True) for _, shape, _ in PARAMS]
    for t in tensors:
        t.grad = torch.randn(t.shape, generator=gen) * 3.0
    before = [t.grad.flatten().tolist() for t in tensors]
    norm = torch.nn.utils.clip_grad_norm_(tensors, max_norm)
    return {"max_norm": max_norm, "grads": before, "norm": norm.item(),
            "clipped": [t.grad.flatten().tolist() for t in tensors]}


# transformers' lambdas; LambdaLR multiplies them by the base lr.
def warmup_factor(step, warmup):
    return float(step) / float(max(1, warmup))


def schedule_lr(case, step):
    kind, warmup, total, base_lr = case["kind"], case["warmup_steps"], case["total_steps"], case["base_lr"]
    if step < warmup:
        return base_lr * warmup_factor(step, warmup)
    if kind == "constant":
        return base_lr * 1.0
    if kind == "linear":
        return base_lr * max(0.0, float(total - step) / float(max(1, total - warmup)))
    # get_cosine_with_min_lr_schedule_with_warmup, num_cycles=0.5 (min_lr 0 is get_cosine_schedule_with_warmup).
    min_lr_rate = case["min_lr"] / base_lr
    progress = float(step - warmup) / float(max(1, total - warmup))
    factor = 0.5 * (1.0 + math.cos(math.pi * float(0.5) * 2.0 * progress))
    factor = factor * (1 - min_lr_rate) + min_lr_rate
    return base_lr * max(0, factor)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", default=OUTPUT, help="where to write the JSON (default: the committed fixture)")
    args = parser.parse_args()
    values, grads = initial_values_and_grads()
    reference = {
        "generator": "tests/python/make_optimizer_reference.py, torch " + torch.__version__,
        "params": [{"name": n, "numel": math.prod(s), "decay": d, "value": v.flatten().tolist()}
                   for (n, s, d), v in zip(PARAMS, values)],
        "grads": [[g.flatten().tolist() for g in step] for step in grads],
        "optimizers": [run_optimizer(case, values, grads) for case in OPTIMIZER_CASES],
        "clip": [run_clip(1.0), run_clip(100.0)],
        "schedules": [dict(case, steps=SCHEDULE_STEPS, lrs=[schedule_lr(case, s) for s in SCHEDULE_STEPS])
                      for case in SCHEDULE_CASES],
    }
    text = json.dumps(reference, indent=1)
    # One line per list of numbers keeps the file short and its diffs readable.
    one_line = lambda m: re.sub(r"\s+", " ", m.group(0)).replace("[ ", "[").replace(" ]", "]")
    text = re.sub(r"\[[-0-9.e,\s]*\]", one_line, text)
    with open(args.output, "w") as f:
        f.write(text + "\n")


if __name__ == "__main__":
    main()
