#!/usr/bin/env python3
"""llama.cpp's reference ids for the SentencePiece-style GGUF tokenizers.

For every line of tests/fixtures/tokenizer_corpus.jsonl, the ids llama.cpp gives
(`Llama(vocab_only=True).tokenize(text, add_bos=False, special=True)`, i.e. special
tokens parsed, no BOS) and its decode of them (the C API's llama_detokenize, which
unlike the Python wrapper's detokenize removes the space add_space_prefix put
first), for:
  tests/fixtures/sentencepiece/small_prefix.gguf, small_noprefix.gguf
      (made by make_sentencepiece_fixtures.py) -> expected_small_prefix.jsonl,
      expected_small_noprefix.jsonl
  Gemma 3 270M (scripts/fetch_model.sh gemma3; 262,144 tokens, add_space_prefix
      false) -> expected_gemma3.jsonl
Run in the llama-cpp-python virtualenv (scripts/setup_llamacpp_venv.sh):

    ~/.cache/whet/venv-llamacpp/bin/python tests/python/make_sentencepiece_llamacpp_oracle.py
"""
import argparse
import ctypes
import json
import os

import llama_cpp

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(REPO, "tests", "fixtures", "tokenizer_corpus.jsonl")
FIXTURES = os.path.join(REPO, "tests", "fixtures", "sentencepiece")


def gemma3_path():
    cache = os.environ.get("WHET_CACHE", os.path.expanduser("~/.cache/whet"))
    return os.path.join(cache, "models", "gemma-3-270m.Q4_K_M.gguf")


def detokenize(model, ids):
    tokens = (llama_cpp.llama_token * len(ids))(*ids)
    size = 64 + 64 * len(ids)
    buffer = ctypes.create_string_buffer(size)
    n = llama_cpp.llama_detokenize(model._model.vocab, tokens, len(ids), buffer, size, False, True)
    assert 0 <= n <= size, n
    return buffer.raw[:n].decode("utf-8", errors="replace")


def write_expected(model_path, out_path, texts):
    model = llama_cpp.Llama(model_path=model_path, vocab_only=True, verbose=False)
    with open(out_path, "w", encoding="utf-8") as out:
        for text in texts:
            ids = model.tokenize(text.encode("utf-8"), add_bos=False, special=True)
            decoded = detokenize(model, ids)
            out.write(json.dumps({"text": text, "ids": ids, "decoded": decoded}, ensure_ascii=False) + "\n")
    print(f"{out_path}: {len(texts)} lines")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", default=FIXTURES, help="folder of the GGUF files and the output "
                        "(default: tests/fixtures/sentencepiece)")
    folder = parser.parse_args().dir
    with open(CORPUS, encoding="utf-8") as corpus:
        texts = [json.loads(line) for line in corpus if line.strip()]
    for name in ["small_prefix", "small_noprefix"]:
        write_expected(os.path.join(folder, f"{name}.gguf"), os.path.join(folder, f"expected_{name}.jsonl"), texts)
    write_expected(gemma3_path(), os.path.join(folder, "expected_gemma3.jsonl"), texts)


if __name__ == "__main__":
    main()
