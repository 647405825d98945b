#!/usr/bin/python3
"""Tiny random models of each family (Llama, Qwen2, Mistral, Gemma 3, Phi-3, GPT-2), written as Hugging Face directories and as GGUF
files by writers independent of Whet's C++ code, with the PyTorch reference
logits the C++ tests compare against.

For each variant, OUT/<variant>/ holds:
  hf/                  config.json, model.safetensors (or shards + index), tokenizer files
  model-f32.gguf       the same weights as GGUF F32, q/k rows permuted as llama.cpp stores them
  model-f16.gguf       the same, matrices as F16
  reference.json       token sequences; logits.bin their logits from llama_reference.Llama

Weights are rounded to fp16 first so that every file holds identical values and
one reference serves them all.
"""
import argparse
import json
import math
import os
import struct

import torch

from llama_reference import fuse, inverse_frequencies, reference_model, rope_attention_factor, write_reference

GEMMA3 = {"architectures": ["Gemma3ForCausalLM"], "model_type": "gemma3_text", "num_hidden_layers": 6,
          "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 32, "tie_word_embeddings": True,
          "rope_theta": 1000000.0, "rope_local_base_freq": 10000.0, "sliding_window": 4, "query_pre_attn_scalar": 32,
          "hidden_activation": "gelu_pytorch_tanh", "rms_norm_eps": 1e-6}

# gemma3_softcap's caps: small enough that tanh bends what it caps (without the attention cap
# its logits move by 0.15, without the final one by 1.6; the logits reach 4.3 uncapped).
SOFTCAP_ATTENTION, SOFTCAP_FINAL = 5.0, 3.0

# (name, config overrides): together they cover grouped-query attention, tied and
# untied heads, head_dim other than hidden/heads, linear and llama3 rope scaling,
# multi-query attention and sharded safetensors.
VARIANTS = [
    ("gqa_tied", {"num_attention_heads": 4, "num_key_value_heads": 2, "tie_word_embeddings": True}),
    ("untied_llama3", {
        "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 24, "tie_word_embeddings": False,
        "rope_theta": 500000.0,
        "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                         "original_max_position_embeddings": 64},
    }),
    ("mha_linear_sharded", {"num_attention_heads": 4, "num_key_value_heads": 4, "tie_word_embeddings": False,
                            "rope_scaling": {"rope_type": "linear", "factor": 2.0}}),
    # The families: q/k/v biases and an untied head; a window of 4 (the sequences
    # run to 32, so the window's edge is crossed); Gemma 3 with six layers so that
    # the sixth is global, a window of 4, head_dim 32 != hidden / heads and one
    # key/value head.
    ("qwen2_bias", {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "num_attention_heads": 4,
                    "num_key_value_heads": 2, "tie_word_embeddings": False, "rope_theta": 1000000.0}),
    ("mistral_window", {"architectures": ["MistralForCausalLM"], "model_type": "mistral", "num_attention_heads": 4,
                        "num_key_value_heads": 2, "tie_word_embeddings": True, "sliding_window": 4}),
    ("gemma3_sandwich", GEMMA3),
    # Phi-3 with longrope stretched from 16 to 64 positions (so Whet runs it with the
    # long factors and the sequences of 17 and 32 cross the original context) and a
    # window of 20 in every layer; its files fuse qkv and gate_up.
    ("phi3_longrope", {"architectures": ["Phi3ForCausalLM"], "model_type": "phi3", "num_attention_heads": 4,
                       "num_key_value_heads": 2, "tie_word_embeddings": False, "hidden_act": "silu",
                       "max_position_embeddings": 64, "original_max_position_embeddings": 16, "sliding_window": 20,
                       "pad_token_id": 0,
                       "rope_scaling": {"type": "longrope",
                                        "short_factor": [1.0, 1.02, 1.05, 1.1, 1.2, 1.35, 1.5, 1.8],
                                        "long_factor": [1.0, 1.3, 1.9, 2.6, 3.5, 5.0, 7.5, 11.0]}}),
    # GPT-2 in its own config names: n_inner null (4 * n_embd = 256), no tie_word_embeddings
    # (tied by default), 40 positions (the sequences reach 32).
    ("gpt2_tiny", {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "n_embd": 64, "n_layer": 2,
                   "n_head": 4, "n_positions": 40, "n_inner": None, "layer_norm_epsilon": 1e-5,
                   "activation_function": "gelu_new"}),
    # Gemma 3 with Gemma 2-style softcaps, small enough that tanh bends the scores and logits.
    ("gemma3_softcap", dict(GEMMA3, attn_logit_softcapping=SOFTCAP_ATTENTION, final_logit_softcapping=SOFTCAP_FINAL)),
]
# The plain Llama variants: the losses built on the trunk (preference, reward, GRPO) are checked on these.
LLAMA_VARIANTS = ["gqa_tied", "untied_llama3", "mha_linear_sharded"]
# GGUF general.architecture of each Hugging Face model_type (llama.cpp writes Mistral as llama).
GGUF_ARCHITECTURE = {"llama": "llama", "mistral": "llama", "qwen2": "qwen2", "gemma3_text": "gemma3", "phi3": "phi3",
                     "gpt2": "gpt2"}
