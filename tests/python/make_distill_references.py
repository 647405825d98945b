#!/usr/bin/python3
"""PyTorch references for distillation from the base model, the loss
T²·KL(softmax(z_base/T) ‖ softmax(z_student/T)) and its gradient, checked by
tests/kernels/test_distill.cpp and tests/models/test_llama_gradients.cpp.

Writes
  OUT/distill_logits.json    random student and teacher logit rows at several
                             temperatures: per row the loss and d(loss)/d(student logits)
and, for each tiny variant directory made by make_tiny_models.py (after
make_gradient_references.py, whose packed sequence and LoRA adapter it reuses),
  gradients/distill.json               the temperature and the distillation loss, the mean of
                                       T²·KL over the targets >= 0; the teacher is the base model,
                                       the student the base with gradients/lora applied
  gradients/distill_grads.safetensors  d(that loss)/d(A), d(that loss)/d(B) (PEFT names)

Everything runs in float64; the KL comes from torch.nn.functional.kl_div.
"""
import argparse
import json
import os

import torch
import torch.nn.functional as F

from llama_reference import Llama, read_hf_dir, read_safetensors
from make_gradient_references import LORA_ALPHA, LORA_RANK, lora_grads_by_peft_name
from make_tiny_models import LLAMA_VARIANTS, write_safetensors

TEMPERATURE = 2.0


def distill_loss(student, teacher, temperature):
    """Σ over rows of T²·KL(p_teacher ‖ p_student) at temperature T."""
    return temperature ** 2 * F.kl_div(F.log_softmax(student / temperature, -1),
                                       F.log_softmax(teacher / temperature, -1), log_target=True, reduction="sum")


def make_logits(path):
    g = torch.Generator().manual_seed(4100)
    cases = []
    for temperature in [1.0, 2.0, 3.5]:
        for _ in range(3):
            vocab = 50
            student = (3 * torch.randn(vocab, generator=g, dtype=torch.float64)).float().double().requires_grad_(True)
            teacher = (3 * torch.randn(vocab, generator=g, dtype=torch.float64)).float().double()
            loss = distill_loss(student, teacher, temperature)
            loss.backward()
            cases.append({"temperature": temperature, "student": student.tolist(), "teacher": teacher.tolist(),
                          "loss": loss.item(), "grad": student.grad.tolist()})
    with open(path, "w") as f:
        json.dump(cases, f)


def read_adapter(path):
    """gradients/lora as written by make_gradient_references.py: {module: (A, B)}."""
    tensors = read_safetensors(os.path.join(path, "adapter_model.safetensors"))
    adapters = {}
    for name, a in tensors.items():
        if ".lora_A." not in name:
            continue
        module = name[len("base_model.model."):name.index(".lora_A.")]
        adapters[module] = (a.double(), tensors[name.replace(".lora_A.", ".lora_B.")].double())
    return adapters


def make_model_case(variant_dir):
    out = os.path.join(variant_dir, "gradients")
    config, tensors = read_hf_dir(os.path.join(variant_dir, "hf"))
    with open(os.path.join(out, "sequence.json")) as f:
        seq = json.load(f)
    inputs = (torch.tensor(seq["ids"]), torch.tensor(seq["positions"]), torch.tensor(seq["segment_begin"]))
    rows = torch.tensor(seq["targets"]) >= 0

    with torch.no_grad():
        teacher = Llama(config, tensors).double()(*inputs)[rows]
    model = Llama(config, tensors).double()
    model.add_lora(read_adapter(os.path.join(out, "lora")), LORA_ALPHA / LORA_RANK)
    for p in model.params.values():
        p.requires_grad_(False)
    loss = distill_loss(model(*inputs)[rows], teacher, TEMPERATURE) / rows.sum()
    loss.backward()
    write_safetensors(os.path.join(out, "distill_grads.safetensors"), lora_grads_by_peft_name(model))
    with open(os.path.join(out, "distill.json"), "w") as f:
        json.dump({"temperature": TEMPERATURE, "loss": loss.item()}, f)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", help="the reference directory (make_references.sh's OUT)")
    args = parser.parse_args()
    make_logits(os.path.join(args.out, "distill_logits.json"))
    tiny = os.path.join(args.out, "tiny")
    # The plain Llama variants, as the other losses built on the trunk (the C++ test uses two of them).
    for variant in LLAMA_VARIANTS:
        make_model_case(os.path.join(tiny, variant))
    print(f"make_distill_references: logits and {len(LLAMA_VARIANTS)} variants in {args.out}")


if __name__ == "__main__":
    main()
