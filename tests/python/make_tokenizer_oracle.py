#!/usr/bin/env python3
"""Reference token ids for the tokenizer tests, from Hugging Face `tokenizers`.

Builds a byte-level BPE tokenizer with the `tokenizers` Python API from the
vocabulary, merges and special tokens stored in the default model's GGUF file
(read with the `gguf` package), independently of Whet's C++ code, and encodes
every string of tests/fixtures/tokenizer_corpus.jsonl with it. The tokenizer is the
one SmolLM2 ships: BPE without byte fallback, pre-tokenizer
Sequence[Digits(individual_digits=True), ByteLevel(add_prefix_space=False,
use_regex=True)], ByteLevel decoder, and the GGUF's Control tokens as special
added tokens (UserDefined ones as plain added tokens). Special tokens in the
text are parsed; no BOS is added (the model's add_bos_token is false).

Output: tests/fixtures/tokenizer_expected.jsonl, one {"text": ..., "ids": [...]}
per corpus line, in corpus order. The file is committed; rerun this script
after changing the corpus:

    ~/.cache/whet/venv-oracle/bin/python tests/python/make_tokenizer_oracle.py

(the venv holds `tokenizers`, `gguf` and numpy; the file in the repository was
made with tokenizers 0.23.3 and gguf 0.19.0). --save-hf-dir additionally saves
the tokenizer as DIR/tokenizer.json, for testing Tokenizer::from_hf_dir against
a file that `tokenizers` itself wrote.
"""
import argparse
import json
import os
import sys

import gguf
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(REPO, "tests", "fixtures", "tokenizer_corpus.jsonl")
EXPECTED = os.path.join(REPO, "tests", "fixtures", "tokenizer_expected.jsonl")


def default_model_path():
    if os.environ.get("WHET_DEFAULT_MODEL"):
        return os.environ["WHET_DEFAULT_MODEL"]
    cache = os.environ.get("WHET_CACHE", os.path.expanduser("~/.cache/whet"))
    return os.path.join(cache, "models", "SmolLM2-135M-Instruct.Q4_1.gguf")


def read_gguf_vocabulary(path):
    reader = gguf.GGUFReader(path)

    def field(key):
        return reader.fields[key].contents()

    model = field("tokenizer.ggml.model")
    if model != "gpt2":
        sys.exit(f"{path}: tokenizer.ggml.model is {model!r}, expected byte-level BPE ('gpt2')")
    tokens = field("tokenizer.ggml.tokens")
    types = field("tokenizer.ggml.token_type")
    merges = [tuple(merge.split(" ", 1)) for merge in field("tokenizer.ggml.merges")]
    return tokens, types, merges


def build_tokenizer(tokens, types, merges):
    vocab = {token: token_id for token_id, token in enumerate(tokens)}
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=merges, byte_fallback=False))
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
    ])
    tokenizer.decoder = decoders.ByteLevel()
    control = int(gguf.TokenType.CONTROL)
    user_defined = int(gguf.TokenType.USER_DEFINED)
    tokenizer.add_special_tokens(
        [AddedToken(t, special=True, normalized=False) for t, k in zip(tokens, types) if k == control])
    tokenizer.add_tokens(
        [AddedToken(t, special=False, normalized=False) for t, k in zip(tokens, types) if k == user_defined])
    # Adding tokens that are already in the vocabulary must keep their ids.
    for token_id, (token, kind) in enumerate(zip(tokens, types)):
        if kind in (control, user_defined):
            assert tokenizer.token_to_id(token) == token_id, token
    return tokenizer


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=default_model_path(), help="GGUF file (default: SmolLM2-135M-Instruct)")
    parser.add_argument("--save-hf-dir", help="also save the tokenizer as DIR/tokenizer.json")
    args = parser.parse_args()

    tokenizer = build_tokenizer(*read_gguf_vocabulary(args.model))
    if args.save_hf_dir:
        os.makedirs(args.save_hf_dir, exist_ok=True)
        tokenizer.save(os.path.join(args.save_hf_dir, "tokenizer.json"))

    with open(CORPUS, encoding="utf-8") as corpus:
        texts = [json.loads(line) for line in corpus if line.strip()]
    with open(EXPECTED, "w", encoding="utf-8") as out:
        for text in texts:
            ids = tokenizer.encode(text, add_special_tokens=False).ids
            if tokenizer.decode(ids, skip_special_tokens=False) != text:
                sys.exit(f"the reference tokenizer does not round-trip {text!r}")
            out.write(json.dumps({"text": text, "ids": ids}) + "\n")
    print(f"wrote {len(texts)} lines to {EXPECTED}")


if __name__ == "__main__":
    main()
