#!/usr/bin/env python3
"""Does llama.cpp read the GGUF LoRA adapter Whet wrote as Whet means it?

Loads a tiny variant's model-f32.gguf with and without the adapter in
llama-cpp-python (lora_path, an F32 KV cache; check_family_references.py) and
requires the logits with the adapter, at every position of the sequences of at
most --at-most tokens, to equal Whet's own forward with that adapter
(WHET_DIR/reference.json + logits.bin) within --tolerance, while the adapter
moves llama.cpp's logits by far more than the tolerance, so that agreement is
evidence. Prints the measured differences; exits 1 naming what disagrees.

Runs in the llama.cpp virtualenv (scripts/setup_llamacpp_venv.sh).
"""
import argparse
import sys

import numpy as np

from check_family_references import llamacpp_logits, reference_logits

# The adapter must move some logit by at least this many tolerances.
MIN_EFFECT_IN_TOLERANCES = 100


def worst(a, b):
    return max(float(np.max(np.abs(x - y))) for x, y in zip(a, b))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--variant", required=True, help="tiny variant directory holding model-f32.gguf")
    p.add_argument("--adapter", required=True, help="GGUF LoRA adapter written by Whet")
    p.add_argument("--whet", required=True, help="directory with Whet's reference.json and logits.bin")
    p.add_argument("--tolerance", type=float, required=True, help="max |logit difference| allowed")
    p.add_argument("--at-most", type=int, default=1 << 30,
                   help="compare only sequences of at most this many tokens (llama.cpp ignores Phi-3's window)")
    args = p.parse_args()
    sequences, whet = reference_logits(args.whet)
    compared = [i for i, s in enumerate(sequences) if len(s) <= args.at_most]
    sequences, whet = [sequences[i] for i in compared], [whet[i] for i in compared]
    if not sequences:
        sys.exit(f"check_gguf_lora_llamacpp: no sequence in {args.whet} has at most {args.at_most} tokens")
    adapted = llamacpp_logits(args.variant, sequences, lora_path=args.adapter)
    diff, effect = worst(adapted, whet), worst(adapted, llamacpp_logits(args.variant, sequences))
    print(f"{len(sequences)} sequences, {sum(map(len, sequences))} positions: max |llama.cpp - Whet| {diff:.3g}; "
          f"the adapter moves llama.cpp's logits by up to {effect:.3g}")
    if diff > args.tolerance:
        sys.exit(f"FAIL: llama.cpp's logits with the adapter differ from Whet's by {diff:.3g} > {args.tolerance}")
    if effect < MIN_EFFECT_IN_TOLERANCES * args.tolerance:
        sys.exit(f"FAIL: the adapter moves llama.cpp's logits by only {effect:.3g}: agreement would prove nothing")
    print("gguf lora: ok")


if __name__ == "__main__":
    main()
