#!/usr/bin/env python3
"""Does llama.cpp read the GGUF LoRA adapter Whet wrote as Whet means it?

Loads the base GGUF and the adapter with llama-cpp-python (lora_path, an F32 KV
cache) and requires the logits of base + adapter at every position of the
sequences of at most --at-most tokens to equal Whet's own forward with that
adapter (WHET_DIR/reference.json + logits.bin) within --tolerance, and the
adapter to move llama.cpp's logits by far more than the tolerance, so that
agreement is evidence. Prints the measured differences; exits 1 naming what
disagrees.

Runs in the llama.cpp virtualenv (scripts/setup_llamacpp_venv.sh).
"""
import argparse
import json
import os
import sys

import llama_cpp
import numpy as np

# The adapter must move some logit by at least this many tolerances.
MIN_EFFECT_IN_TOLERANCES = 100


def read_whet_logits(path):
    with open(os.path.join(path, "reference.json")) as f:
        meta = json.load(f)
    flat = np.fromfile(os.path.join(path, "logits.bin"), dtype="<f4")
    vocab, out, at = meta["vocab_size"], [], 0
    for seq in meta["sequences"]:
        out.append((seq, flat[at:at + len(seq) * vocab].reshape(len(seq), vocab)))
        at += len(seq) * vocab
    if at != flat.size:
        sys.exit(f"check_gguf_lora_llamacpp: {path}/logits.bin holds {flat.size} floats, reference.json says {at}")
    return out


def logits_of(model_path, lora_path, sequences):
    kwargs = {"lora_path": lora_path} if lora_path else {}
    model = llama_cpp.Llama(model_path=model_path, n_ctx=64, n_batch=64, type_k=0, type_v=0, logits_all=True,
                            verbose=False, **kwargs)
    out = []
    for seq in sequences:
        model.reset()
        model.eval(seq)
        out.append(np.array(model.scores[:len(seq)], dtype=np.float64))
    return out


def worst(a, b):
    return max(float(np.max(np.abs(x - y))) for x, y in zip(a, b))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True, help="base model GGUF")
    p.add_argument("--adapter", required=True, help="GGUF LoRA adapter written by Whet")
    p.add_argument("--whet", required=True, help="directory with Whet's reference.json and logits.bin")
    p.add_argument("--tolerance", type=float, required=True, help="max |logit difference| allowed")
    p.add_argument("--at-most", type=int, default=1 << 30,
                   help="compare only sequences of at most this many tokens (llama.cpp ignores Phi-3's window)")
    args = p.parse_args()
    whet = [(seq, logits) for seq, logits in read_whet_logits(args.whet) if len(seq) <= args.at_most]
    if not whet:
        sys.exit(f"check_gguf_lora_llamacpp: no sequence in {args.whet} has at most {args.at_most} tokens")
    sequences = [seq for seq, _ in whet]
    expected = [logits for _, logits in whet]
    adapted = logits_of(args.model, args.adapter, sequences)
    base = logits_of(args.model, None, sequences)
    diff, effect = worst(adapted, expected), worst(base, adapted)
    print(f"{len(whet)} sequences, {sum(map(len, sequences))} positions: max |llama.cpp - Whet| {diff:.3g}; "
          f"the adapter moves llama.cpp's logits by up to {effect:.3g}")
    failures = []
    if diff > args.tolerance:
        failures.append(f"llama.cpp's logits with the adapter differ from Whet's by {diff:.3g} > {args.tolerance}")
    if effect < MIN_EFFECT_IN_TOLERANCES * args.tolerance:
        failures.append(f"the adapter moves llama.cpp's logits by only {effect:.3g}: agreement would prove nothing")
    for failure in failures:
        print(f"FAIL: {failure}")
    if failures:
        sys.exit(1)
    print("gguf lora: ok")


if __name__ == "__main__":
    main()