SEQUENCE_LENGTHS = [1, 5, 17, 32]

# --- tokenizer: byte-level BPE over the 256 byte symbols, a few merges and ChatML specials ---

def byte_symbols():
    """GPT-2's byte -> printable unicode character table."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    table, extra = {}, 0
    for b in range(256):
        if b in printable:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return [table[b] for b in range(256)]


def tiny_tokenizer():
    tokens = byte_symbols()
    merges = [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("i", "n"), ("Ġ", "a"), ("e", "r"), ("o", "n"), ("Ġ", "s")]
    for a, b in merges:
        tokens.append(a + b)
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    return tokens, merges, specials


def write_tokenizer_files(out_dir, tokens, merges, specials):
    first_special = len(tokens)
    vocab = {t: i for i, t in enumerate(tokens)}
    added = [{"id": first_special + i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for i, s in enumerate(specials)]
    tokenizer = {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                  "vocab": vocab, "merges": [f"{a} {b}" for a, b in merges]},
    }
    chat_template = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] "
                     "+ '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")
    config = {"bos_token": "<|im_start|>", "eos_token": "<|im_end|>", "add_bos_token": False,
              "chat_template": chat_template}
    with open(os.path.join(out_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer, f, ensure_ascii=False)
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, ensure_ascii=False)
    return chat_template

# --- safetensors writer ---

def write_safetensors(path, tensors, dtype="F32", metadata=None):
    torch_dtype = {"F32": torch.float32, "F16": torch.float16}[dtype]
    # transformers' from_pretrained refuses a file without the "pt" format tag that torch's writers put there.
    header, blobs, offset = {"__metadata__": dict({"format": "pt"}, **(metadata or {}))}, [], 0
    for name, t in tensors.items():
        blob = t.to(torch_dtype).contiguous().numpy().tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def write_hf_dir(out_dir, config, tensors, shards):
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    if shards == 1:
        write_safetensors(os.path.join(out_dir, "model.safetensors"), tensors)
        return
    names = list(tensors)
    weight_map = {}
    for s in range(shards):
        file = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
        part = {n: tensors[n] for n in names[s::shards]}
        write_safetensors(os.path.join(out_dir, file), part)
        weight_map.update({n: file for n in part})
    with open(os.path.join(out_dir, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {}, "weight_map": weight_map}, f, indent=2)

# --- GGUF writer (v3) ---

GGUF_UINT32, GGUF_INT32, GGUF_FLOAT32, GGUF_BOOL, GGUF_STRING, GGUF_ARRAY = 4, 5, 6, 7, 8, 9
GGML_F32, GGML_F16 = 0, 1


def gguf_string(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def gguf_value(value):
    """Type code and encoding of a metadata value (ints as uint32, floats as float32)."""
    if isinstance(value, bool):
        return GGUF_BOOL, struct.pack("<B", value)
    if isinstance(value, int):
        return GGUF_UINT32, struct.pack("<I", value)
    if isinstance(value, float):
        return GGUF_FLOAT32, struct.pack("<f", value)
    if isinstance(value, str):
        return GGUF_STRING, gguf_string(value)
    if isinstance(value, list):
        element_type = gguf_value(value[0])[0]
        if element_type == GGUF_UINT32:
            element_type = GGUF_INT32
        payload = b"".join(struct.pack("<i", v) if element_type == GGUF_INT32 else gguf_value(v)[1] for v in value)
        return GGUF_ARRAY, struct.pack("<IQ", element_type, len(value)) + payload
    raise TypeError(value)


def write_gguf(path, metadata, tensors, matrix_type):
    """tensors: name -> torch tensor in PyTorch order; 2-D ones are stored as matrix_type."""
    alignment = 32
    infos, blobs, offset = b"", [], 0
    for name, t in tensors.items():
        kind = matrix_type if t.dim() == 2 else GGML_F32
        blob = t.to(torch.float16 if kind == GGML_F16 else torch.float32).contiguous().numpy().tobytes()
        dims = list(reversed(t.shape))  # GGUF lists the innermost dimension first
        infos += gguf_string(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        infos += struct.pack("<IQ", kind, offset)
        blobs.append(blob + b"\0" * (-len(blob) % alignment))
        offset += len(blobs[-1])
    kv = b""
    for key, value in metadata.items():
        code, payload = gguf_value(value)
        kv += gguf_string(key) + struct.pack("<I", code) + payload
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(metadata)) + kv + infos
    head += b"\0" * (-len(head) % alignment)
    with open(path, "wb") as f:
        f.write(head + b"".join(blobs))


def llama_cpp_qk_order(w, heads):
    """llama.cpp keeps each head's rotary pairs (i, i + head_dim/2) in adjacent rows."""
    rows, cols = w.shape
    return w.reshape(heads, 2, rows // heads // 2, cols).transpose(1, 2).reshape(rows, cols)


def gguf_tensors(config, tensors):
    """HF tensors under llama.cpp's names; only GGUF "llama" interleaves q/k rows,
    Gemma's norms are stored as the 1 + w they multiply by, and Phi-3's fused
    projections keep their rows (gate and up stacked under ffn_up)."""
    names = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
             "lm_head.weight": "output.weight"}
    gemma = config["model_type"] == "gemma3_text"
    parts = {"input_layernorm": "attn_norm", "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
             "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output",
             "self_attn.q_norm": "attn_q_norm", "self_attn.k_norm": "attn_k_norm",
             "post_attention_layernorm": "post_attention_norm" if gemma else "ffn_norm",
             "pre_feedforward_layernorm": "ffn_norm", "post_feedforward_layernorm": "post_ffw_norm",
             "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down",
             "self_attn.qkv_proj": "attn_qkv", "mlp.gate_up_proj": "ffn_up"}
    interleaved = GGUF_ARCHITECTURE[config["model_type"]] == "llama"
    out = {}
    for name, t in tensors.items():
        if gemma and name.endswith("norm.weight"):
            t = t + 1.0
        if name in names:
            out[names[name]] = t
            continue
        layer, part = name[len("model.layers."):].split(".", 1)
        part, kind = part.rsplit(".", 1)
        if interleaved and part == "self_attn.q_proj":
            t = llama_cpp_qk_order(t, config["num_attention_heads"])
        elif interleaved and part == "self_attn.k_proj":
            t = llama_cpp_qk_order(t, config["num_key_value_heads"])
        out[f"blk.{layer}.{parts[part]}.{kind}"] = t
    return out


