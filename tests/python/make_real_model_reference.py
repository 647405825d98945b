#!/usr/bin/python3
"""PyTorch reference logits of the default model, from the float32 Hugging Face
directory that `whet convert` wrote (the dequantised GGUF weights).

The token sequences are ids that Hugging Face `tokenizers` produced for lines of
tests/fixtures/tokenizer_expected.jsonl, so neither side depends on Whet's tokenizer.
"""
import argparse
import json
import os

import torch

from llama_reference import Llama, read_hf_dir, write_reference

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXPECTED = os.path.join(REPO, "tests", "fixtures", "tokenizer_expected.jsonl")
TEXTS = ["The quick brown fox jumps over the lazy dog.", "Hello, world!",
         "def add(a, b):\n    return a + b\n"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("hf_dir", help="directory written by whet convert --to hf --dtype f32")
    args = parser.parse_args()
    ids = {}
    with open(EXPECTED, encoding="utf-8") as f:
        for line in f:
            entry = json.loads(line)
            ids[entry["text"]] = entry["ids"]
    sequences = [ids[t] for t in TEXTS]
    config, tensors = read_hf_dir(args.hf_dir)
    model = Llama(config, tensors)
    with torch.no_grad():
        logits = [model(torch.tensor(s)) for s in sequences]
    write_reference(args.hf_dir, sequences, logits)
    print(f"make_real_model_reference: {len(sequences)} sequences in {args.hf_dir}")


if __name__ == "__main__":
    main()
