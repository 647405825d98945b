#!/usr/bin/python3
"""PyTorch autograd references for GRPO on the tiny models: the loss of a group
of sampled completions and its gradients with respect to a LoRA adapter,
checked by tests/train/test_grpo_step.cpp.

For each tiny variant directory (after make_gradient_references.py, whose random
adapter gradients/lora/ is the policy here), writes grpo/:
  group.json              one prompt's four completions as sequences (targets on
                          the completion only) and their rewards
  <kind>.json             the settings, the advantages, the loss and the mean k3 KL per token
  <kind>.safetensors      d(loss)/d(A), d(loss)/d(B) under PEFT's names

The loss is written from the GRPO paper's formula, as TRL computes it with one
inner iteration: advantages (R - mean) / (sample std + 1e-4) within the group;
per token, ratio = exp(logp - logp.detach()), -min(ratio A, clip(ratio, 1 - eps,
1 + eps) A) + beta k3 with k3 = exp(ref - logp) - (ref - logp) - 1 and the
reference the base (adapter off); the mean over each completion's tokens, then
over the completions. Everything runs in float64.
"""
import json
import os

import torch

from llama_reference import Llama, read_hf_dir
from make_gradient_references import LORA_ALPHA, LORA_RANK, for_each_variant, lora_grads_by_peft_name
from make_preference_gradients import answer_sequence, read_adapter
from make_tiny_models import write_safetensors

KINDS = {
    "plain": dict(beta=0.0, epsilon=0.2),
    "kl": dict(beta=0.3, epsilon=0.2),
}
REWARDS = [1.0, 0.0, 0.5, 0.0]


def token_logps(model, seq):
    logits = model(torch.tensor(seq["ids"]), torch.tensor(seq["positions"]), torch.tensor(seq["segment_begin"]))
    targets = torch.tensor(seq["targets"])
    rows = targets >= 0
    return torch.log_softmax(logits[rows], dim=-1).gather(1, targets[rows].unsqueeze(1)).squeeze(1)


def advantages(rewards):
    r = torch.tensor(rewards, dtype=torch.float64)
    return (r - r.mean()) / (r.std(unbiased=True) + 1e-4)


def make(variant_dir, seed):
    out = os.path.join(variant_dir, "grpo")
    os.makedirs(out, exist_ok=True)
    config, tensors = read_hf_dir(os.path.join(variant_dir, "hf"))
    g = torch.Generator().manual_seed(seed)
    vocab = config["vocab_size"]
    prompt = torch.randint(0, vocab, (6,), generator=g).tolist()
    completions = [answer_sequence(prompt, torch.randint(0, vocab, (n,), generator=g).tolist()) for n in (3, 5, 4, 6)]
    with open(os.path.join(out, "group.json"), "w") as f:
        json.dump({"completions": completions, "rewards": REWARDS}, f)

    base = Llama(config, tensors).double()
    with torch.no_grad():
        refs = [token_logps(base, c) for c in completions]
    adapters = read_adapter(os.path.join(variant_dir, "gradients", "lora"))
    adv = advantages(REWARDS)
    for kind, settings in KINDS.items():
        model = Llama(config, tensors).double()
        model.add_lora(adapters, LORA_ALPHA / LORA_RANK)
        for p in model.params.values():
            p.requires_grad_(False)
        losses, kls = [], []
        for c, ref, a in zip(completions, refs, adv):
            logp = token_logps(model, c)
            ratio = torch.exp(logp - logp.detach())
            eps = settings["epsilon"]
            surrogate = torch.min(ratio * a, torch.clamp(ratio, 1 - eps, 1 + eps) * a)
            k3 = torch.exp(ref - logp) - (ref - logp) - 1
            losses.append((-surrogate + settings["beta"] * k3).mean())
            kls.append(k3.detach())
        loss = torch.stack(losses).mean()
        loss.backward()
        write_safetensors(os.path.join(out, f"{kind}.safetensors"), lora_grads_by_peft_name(model))
        with open(os.path.join(out, f"{kind}.json"), "w") as f:
            json.dump(dict(settings, loss=loss.item(), advantages=adv.tolist(), kl=torch.cat(kls).mean().item()), f)


if __name__ == "__main__":
    for_each_variant(__doc__, make, 6000, "make_grpo_gradients")