def gpt2_gguf_tensors(tensors):
    """GPT-2's tensors under llama.cpp's names, its Conv1D matrices transposed to [out, in]
    as llama.cpp's converter stores them; the attention-mask buffers are not weights."""
    names = {"transformer.wte.weight": "token_embd.weight", "transformer.wpe.weight": "position_embd.weight",
             "transformer.ln_f.weight": "output_norm.weight", "transformer.ln_f.bias": "output_norm.bias"}
    parts = {"ln_1": "attn_norm", "attn.c_attn": "attn_qkv", "attn.c_proj": "attn_output", "ln_2": "ffn_norm",
             "mlp.c_fc": "ffn_up", "mlp.c_proj": "ffn_down"}
    out = {}
    for name, t in tensors.items():
        if name in names:
            out[names[name]] = t
            continue
        layer, part = name[len("transformer.h."):].split(".", 1)
        part, kind = part.rsplit(".", 1)
        if part == "attn":  # attn.bias: the causal mask of old checkpoints
            continue
        out[f"blk.{layer}.{parts[part]}.{kind}"] = t.T if t.dim() == 2 else t
    return out


def gpt2_gguf_hyperparameters(config):
    return {"gpt2.context_length": config["n_positions"], "gpt2.embedding_length": config["n_embd"],
            "gpt2.feed_forward_length": config["n_inner"] or 4 * config["n_embd"],
            "gpt2.block_count": config["n_layer"], "gpt2.attention.head_count": config["n_head"],
            "gpt2.attention.layer_norm_epsilon": float(config["layer_norm_epsilon"])}


