#!/usr/bin/env python3
"""Checks a GGUF file that `whet export` wrote, with the `gguf` package from
PyPI (llama.cpp's own reader) as the outside oracle, against the Hugging Face
model or PEFT adapter it came from.

  check_gguf.py model OUT.gguf --hf HF_DIR --dtype q4_0   (or f32, f16, bf16, q8_0, q5_0, q5_1)
      architecture and hyperparameters, tokenizer (eos, eot, bos, chat
      template), tensor names, types and shapes, and every tensor's bytes:
      those of gguf-py's own encoding (gguf.quants.quantize, a port of ggml's
      reference quantizers) of the safetensors weights in llama.cpp's q/k row
      order
  check_gguf.py lora OUT.gguf --peft PEFT_DIR --hf HF_DIR --dtype f32
      general.type/adapter.type/adapter.lora.alpha, lora_a/lora_b names,
      shapes as llama.cpp expects, bytes as gguf-py encodes the PEFT tensors
      (lora_b of q/k in llama.cpp's row order)

Prints one line per check group and exits 1 with the first failure.
Runs in the test virtualenv (scripts/setup_test_venv.sh).
"""
import argparse
import json
import math
import os
import struct
import sys

import numpy as np
from gguf import GGUFReader, GGMLQuantizationType
from gguf.quants import quantize

LAYER_PARTS = {"attn_norm": "input_layernorm", "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj",
               "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj",
               "ffn_norm": "post_attention_layernorm", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
               "ffn_down": "mlp.down_proj"}
BLOCKED = ("q8_0", "q4_0", "q5_0", "q5_1")  # ggml types of blocks of 32; rows that do not split into them stay F16
BELOW_8_BITS = ("q4_0", "q5_0", "q5_1")
TYPES = {"f32": GGMLQuantizationType.F32, "f16": GGMLQuantizationType.F16, "bf16": GGMLQuantizationType.BF16,
         "q8_0": GGMLQuantizationType.Q8_0, "q4_0": GGMLQuantizationType.Q4_0, "q5_0": GGMLQuantizationType.Q5_0,
         "q5_1": GGMLQuantizationType.Q5_1}
