#!/usr/bin/env python3
"""A LoRA adapter made by Hugging Face PEFT itself, with ranks and alphas that differ by module.

get_peft_model on the base (transformers) with rank_pattern and alpha_pattern, every
lora_B set to random values (PEFT starts them at zero, which would hide any mistake),
then save_pretrained into OUT. The C++ test reads the folder into Whet and holds Whet's
logits to PEFT's own (check_peft_adapter.py). The patterns exercise PEFT 0.13's matching
(LoraModel._create_and_replace): a module takes the first key of rank_pattern, then of
alpha_pattern, for which re.match(rf".*\\.{key}$", module_name) holds, and that one key's
rank and alpha; here "self_attn.q_proj" / "self_attn.qkv_proj" in alpha_pattern is such a
key that never wins, and a per-layer key gives one layer its own rank.

Runs in the test virtualenv (scripts/setup_test_venv.sh).
"""
import argparse
import json
import os

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM

# Module names by the base's model_type: fused (Phi-3) or per projection.
PATTERNS = {
    "phi3": dict(target_modules=["qkv_proj", "o_proj", "gate_up_proj", "down_proj"],
                 rank_pattern={"qkv_proj": 6, "layers.1.mlp.gate_up_proj": 2},
                 alpha_pattern={"self_attn.qkv_proj": 100.0, "o_proj": 3.0}),
    "llama": dict(target_modules=["q_proj", "k_proj", "v_proj", "down_proj"],
                  rank_pattern={"q_proj": 6, "layers.1.mlp.down_proj": 2},
                  alpha_pattern={"self_attn.q_proj": 100.0, "k_proj": 3.0}),
}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--base", required=True, help="Hugging Face model directory")
    p.add_argument("--out", required=True, help="adapter folder to write")
    p.add_argument("--rslora", action="store_true", help="use_rslora: scale alpha / sqrt(r)")
    args = p.parse_args()
    with open(os.path.join(args.base, "config.json")) as f:
        model_type = json.load(f)["model_type"]
    base = AutoModelForCausalLM.from_pretrained(args.base, torch_dtype=torch.float32)
    config = LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, use_rslora=args.rslora, **PATTERNS[model_type])
    model = get_peft_model(base, config)
    g = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.copy_(0.2 * torch.randn(param.shape, generator=g))
    ranks = sorted({(n.split(".lora_A")[0].split("model.model.")[-1], p.shape[0])
                    for n, p in model.named_parameters() if "lora_A" in n and ".layers.1." in n})
    model.save_pretrained(args.out)
    print(f"make_peft_adapter: {args.out} ({model_type}); layer 1 ranks: {ranks}")


if __name__ == "__main__":
    main()