def gguf_metadata(config, tokens, merges, specials, chat_template, rope_divisors):
    arch = GGUF_ARCHITECTURE[config["model_type"]]
    if arch == "gpt2":
        return dict({"general.architecture": arch, "general.name": "tiny"}, **gpt2_gguf_hyperparameters(config),
                    **tokenizer_metadata(arch, tokens, merges, specials, chat_template)), {}
    head_dim = config.get("head_dim") or config["hidden_size"] // config["num_attention_heads"]
    m = {
        "general.architecture": arch, "general.name": "tiny",
        f"{arch}.context_length": config["max_position_embeddings"],
        f"{arch}.embedding_length": config["hidden_size"],
        f"{arch}.block_count": config["num_hidden_layers"],
        f"{arch}.feed_forward_length": config["intermediate_size"],
        f"{arch}.attention.head_count": config["num_attention_heads"],
        f"{arch}.attention.head_count_kv": config["num_key_value_heads"],
        f"{arch}.attention.key_length": head_dim, f"{arch}.attention.value_length": head_dim,
        f"{arch}.rope.dimension_count": head_dim,
        f"{arch}.rope.freq_base": float(config["rope_theta"]),
        f"{arch}.attention.layer_norm_rms_epsilon": float(config["rms_norm_eps"]),
    }
    if config.get("sliding_window"):
        m[f"{arch}.attention.sliding_window"] = config["sliding_window"]
    for cap in ("attn_logit_softcapping", "final_logit_softcapping"):
        if config.get(cap):
            m[f"{arch}.{cap}"] = float(config[cap])
    scaling = config.get("rope_scaling") or {}
    if scaling.get("rope_type") == "linear":
        m[f"{arch}.rope.scaling.type"] = "linear"
        m[f"{arch}.rope.scaling.factor"] = float(scaling["factor"])
    if scaling.get("type") == "longrope":
        m[f"{arch}.rope.scaling.original_context_length"] = config["original_max_position_embeddings"]
        m[f"{arch}.rope.scaling.attn_factor"] = float(rope_attention_factor(config))
    m.update(tokenizer_metadata(arch, tokens, merges, specials, chat_template))
    extra = {"rope_freqs.weight": rope_divisors} if rope_divisors is not None else {}
    if scaling.get("type") == "longrope":
        extra = {"rope_factors_long.weight": torch.tensor(scaling["long_factor"]),
                 "rope_factors_short.weight": torch.tensor(scaling["short_factor"])}
    return m, extra


