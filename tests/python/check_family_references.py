#!/usr/bin/env python3
"""Holds the hand-written family reference (llama_reference.py), whose logits the
C++ tests are held to, against the families' own implementations on the tiny
models make_tiny_models.py wrote:

  --peer transformers  Qwen2, Mistral (sliding window), Phi-3 (fused files,
                       longrope, window) and GPT-2 (GPT2LMHeadModel: Conv1D, c_attn,
                       learned positions, LayerNorm) in Hugging Face transformers,
                       float64, eager attention (venv-test)
  --peer llamacpp      Gemma 3 in llama.cpp (llama-cpp-python, venv-llamacpp), from
                       the GGUF file, float32: GGUF's 1 + w norms, its sliding-layer
                       pattern and local rope base as llama.cpp assumes them;
                       Phi-3 from its GGUF (attn_qkv, stacked ffn_up, rope factors);
                       and GPT-2 from its GGUF (position_embd, attn_qkv, norm biases)

Exits non-zero with the variant, sequence and largest difference when they differ.
"""
import argparse
import json
import os
import sys

import numpy as np

# Float32 logits of magnitude ~5 against float64; llama.cpp also computes GELU from an fp16 table,
# which costs ~3e-3, while a window one key off, a wrong rope base or query scale differs by 0.8 to 4.
TOLERANCE = {"transformers": 1e-5, "llamacpp": 1e-2}
VARIANTS = {"transformers": ["qwen2_bias", "mistral_window", "phi3_longrope", "gpt2_tiny"],
            "llamacpp": ["gemma3_sandwich", "phi3_longrope", "gpt2_tiny"]}


# Where a peer defines a variant differently, the sequences it is held to, and why.
COMPARED = {
    ("transformers", "phi3_longrope"): (
        lambda n: n > 16, "transformers picks longrope's short factors for a sequence within the original 16 "
                          "positions; Whet, as llama.cpp does, picks the factors once per model"),
    ("llamacpp", "phi3_longrope"): (lambda n: n <= 20, "llama.cpp does not apply Phi-3's sliding window of 20"),
}


def reference_logits(variant_dir):
    with open(os.path.join(variant_dir, "reference.json")) as f:
        ref = json.load(f)
    flat = np.fromfile(os.path.join(variant_dir, "logits.bin"), dtype="<f4")
    vocab, out, at = ref["vocab_size"], [], 0
    for seq in ref["sequences"]:
        n = len(seq) * vocab
        out.append(flat[at:at + n].reshape(len(seq), vocab))
        at += n
    return ref["sequences"], out


def transformers_logits(variant_dir, sequences):
    import torch
    import transformers
    model = transformers.AutoModelForCausalLM.from_pretrained(
        os.path.join(variant_dir, "hf"), torch_dtype=torch.float64, attn_implementation="eager")
    with torch.no_grad():
        return [model(torch.tensor([s])).logits[0].numpy() for s in sequences]


def llamacpp_logits(variant_dir, sequences, lora_path=None):
    import llama_cpp
    adapter = {"lora_path": lora_path} if lora_path else {}
    model = llama_cpp.Llama(model_path=os.path.join(variant_dir, "model-f32.gguf"), n_ctx=64, n_batch=64, type_k=0, type_v=0,  # an F32 KV cache, not the default F16
                            logits_all=True, verbose=False, **adapter)
    out = []
    for s in sequences:
        model.reset()
        model.eval(s)
        out.append(np.array(model.scores[:len(s)], dtype=np.float64))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("tiny_dir")
    parser.add_argument("--peer", choices=sorted(VARIANTS), required=True)
    args = parser.parse_args()
    peer = transformers_logits if args.peer == "transformers" else llamacpp_logits
    failed = False
    for variant in VARIANTS[args.peer]:
        variant_dir = os.path.join(args.tiny_dir, variant)
        sequences, want = reference_logits(variant_dir)
        got = peer(variant_dir, sequences)
        compared, why = COMPARED.get((args.peer, variant), (lambda n: True, ""))
        for i, (w, g) in enumerate(zip(want, got)):
            if not compared(len(sequences[i])):
                print(f"{variant} sequence {i} ({len(sequences[i])} tokens): not compared: {why}")
                continue
            diff = float(np.max(np.abs(w - g)))
            ok = diff <= TOLERANCE[args.peer]
            failed |= not ok
            print(f"{variant} sequence {i} ({len(sequences[i])} tokens): max |reference - {args.peer}| = {diff:.2e}"
                  f" {'ok' if ok else 'FAIL'}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