class CheckFailed(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise CheckFailed(message)


def read_safetensors(path):
    """name -> float32 array, for F32/F16/BF16 files."""
    with open(path, "rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(size))
        blob = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = np.frombuffer(blob[begin:end], dtype={"F32": np.float32, "F16": np.float16, "BF16": np.uint16}[info["dtype"]])
        if info["dtype"] == "BF16":
            raw = (raw.astype(np.uint32) << 16).view(np.float32)
        out[name] = raw.astype(np.float32).reshape(info["shape"])
    return out


def read_hf_weights(hf_dir):
    index = os.path.join(hf_dir, "model.safetensors.index.json")
    if not os.path.exists(index):
        return read_safetensors(os.path.join(hf_dir, "model.safetensors"))
    with open(index) as f:
        files = sorted(set(json.load(f)["weight_map"].values()))
    weights = {}
    for file in files:
        weights.update(read_safetensors(os.path.join(hf_dir, file)))
    return weights


def llama_cpp_row_order(w, heads):
    """llama.cpp keeps each head's rotary pairs (i, i + head_dim/2) in adjacent rows."""
    rows = w.shape[0]
    return w.reshape(heads, 2, rows // heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def field(reader, key):
    f = reader.fields.get(key)
    expect(f is not None, f"metadata key {key} is missing")
    return f.contents()


def compare_bytes(tensor, want):
    """The tensor holds exactly what gguf-py writes for `want` (PyTorch order) in the tensor's type."""
    name, kind = tensor.name, tensor.tensor_type.name
    expected = np.ascontiguousarray(quantize(np.ascontiguousarray(want, dtype=np.float32), tensor.tensor_type))
    got = np.ascontiguousarray(tensor.data)
    expect(got.nbytes == expected.nbytes, f"{name}: {got.nbytes} bytes of {kind}, gguf-py encodes {expected.nbytes}")
    differing = int((got.view(np.uint8).reshape(-1) != expected.view(np.uint8).reshape(-1)).sum())
    expect(differing == 0, f"{name}: {differing} of {got.nbytes} bytes differ from gguf-py's {kind} encoding")


def token_id(tokens, text):
    return tokens.index(text) if text in tokens else -1


def check_tokenizer(reader, hf_dir):
    with open(os.path.join(hf_dir, "tokenizer_config.json")) as f:
        config = json.load(f)
    with open(os.path.join(hf_dir, "tokenizer.json")) as f:
        tokenizer = json.load(f)
    vocab = dict(tokenizer["model"]["vocab"])
    vocab.update({t["content"]: t["id"] for t in tokenizer["added_tokens"]})
    tokens = field(reader, "tokenizer.ggml.tokens")
    expect(field(reader, "tokenizer.ggml.model") == "gpt2", "tokenizer.ggml.model is not gpt2")
    expect(len(tokens) == len(vocab), f"{len(tokens)} tokens, the HF tokenizer has {len(vocab)}")
    expect(all(tokens[i] == t for t, i in vocab.items()), "token strings differ from tokenizer.json")
    special = lambda key: config[key] if isinstance(config[key], str) else config[key]["content"]  # noqa: E731
    eos, bos = vocab[special("eos_token")], vocab[special("bos_token")]
    expect(field(reader, "tokenizer.ggml.eos_token_id") == eos, f"eos_token_id is not {eos}")
    expect(field(reader, "tokenizer.ggml.bos_token_id") == bos, f"bos_token_id is not {bos}")
    eot = token_id(tokens, "<|im_end|>")
    if eot >= 0:
        expect(field(reader, "tokenizer.ggml.eot_token_id") == eot, f"eot_token_id is not {eot} (<|im_end|>)")
    expect(field(reader, "tokenizer.chat_template") == config["chat_template"], "tokenizer.chat_template differs")
    print(f"tokenizer: {len(tokens)} tokens, eos {eos}, eot {eot}, bos {bos}, chat template of "
          f"{len(config['chat_template'])} characters")


def expected_type(name, dtype, tied, shape):
    if len(shape) == 1:
        return GGMLQuantizationType.F32
    if dtype in BLOCKED and shape[-1] % 32 != 0:
        return GGMLQuantizationType.F16  # the row does not split into blocks
    # Whet keeps the matrix that makes the logits at Q8_0 below 8 bits (llama-quantize: Q6_K or Q8_0).
    if dtype in BELOW_8_BITS and (name == "output.weight" or (tied and name == "token_embd.weight")):
        return GGMLQuantizationType.Q8_0
    return TYPES[dtype]


def check_model(args):
    reader = GGUFReader(args.gguf)
    with open(os.path.join(args.hf, "config.json")) as f:
        config = json.load(f)
    expect(field(reader, "general.architecture") == "llama", "general.architecture is not llama")
    heads, kv_heads = config["num_attention_heads"], config["num_key_value_heads"]
    for key, want in [("llama.block_count", config["num_hidden_layers"]), ("llama.embedding_length", config["hidden_size"]),
                      ("llama.feed_forward_length", config["intermediate_size"]),
                      ("llama.attention.head_count", heads), ("llama.attention.head_count_kv", kv_heads)]:
        expect(field(reader, key) == want, f"{key} is {field(reader, key)}, expected {want}")
    print(f"architecture: llama, {config['num_hidden_layers']} blocks, {heads}/{kv_heads} heads")
    check_tokenizer(reader, args.hf)

    weights = read_hf_weights(args.hf)
    tied = "lm_head.weight" not in weights
    hf_names = {"token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight",
                "output.weight": "lm_head.weight"}
    for layer in range(config["num_hidden_layers"]):
        for part, hf in LAYER_PARTS.items():
            hf_names[f"blk.{layer}.{part}.weight"] = f"model.layers.{layer}.{hf}.weight"
    if tied:
        del hf_names["output.weight"]
    tensors = {t.name: t for t in reader.tensors}
    extra = set(tensors) - set(hf_names) - {"rope_freqs.weight"}
    expect(not extra, f"unexpected tensors {sorted(extra)}")
    for name, hf in hf_names.items():
        expect(name in tensors, f"tensor {name} is missing")
        t, want = tensors[name], weights[hf]
        expect(list(t.shape) == list(reversed(want.shape)), f"{name}: ne {list(t.shape)}, expected {list(reversed(want.shape))}")
        expect(t.tensor_type == expected_type(name, args.dtype, tied, want.shape),
               f"{name}: type {t.tensor_type.name}, expected {expected_type(name, args.dtype, tied, want.shape).name}")
        if ".attn_q." in name:
            want = llama_cpp_row_order(want, heads)
        elif ".attn_k." in name:
            want = llama_cpp_row_order(want, kv_heads)
        compare_bytes(t, want)
    print(f"tensors: {len(hf_names)} named, typed and shaped as llama.cpp expects; bytes are gguf-py's encoding of "
          f"the HF weights ({args.dtype})")


def check_lora(args):
    reader = GGUFReader(args.gguf)
    with open(os.path.join(args.hf, "config.json")) as f:
        config = json.load(f)
    with open(os.path.join(args.peft, "adapter_config.json")) as f:
        adapter = json.load(f)
    expect(field(reader, "general.architecture") == "llama", "general.architecture is not llama")
    expect(field(reader, "general.type") == "adapter", "general.type is not adapter")
    expect(field(reader, "adapter.type") == "lora", "adapter.type is not lora")
    rank, alpha = adapter["r"], adapter["lora_alpha"]
    scale = alpha / math.sqrt(rank) if adapter.get("use_rslora") else alpha / rank
    got_alpha = field(reader, "adapter.lora.alpha")
    expect(math.isclose(got_alpha / rank, scale, rel_tol=1e-6), f"adapter.lora.alpha {got_alpha} gives scale "
           f"{got_alpha / rank}, the adapter's is {scale}")
    print(f"adapter: llama lora, alpha {got_alpha} (scale {scale} at rank {rank})")

    peft = read_safetensors(os.path.join(args.peft, "adapter_model.safetensors"))
    heads = {"attn_q": config["num_attention_heads"], "attn_k": config["num_key_value_heads"]}
    parts = {hf: part for part, hf in LAYER_PARTS.items()}
    tensors = {t.name: t for t in reader.tensors}
    expected = set()
    for name, values in peft.items():
        # base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight
        rest = name[len("base_model.model.model.layers."):]
        layer, module, which = rest.split(".")[0], ".".join(rest.split(".")[1:3]), rest.split(".")[3]
        part = parts[module]
        gguf_name = f"blk.{layer}.{part}.weight.lora_{which[-1].lower()}"
        expected.add(gguf_name)
        expect(gguf_name in tensors, f"tensor {gguf_name} is missing")
        t = tensors[gguf_name]
        # llama.cpp: lora_a ne [in, rank], lora_b ne [rank, out]
        expect(list(t.shape) == list(reversed(values.shape)), f"{gguf_name}: ne {list(t.shape)}, expected "
               f"{list(reversed(values.shape))}")
        if which == "lora_B" and part in heads:
            values = llama_cpp_row_order(values, heads[part])
        dtype = t.tensor_type.name.lower()
        fallback = dtype == "f16" and args.dtype in BLOCKED and values.shape[-1] % 32 != 0
        expect(dtype == args.dtype or fallback, f"{gguf_name}: type {dtype}, expected {args.dtype}")
        compare_bytes(t, values)
    extra = set(tensors) - expected
    expect(not extra, f"unexpected tensors {sorted(extra)}")
    print(f"tensors: {len(expected)} lora_a/lora_b named and shaped as llama.cpp expects; bytes are gguf-py's "
          f"encoding of the PEFT tensors, q/k rows of lora_b in llama.cpp's order")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="kind", required=True)
    model = sub.add_parser("model")
    model.add_argument("gguf")
    model.add_argument("--hf", required=True, help="the Hugging Face directory the model came from")
    model.add_argument("--dtype", required=True, choices=sorted(TYPES))
    lora = sub.add_parser("lora")
    lora.add_argument("gguf")
    lora.add_argument("--peft", required=True, help="the PEFT adapter the file came from")
    lora.add_argument("--hf", required=True, help="the base model's Hugging Face directory (for its heads)")
    lora.add_argument("--dtype", required=True, choices=["f32", "f16", "bf16", "q8_0"])
    args = parser.parse_args()
    try:
        (check_model if args.kind == "model" else check_lora)(args)
    except CheckFailed as e:
        print(f"check_gguf: {args.gguf}: {e}", file=sys.stderr)
        sys.exit(1)
    print(f"check_gguf: {args.gguf}: ok")


if __name__ == "__main__":
    main()
