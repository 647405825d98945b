#!/usr/bin/env python3
"""Does Hugging Face PEFT read the LoRA adapter Whet wrote as Whet means it?

Loads the base model with transformers, the adapter folder with
PeftModel.from_pretrained (the folder exactly as Whet wrote it), and requires:
  - every tensor of adapter_model.safetensors to land, unchanged, in a LoRA
    layer of the model (a name PEFT does not map would be dropped silently);
  - the logits of base + adapter to equal Whet's own forward with that adapter
    (WHET_DIR/reference.json + logits.bin, every position of every sequence)
    within --tolerance, both applied unmerged and after merge_and_unload;
  - the adapter to move the logits by far more than the tolerance, so that
    agreement is evidence (an adapter that does nothing would match anything).
Prints the measured differences; exits 1 naming what disagrees.

Runs in the test virtualenv (scripts/setup_test_venv.sh): transformers + peft
over Debian's torch.
"""
import argparse
import json
import os
import sys

import torch
from peft import PeftModel
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

# The adapter must move some logit by at least this many tolerances.
MIN_EFFECT_IN_TOLERANCES = 100


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--base", required=True, help="Hugging Face model directory")
    p.add_argument("--adapter", required=True, help="PEFT adapter directory written by Whet")
    p.add_argument("--whet", required=True, help="directory with Whet's reference.json and logits.bin")
    p.add_argument("--tolerance", type=float, required=True, help="max |logit difference| allowed")
    p.add_argument("--longer-than", type=int, default=0,
                   help="compare only sequences longer than this (Phi-3's longrope: transformers picks the short "
                        "factors within the original context, Whet picks one set per model)")
    return p.parse_args()


def read_whet_logits(path):
    with open(os.path.join(path, "reference.json")) as f:
        meta = json.load(f)
    flat = torch.frombuffer(bytearray(open(os.path.join(path, "logits.bin"), "rb").read()), dtype=torch.float32)
    vocab, out, offset = meta["vocab_size"], [], 0
    for seq in meta["sequences"]:
        n = len(seq) * vocab
        out.append((seq, flat[offset:offset + n].view(len(seq), vocab)))
        offset += n
    if offset != flat.numel():
        sys.exit(f"check_peft_adapter: {path}/logits.bin holds {flat.numel()} floats, reference.json says {offset}")
    return out


def unloaded_tensors(model, adapter_dir):
    """Names in adapter_model.safetensors that did not arrive unchanged in the model."""
    saved = load_file(os.path.join(adapter_dir, "adapter_model.safetensors"))
    # PEFT stores "...q_proj.lora_A.weight" and holds it as "...q_proj.lora_A.default.weight".
    state = model.state_dict()
    missing = []
    for name, tensor in saved.items():
        held = name.replace(".lora_A.", ".lora_A.default.").replace(".lora_B.", ".lora_B.default.")
        if held not in state or not torch.equal(state[held].to(tensor.dtype), tensor):
            missing.append(name)
    return saved, missing


def logits_of(model, sequences):
    with torch.no_grad():
        return [model(torch.tensor([seq])).logits[0].float() for seq, _ in sequences]


def worst(a, b):
    return max(float((x - y).abs().max()) for x, y in zip(a, b))


def main():
    args = parse_args()
    torch.manual_seed(0)
    whet = [(seq, logits) for seq, logits in read_whet_logits(args.whet) if len(seq) > args.longer_than]
    if not whet:
        sys.exit(f"check_peft_adapter: no sequence in {args.whet} is longer than {args.longer_than} tokens")
    expected = [logits for _, logits in whet]
    base = AutoModelForCausalLM.from_pretrained(args.base, torch_dtype=torch.float32)
    model = PeftModel.from_pretrained(base, args.adapter).eval()
    config = model.peft_config["default"]
    print(f"peft read {args.adapter}: r {config.r}, alpha {config.lora_alpha}, rslora {config.use_rslora}, "
          f"targets {sorted(config.target_modules)}")

    saved, missing = unloaded_tensors(model, args.adapter)
    failures = []
    if not saved:
        failures.append("adapter_model.safetensors holds no tensors")
    if missing:
        failures.append(f"{len(missing)} of {len(saved)} adapter tensors not loaded as written, e.g. {missing[0]}")

    with model.disable_adapter():
        base_logits = logits_of(model, whet)
    adapted = logits_of(model, whet)
    merged = logits_of(model.merge_and_unload(), whet)
    effect, unmerged_diff, merged_diff = worst(base_logits, expected), worst(adapted, expected), worst(merged, expected)
    positions = sum(len(seq) for seq, _ in whet)
    print(f"{len(whet)} sequences, {positions} positions, vocabulary {expected[0].shape[-1]}: "
          f"max |PEFT - Whet| {unmerged_diff:.3g} unmerged, {merged_diff:.3g} merged; "
          f"the adapter moves Whet's logits by up to {effect:.3g}")
    if unmerged_diff > args.tolerance:
        failures.append(f"PEFT's logits with the adapter differ from Whet's by {unmerged_diff:.3g} > {args.tolerance}")
    if merged_diff > args.tolerance:
        failures.append(f"PEFT's merged logits differ from Whet's by {merged_diff:.3g} > {args.tolerance}")
    if effect < MIN_EFFECT_IN_TOLERANCES * args.tolerance:
        failures.append(f"the adapter moves the logits by only {effect:.3g}: agreement would prove nothing")
    for failure in failures:
        print(f"FAIL: {failure}")
    if failures:
        sys.exit(1)
    print("peft adapter: ok")


if __name__ == "__main__":
    main()
