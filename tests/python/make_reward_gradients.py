#!/usr/bin/python3
"""PyTorch autograd references for reward-model training on the tiny models: a
pair's Bradley-Terry loss with a margin and centering, and its gradients with
respect to a one-output head and what trains under it, checked by
tests/train/test_reward_step.cpp.

For each tiny variant directory (after make_gradient_references.py, whose random
adapter gradients/lora/ trains here), writes reward/:
  pair.json           the chosen and rejected token ids (each the same prompt and
                      an answer, read whole), the margin, the centering
                      coefficient, and per case the two scores and the loss
  head.safetensors    the head: score.weight (1, hidden), score.bias (1)
  lora.safetensors    the adapter case: d(loss)/d(A), d(loss)/d(B) under PEFT's
                      names, and d(loss)/d(score.weight), d(loss)/d(score.bias)
  full.safetensors    the full case (no adapter): d(loss)/d(every base weight)
                      under HF names, and the head's

The score is the head on the final-norm hidden state of the last token; the
loss is -log sigmoid(r_c - r_r - margin) + c * (r_c + r_r)^2. Everything runs in
float64.
"""
import json
import os

import torch

from llama_reference import Llama, read_hf_dir
from make_gradient_references import LORA_ALPHA, for_each_variant, lora_grads_by_peft_name, LORA_RANK
from make_preference_gradients import read_adapter
from make_tiny_models import write_safetensors

MARGIN = 0.3
CENTER = 0.05


def score(model, ids, weight, bias):
    hidden = model(torch.tensor(ids), hidden=True)
    return (hidden[-1] @ weight.T + bias)[0]


def loss_of(chosen, rejected):
    return -torch.nn.functional.logsigmoid(chosen - rejected - MARGIN) + CENTER * (chosen + rejected) ** 2


def make(variant_dir, seed):
    out = os.path.join(variant_dir, "reward")
    os.makedirs(out, exist_ok=True)
    config, tensors = read_hf_dir(os.path.join(variant_dir, "hf"))
    g = torch.Generator().manual_seed(seed)
    vocab, hidden = config["vocab_size"], config["hidden_size"]
    prompt = torch.randint(0, vocab, (7,), generator=g).tolist()
    chosen_ids = prompt + torch.randint(0, vocab, (5,), generator=g).tolist()
    rejected_ids = prompt + torch.randint(0, vocab, (8,), generator=g).tolist()
    # Scaled so the two scores differ by about one: the loss is neither flat nor saturated.
    head = {"score.weight": (torch.randn(1, hidden, generator=g) / hidden ** 0.5).float().double(),
            "score.bias": torch.tensor([0.25], dtype=torch.float64)}
    write_safetensors(os.path.join(out, "head.safetensors"), head)
    cases = {}
    for case in ["lora", "full"]:
        model = Llama(config, tensors).double()
        if case == "lora":
            model.add_lora(read_adapter(os.path.join(variant_dir, "gradients", "lora")), LORA_ALPHA / LORA_RANK)
        for p in model.params.values():
            p.requires_grad_(case == "full")
        weight = head["score.weight"].clone().requires_grad_(True)
        bias = head["score.bias"].clone().requires_grad_(True)
        chosen = score(model, chosen_ids, weight, bias)
        rejected = score(model, rejected_ids, weight, bias)
        loss = loss_of(chosen, rejected)
        loss.backward()
        if case == "lora":
            grads = lora_grads_by_peft_name(model)
        else:  # the LM head takes no part: an untied one has no gradient
            grads = {name.replace("/", "."): p.grad for name, p in model.params.items() if p.grad is not None}
        grads["score.weight"] = weight.grad
        grads["score.bias"] = bias.grad
        write_safetensors(os.path.join(out, f"{case}.safetensors"), grads)
        cases[case] = {"chosen": chosen.item(), "rejected": rejected.item(), "loss": loss.item()}
    with open(os.path.join(out, "pair.json"), "w") as f:
        json.dump({"chosen": chosen_ids, "rejected": rejected_ids, "margin": MARGIN, "center": CENTER, **cases}, f)


if __name__ == "__main__":
    for_each_variant(__doc__, make, 7000, "make_reward_gradients")
