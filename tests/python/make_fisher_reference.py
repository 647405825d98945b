#!/usr/bin/python3
"""PyTorch references for EWC (src/train/fisher.h, src/train/anchor_penalty.h).

Writes into OUT (e.g. build/testdata/fisher):
  sequences.json            three sequences of random tokens of the tiny gqa_tied model,
                            the loss on every next token: ids, targets, positions, segment_begin
  full.safetensors          the empirical diagonal Fisher of every base weight (HF names):
                            the mean over the sequences of g*g, g the gradient of that
                            sequence's mean next-token cross-entropy
  lora/                     a PEFT adapter with random non-zero A and B
  lora.safetensors          the same Fisher of its A and B (PEFT names), the base frozen
  exact.json, exact.safetensors
                            a sequence with one target (its last position) and the true Fisher
                            of A and B there: sum over every token y of p(y) * g_y * g_y, g_y
                            the gradient of -log p(y), the expectation the exact estimator samples
  penalty.safetensors       value, anchor, fisher (random, 150,000 values) and grad, the
                            gradient of lambda/2 * sum fisher * (value - anchor)^2 by autograd;
                            metadata: lambda and the penalty

Everything runs in float64 from the float32 values the C++ test reads.
"""
import argparse
import json
import os

import torch

from llama_reference import Llama, read_hf_dir
from make_gradient_references import LORA_ALPHA, LORA_RANK, random_adapter, write_peft_adapter
from make_tiny_models import write_safetensors


def random_sequences(vocab, seed):
    g = torch.Generator().manual_seed(seed)
    sequences = []
    for n in [10, 13, 8]:
        tokens = torch.randint(0, vocab, (n,), generator=g).tolist()
        sequences.append({"ids": tokens[:-1], "targets": tokens[1:], "positions": list(range(n - 1)),
                          "segment_begin": [0] * (n - 1)})
    return sequences


def empirical_fisher(model, params, sequences):
    fisher = {name: torch.zeros_like(p) for name, p in params.items()}
    for seq in sequences:
        logits = model(torch.tensor(seq["ids"]), torch.tensor(seq["positions"]), torch.tensor(seq["segment_begin"]))
        loss = torch.nn.functional.cross_entropy(logits, torch.tensor(seq["targets"]))
        grads = torch.autograd.grad(loss, list(params.values()))
        for name, g in zip(params, grads):
            fisher[name] += g * g / len(sequences)
    return fisher


def peft_names(lora_tensors):
    """The reference model's "module/A" keys as PEFT's tensor names."""
    named = {}
    for key, t in lora_tensors.items():
        module, which = key.rsplit("/", 1)
        named[f"base_model.model.{module.replace('/', '.')}.lora_{which}.weight"] = t
    return named


def true_fisher(model, params, seq):
    """The expectation over the model's own next token at the sequence's one target."""
    ids, positions = torch.tensor(seq["ids"]), torch.tensor(seq["positions"])
    segment_begin = torch.tensor(seq["segment_begin"])
    with torch.no_grad():
        p = torch.softmax(model(ids, positions, segment_begin)[-1], -1)
    fisher = {name: torch.zeros_like(q) for name, q in params.items()}
    for y in range(p.shape[0]):
        logits = model(ids, positions, segment_begin)
        loss = -torch.log_softmax(logits[-1], -1)[y]
        grads = torch.autograd.grad(loss, list(params.values()))
        for name, g in zip(params, grads):
            fisher[name] += p[y] * g * g
    return fisher


def penalty_reference(out, seed):
    g = torch.Generator().manual_seed(seed)
    n = 150_000
    value = torch.randn(n, generator=g).float().double().requires_grad_(True)
    anchor = (value.detach() + 0.1 * torch.randn(n, generator=g)).float().double()
    fisher = torch.rand(n, generator=g).float().double() ** 2
    lam = 0.7
    penalty = lam / 2 * (fisher * (value - anchor) ** 2).sum()
    penalty.backward()
    write_safetensors(os.path.join(out, "penalty.safetensors"),
                      {"value": value.detach(), "anchor": anchor, "fisher": fisher, "grad": value.grad},
                      metadata={"lambda": repr(lam), "penalty": repr(penalty.item())})


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("tiny_dir", help="directory of make_tiny_models.py's variants")
    parser.add_argument("out", help="output directory")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    config, tensors = read_hf_dir(os.path.join(args.tiny_dir, "gqa_tied", "hf"))
    sequences = random_sequences(config["vocab_size"], 5000)
    with open(os.path.join(args.out, "sequences.json"), "w") as f:
        json.dump(sequences, f)

    model = Llama(config, tensors).double()
    fisher = empirical_fisher(model, dict(model.params.items()), sequences)
    write_safetensors(os.path.join(args.out, "full.safetensors"),
                      {name.replace("/", "."): f for name, f in fisher.items()})

    adapters = random_adapter(config, 5001)
    write_peft_adapter(os.path.join(args.out, "lora"), adapters)
    model = Llama(config, tensors).double()
    model.add_lora(adapters, LORA_ALPHA / LORA_RANK)
    for p in model.params.values():
        p.requires_grad_(False)
    fisher = empirical_fisher(model, dict(model.lora.items()), sequences)
    write_safetensors(os.path.join(args.out, "lora.safetensors"), peft_names(fisher))

    one_target = dict(sequences[0], targets=[-1] * (len(sequences[0]["ids"]) - 1) + [sequences[0]["targets"][-1]])
    with open(os.path.join(args.out, "exact.json"), "w") as f:
        json.dump(one_target, f)
    fisher = true_fisher(model, dict(model.lora.items()), one_target)
    write_safetensors(os.path.join(args.out, "exact.safetensors"), peft_names(fisher))

    penalty_reference(args.out, 5002)
    print(f"make_fisher_reference: {args.out}")


if __name__ == "__main__":
    main()