def tokenizer_metadata(arch, tokens, merges, specials, chat_template):
    all_tokens = tokens + specials
    return {
        # llama.cpp spells GPT-2's pre-tokenizer "gpt-2" (the other families' files are loaded by it).
        "tokenizer.ggml.model": "gpt2", "tokenizer.ggml.pre": "gpt2" if arch == "llama" else "gpt-2",
        "tokenizer.ggml.tokens": all_tokens,
        "tokenizer.ggml.token_type": [1] * len(tokens) + [3] * len(specials),
        "tokenizer.ggml.merges": [f"{a} {b}" for a, b in merges],
        "tokenizer.ggml.bos_token_id": len(tokens) + 1, "tokenizer.ggml.eos_token_id": len(tokens) + 2,
        "tokenizer.ggml.add_bos_token": False, "tokenizer.chat_template": chat_template,
    }


def llama3_divisors(config):
    """llama.cpp stores llama3 rope scaling as per-frequency divisors in rope_freqs.weight."""
    plain = dict(config, rope_scaling=None)
    return (inverse_frequencies(plain) / inverse_frequencies(config)).float()


def random_model(config, seed):
    g = torch.Generator().manual_seed(seed)
    hidden, inter = config["hidden_size"], config["intermediate_size"]
    heads, kv_heads = config["num_attention_heads"], config["num_key_value_heads"]
    head_dim = config.get("head_dim") or hidden // heads
    kind = config["model_type"]
    shapes = {"model.embed_tokens.weight": (config["vocab_size"], hidden)}
    for i in range(config["num_hidden_layers"]):
        p = f"model.layers.{i}."
        # The Llama tensors first, in the order that keeps the Llama variants' random draws as they were.
        shapes.update({
            p + "input_layernorm.weight": (hidden,), p + "self_attn.q_proj.weight": (heads * head_dim, hidden),
            p + "self_attn.k_proj.weight": (kv_heads * head_dim, hidden),
            p + "self_attn.v_proj.weight": (kv_heads * head_dim, hidden),
            p + "self_attn.o_proj.weight": (hidden, heads * head_dim),
            p + "post_attention_layernorm.weight": (hidden,), p + "mlp.gate_proj.weight": (inter, hidden),
            p + "mlp.up_proj.weight": (inter, hidden), p + "mlp.down_proj.weight": (hidden, inter),
        })
        if kind == "qwen2":
            shapes.update({p + "self_attn.q_proj.bias": (1, heads * head_dim),
                           p + "self_attn.k_proj.bias": (1, kv_heads * head_dim),
                           p + "self_attn.v_proj.bias": (1, kv_heads * head_dim)})
        if kind == "gemma3_text":
            shapes.update({p + "self_attn.q_norm.weight": (head_dim,), p + "self_attn.k_norm.weight": (head_dim,),
                           p + "pre_feedforward_layernorm.weight": (hidden,),
                           p + "post_feedforward_layernorm.weight": (hidden,)})
    shapes["model.norm.weight"] = (hidden,)
    if not config["tie_word_embeddings"]:
        shapes["lm_head.weight"] = (config["vocab_size"], hidden)
    tensors = {}
    for name, shape in shapes.items():
        if name.endswith(".bias"):
            t = (0.1 * torch.randn(shape, generator=g)).reshape(shape[1])
        elif len(shape) == 1:
            # Gemma multiplies by 1 + w: its weights are offsets around 0, the others' scales around 1.
            t = (0.0 if kind == "gemma3_text" else 1.0) + 0.1 * torch.randn(shape, generator=g)
        else:
            t = torch.randn(shape, generator=g) / math.sqrt(shape[1])
        tensors[name] = t.half().float()  # representable exactly in every file type written
    return tensors


