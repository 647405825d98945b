#!/usr/bin/python3
"""PyTorch autograd references for preference training on the tiny models: a
pair's loss under each preference method and its gradients with respect to a
LoRA adapter, checked by tests/train/test_preference_step.cpp.

For each tiny variant directory (after make_gradient_references.py, whose random
adapter gradients/lora/ is the policy here), writes preference/:
  pair.json                  a prompt with two answers as two sequences (ids,
                             targets on the answer only, positions, segment_begin)
  <kind>.json                the loss, the policy's and the reference's summed
                             answer log-probs (the reference: the base, adapter off)
  <kind>.safetensors         d(loss)/d(A), d(loss)/d(B) under PEFT's names
  kto.json, kto.safetensors  KTO on the pair unpaired: the chosen answer desirable,
                             the rejected undesirable, each the other's mismatched
                             answer (same prompt), z0 from those, detached; the
                             loss is the mean over the two examples

The losses are make_preference_references.py's, written from their formulas;
the log-probs are summed over the answer's tokens; everything runs in float64.
"""
import json
import os

import torch

from llama_reference import Llama, read_hf_dir, read_safetensors
from make_gradient_references import LORA_ALPHA, LORA_RANK, for_each_variant, lora_grads_by_peft_name
from make_preference_references import pair_loss
from make_tiny_models import write_safetensors

# One setting per method, as the C++ test configures them.
# The mismatched answers' reference log-probs are lowered by mismatched_ref_shift
# (the C++ test does the same), so that z0 is above its clamp at 0 and counts.
KTO = dict(beta=0.5, desirable_weight=1.0, undesirable_weight=1.5, mismatched_ref_shift=3.0)

KINDS = {
    "sigmoid": dict(beta=0.5, label_smoothing=0.1),
    "ipo": dict(beta=0.5, label_smoothing=0.0),
    "simpo": dict(beta=2.0, label_smoothing=0.0, simpo_gamma=0.5),
    "orpo": dict(beta=0.1, label_smoothing=0.0, orpo_lambda=0.5),
}


def answer_sequence(prompt, answer):
    """prompt + answer as one example; targets on the answer's tokens only."""
    tokens = prompt + answer
    ids = tokens[:-1]
    targets = [tokens[i + 1] if i + 1 >= len(prompt) else -1 for i in range(len(ids))]
    return {"ids": ids, "targets": targets, "positions": list(range(len(ids))), "segment_begin": [0] * len(ids)}


def summed_logp(model, seq):
    logits = model(torch.tensor(seq["ids"]), torch.tensor(seq["positions"]), torch.tensor(seq["segment_begin"]))
    targets = torch.tensor(seq["targets"])
    rows = targets >= 0
    return -torch.nn.functional.cross_entropy(logits[rows], targets[rows], reduction="sum"), int(rows.sum())


def read_adapter(path):
    tensors = read_safetensors(os.path.join(path, "adapter_model.safetensors"))
    adapters = {}
    for name, t in tensors.items():
        module = name[len("base_model.model."):].rsplit(".lora_", 1)[0]
        a, b = adapters.get(module, (None, None))
        adapters[module] = (t.double(), b) if ".lora_A." in name else (a, t.double())
    return adapters


def make(variant_dir, seed):
    out = os.path.join(variant_dir, "preference")
    os.makedirs(out, exist_ok=True)
    config, tensors = read_hf_dir(os.path.join(variant_dir, "hf"))
    g = torch.Generator().manual_seed(seed)
    vocab = config["vocab_size"]
    prompt = torch.randint(0, vocab, (7,), generator=g).tolist()
    chosen = answer_sequence(prompt, torch.randint(0, vocab, (5,), generator=g).tolist())
    rejected = answer_sequence(prompt, torch.randint(0, vocab, (8,), generator=g).tolist())
    with open(os.path.join(out, "pair.json"), "w") as f:
        json.dump({"chosen": chosen, "rejected": rejected}, f)

    base = Llama(config, tensors).double()
    with torch.no_grad():
        ref_chosen, chosen_tokens = summed_logp(base, chosen)
        ref_rejected, rejected_tokens = summed_logp(base, rejected)
    adapters = read_adapter(os.path.join(variant_dir, "gradients", "lora"))
    for kind, settings in KINDS.items():
        model, policy_chosen, policy_rejected = policy(config, tensors, adapters, chosen, rejected)
        logps = {"chosen": policy_chosen, "rejected": policy_rejected, "ref_chosen": ref_chosen,
                 "ref_rejected": ref_rejected, "chosen_tokens": chosen_tokens, "rejected_tokens": rejected_tokens}
        loss, _ = pair_loss(kind, logps, settings)
        loss.backward()
        write_safetensors(os.path.join(out, f"{kind}.safetensors"), lora_grads_by_peft_name(model))
        with open(os.path.join(out, f"{kind}.json"), "w") as f:
            json.dump(dict(settings, loss=loss.item(), chosen=policy_chosen.item(), rejected=policy_rejected.item(),
                           ref_chosen=ref_chosen.item(), ref_rejected=ref_rejected.item()), f)
    make_kto(out, config, tensors, adapters, ref_chosen, ref_rejected, chosen, rejected)


def policy(config, tensors, adapters, chosen, rejected):
    """The base with the adapter, only the adapter's tensors requiring gradients, and its answers' log-probs."""
    model = Llama(config, tensors).double()
    model.add_lora(adapters, LORA_ALPHA / LORA_RANK)
    for p in model.params.values():
        p.requires_grad_(False)
    return model, summed_logp(model, chosen)[0], summed_logp(model, rejected)[0]


def make_kto(out, config, tensors, adapters, ref_chosen, ref_rejected, chosen, rejected):
    model, policy_chosen, policy_rejected = policy(config, tensors, adapters, chosen, rejected)
    # Each example's mismatched answer is the other's: z0 is over both, and detached.
    shift = KTO["mismatched_ref_shift"]
    kl = (policy_chosen - (ref_chosen - shift)) + (policy_rejected - (ref_rejected - shift))
    z0 = torch.clamp(kl.detach() / 2, min=0)
    beta = KTO["beta"]
    desirable = KTO["desirable_weight"] * (1 - torch.sigmoid(beta * ((policy_chosen - ref_chosen) - z0)))
    undesirable = KTO["undesirable_weight"] * (1 - torch.sigmoid(beta * (z0 - (policy_rejected - ref_rejected))))
    loss = (desirable + undesirable) / 2
    loss.backward()
    write_safetensors(os.path.join(out, "kto.safetensors"), lora_grads_by_peft_name(model))
    with open(os.path.join(out, "kto.json"), "w") as f:
        json.dump(dict(KTO, loss=loss.item(), z0=z0.item()), f)


if __name__ == "__main__":
    for_each_variant(__doc__, make, 5000, "make_preference_gradients")
