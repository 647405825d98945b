#!/usr/bin/env python3
"""SentencePiece-style tokenizer fixtures and their Hugging Face `tokenizers` reference ids.

Writes, into tests/fixtures/sentencepiece/:
  small_prefix.gguf, small_noprefix.gguf  a small SentencePiece BPE vocabulary as GGUF
      tokenizer metadata (model "llama": tokens, scores, token types), with
      add_space_prefix true (Llama 2 style) and false (Gemma style). The
      vocabulary is trained here by plain BPE on the first lines of
      tests/fixtures/tokenizer_corpus.jsonl: control tokens <unk> <s> </s>
      <start_of_turn> <end_of_turn>, a user-defined token, the 256 byte tokens
      <0x00>..<0xFF> (type 6), the printable ASCII characters, newline, tab and "▁", and 400 merged pieces
      scored by merge order. Characters outside it (accents, CJK, emoji) take the
      byte fallback.
  hf_legacy/, hf_metaspace/  tokenizer.json (+ tokenizer_config.json) that
      transformers' GGUF converter (GGUFLlamaConverter) builds from small_prefix.gguf:
      the legacy Llama 2 form (normalizer Prepend "▁" + Replace " " -> "▁") and
      the Metaspace form (prepend_scheme "first", as Mistral's files).
  expected_hf_legacy.jsonl, expected_hf_metaspace.jsonl  for every corpus line,
      the ids `tokenizers` gives (special tokens parsed, no BOS) and its decode.

The llama.cpp reference ids for the GGUF files come from
make_sentencepiece_llamacpp_oracle.py; check_sentencepiece_oracle.sh (ctest
sentencepiece_oracle) remakes everything and compares it with the committed files. Run in the test virtualenv
(scripts/setup_test_venv.sh; transformers 4.46, tokenizers 0.20, gguf):

    ~/.cache/whet/venv-test/bin/python tests/python/make_sentencepiece_fixtures.py
"""
import argparse
import collections
import json
import os

import gguf
from tokenizers import Tokenizer
from transformers.integrations.ggml import GGUFLlamaConverter

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(REPO, "tests", "fixtures", "tokenizer_corpus.jsonl")
OUT = os.path.join(REPO, "tests", "fixtures", "sentencepiece")
MARK = "\u2581"
TRAINING_LINES = 120
MERGES = 400
CONTROL = ["<unk>", "<s>", "</s>", "<start_of_turn>", "<end_of_turn>"]
USER_DEFINED = ["[multimodal]"]


def read_corpus():
    with open(CORPUS, encoding="utf-8") as corpus:
        return [json.loads(line) for line in corpus if line.strip()]


def train_pieces(lines):
    """Plain BPE over words that start at each "▁": the most frequent adjacent pair
    merges first (ties by the pair's text), each merged piece scored -(its order)."""
    words = collections.Counter()
    for line in lines:
        text = MARK + line.replace(" ", MARK)
        start = 0
        for at in range(1, len(text) + 1):
            if at == len(text) or text[at] == MARK:
                words[tuple(text[start:at])] += 1
                start = at
    pieces = []
    for _ in range(MERGES):
        pairs = collections.Counter()
        for word, count in words.items():
            for left, right in zip(word, word[1:]):
                pairs[(left, right)] += count
        if not pairs:
            break
        best = min(pairs, key=lambda pair: (-pairs[pair], pair))
        merged = best[0] + best[1]
        pieces.append(merged)
        new_words = collections.Counter()
        for word, count in words.items():
            out, i = [], 0
            while i < len(word):
                if i + 1 < len(word) and (word[i], word[i + 1]) == best:
                    out.append(merged)
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            new_words[tuple(out)] += count
        words = new_words
    return pieces


def build_vocabulary(lines):
    tokens, scores, types = [], [], []

    def add(token, score, kind):
        if token not in tokens:
            tokens.append(token)
            scores.append(score)
            types.append(kind)

    for token in CONTROL:
        add(token, 0.0, gguf.TokenType.CONTROL)
    for token in USER_DEFINED:
        add(token, 0.0, gguf.TokenType.USER_DEFINED)
    for byte in range(256):
        add(f"<0x{byte:02X}>", 0.0, gguf.TokenType.BYTE)
    # Every piece the training makes can be made by merges from these, as in a
    # real SentencePiece vocabulary.
    characters = [MARK, "\n", "\t"] + [chr(c) for c in range(0x21, 0x7F)]
    for i, character in enumerate(characters):
        add(character, -1000.0 - i, gguf.TokenType.NORMAL)
    for i, piece in enumerate(train_pieces(lines)):
        add(piece, -float(i), gguf.TokenType.NORMAL)
    return tokens, scores, [int(kind) for kind in types]


def write_gguf(path, tokens, scores, types, add_space_prefix):
    writer = gguf.GGUFWriter(path, "llama")
    # llama.cpp reads the architecture's hyperparameters even for vocab_only.
    writer.add_context_length(512)
    writer.add_embedding_length(64)
    writer.add_block_count(1)
    writer.add_feed_forward_length(128)
    writer.add_head_count(4)
    writer.add_head_count_kv(4)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_tokenizer_model("llama")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_unk_token_id(0)
    writer.add_add_bos_token(True)
    writer.add_add_space_prefix(add_space_prefix)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def convert_to_hf(tokens, scores, types, out_dir, legacy):
    user_defined = [t for t, k in zip(tokens, types) if k == int(gguf.TokenType.USER_DEFINED)]
    converter = GGUFLlamaConverter({
        "tokens": tokens, "scores": scores, "token_type": types, "added_tokens": user_defined,
        "bos_token_id": 1, "eos_token_id": 2, "unk_token_id": 0, "legacy": legacy,
    })
    tokenizer = converter.converted()
    os.makedirs(out_dir, exist_ok=True)
    tokenizer.save(os.path.join(out_dir, "tokenizer.json"))
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w", encoding="utf-8") as config:
        json.dump({"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "add_bos_token": False}, config)
    # Read back from the file, as a user of it would.
    return Tokenizer.from_file(os.path.join(out_dir, "tokenizer.json"))


def write_expected(path, tokenizer, texts):
    with open(path, "w", encoding="utf-8") as out:
        for text in texts:
            ids = tokenizer.encode(text, add_special_tokens=False).ids
            decoded = tokenizer.decode(ids, skip_special_tokens=False)
            out.write(json.dumps({"text": text, "ids": ids, "decoded": decoded}, ensure_ascii=False) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=OUT, help="folder to write (default: tests/fixtures/sentencepiece)")
    out = parser.parse_args().out
    texts = read_corpus()
    tokens, scores, types = build_vocabulary(texts[:TRAINING_LINES])
    os.makedirs(out, exist_ok=True)
    write_gguf(os.path.join(out, "small_prefix.gguf"), tokens, scores, types, True)
    write_gguf(os.path.join(out, "small_noprefix.gguf"), tokens, scores, types, False)
    for name, legacy in [("hf_legacy", True), ("hf_metaspace", False)]:
        tokenizer = convert_to_hf(tokens, scores, types, os.path.join(out, name), legacy)
        write_expected(os.path.join(out, f"expected_{name}.jsonl"), tokenizer, texts)
    print(f"wrote {len(tokens)} tokens and {len(texts)} reference lines to {out}")


if __name__ == "__main__":
    main()