def random_gpt2(config, seed):
    """GPT-2's tensors as its Hugging Face files hold them (Conv1D matrices [in, out]), with
    the causal-mask buffer attn.bias that old checkpoints carry."""
    g = torch.Generator().manual_seed(seed)
    n, inner, positions = config["n_embd"], config["n_inner"] or 4 * config["n_embd"], config["n_positions"]
    shapes = {"transformer.wte.weight": (config["vocab_size"], n), "transformer.wpe.weight": (positions, n)}
    for i in range(config["n_layer"]):
        p = f"transformer.h.{i}."
        shapes.update({p + "ln_1.weight": (n,), p + "ln_1.bias": (n,), p + "attn.c_attn.weight": (n, 3 * n),
                       p + "attn.c_attn.bias": (3 * n,), p + "attn.c_proj.weight": (n, n), p + "attn.c_proj.bias": (n,),
                       p + "ln_2.weight": (n,), p + "ln_2.bias": (n,), p + "mlp.c_fc.weight": (n, inner),
                       p + "mlp.c_fc.bias": (inner,), p + "mlp.c_proj.weight": (inner, n), p + "mlp.c_proj.bias": (n,)})
    shapes.update({"transformer.ln_f.weight": (n,), "transformer.ln_f.bias": (n,)})
    tensors = {}
    for name, shape in shapes.items():
        if name.endswith(".bias"):
            t = 0.1 * torch.randn(shape, generator=g)
        elif len(shape) == 1:
            t = 1.0 + 0.1 * torch.randn(shape, generator=g)
        elif name.startswith("transformer.w"):
            t = torch.randn(shape, generator=g) / math.sqrt(shape[1])
        else:
            t = torch.randn(shape, generator=g) / math.sqrt(shape[0])  # Conv1D: [in, out]
        tensors[name] = t.half().float()
    return tensors


def llama_base_config(vocab, bos, eos):
    return {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64,
        "intermediate_size": 96, "num_hidden_layers": 2, "max_position_embeddings": 128, "rope_theta": 10000.0,
        "rms_norm_eps": 1e-5, "vocab_size": vocab, "bos_token_id": bos, "eos_token_id": eos, "torch_dtype": "float32",
    }


def make_variant(out_root, index, name, overrides):
    tokens, merges, specials = tiny_tokenizer()
    vocab, bos, eos = len(tokens) + len(specials), len(tokens) + 1, len(tokens) + 2
    gpt2 = overrides.get("model_type") == "gpt2"
    config = ({"vocab_size": vocab, "bos_token_id": bos, "eos_token_id": eos, "torch_dtype": "float32"} if gpt2
              else llama_base_config(vocab, bos, eos))
    config.update(overrides)
    tensors = random_gpt2(config, seed=1000 + index) if gpt2 else random_model(config, seed=1000 + index)
    out = os.path.join(out_root, name)
    hf = os.path.join(out, "hf")
    files = fuse(config, tensors) if config["model_type"] == "phi3" else dict(tensors)
    if gpt2:
        for i in range(config["n_layer"]):
            files[f"transformer.h.{i}.attn.bias"] = torch.tril(torch.ones(config["n_positions"], config["n_positions"]))
    write_hf_dir(hf, config, files, shards=2 if "sharded" in name else 1)
    chat_template = write_tokenizer_files(hf, tokens, merges, specials)
    scaling = config.get("rope_scaling") or {}
    divisors = llama3_divisors(config) if scaling.get("rope_type") == "llama3" else None
    metadata, extra = gguf_metadata(config, tokens, merges, specials, chat_template, divisors)
    gguf = dict(extra, **(gpt2_gguf_tensors(files) if gpt2 else gguf_tensors(config, files)))
    write_gguf(os.path.join(out, "model-f32.gguf"), metadata, gguf, GGML_F32)
    write_gguf(os.path.join(out, "model-f16.gguf"), metadata, gguf, GGML_F16)

    model = reference_model(config, tensors).double()
    g = torch.Generator().manual_seed(2000 + index)
    sequences = [torch.randint(0, config["vocab_size"], (n,), generator=g).tolist() for n in SEQUENCE_LENGTHS]
    with torch.no_grad():
        logits = [model(torch.tensor(s)) for s in sequences]
    write_reference(out, sequences, logits)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", help="output directory")
    args = parser.parse_args()
    for index, (name, overrides) in enumerate(VARIANTS):
        make_variant(args.out, index, name, overrides)
    print(f"make_tiny_models: {len(VARIANTS)} models in {args.out}")


if __name__ == "__main__":
    main()
