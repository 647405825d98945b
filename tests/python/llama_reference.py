"""An independent PyTorch reference of the Llama architecture and of the
families that vary it (Qwen2: q/k/v biases; Mistral: sliding-window attention;
Gemma 3: GeGLU, (1 + w) RMSNorm before and after attention and MLP, q/k norms,
scaled embeddings and queries, sliding layers with their own rope base, softcapped
attention scores and logits where the config sets caps; Phi-3:
fused qkv and gate_up projections, longrope), of GPT-2 (learned positions,
LayerNorm with biases, Conv1D weights, fused c_attn, tanh-GELU MLP), and
the file readers it needs, written from the published architectures (the
Hugging Face model cards, configs and papers) rather than from Whet's C++ code.
The tests hold Whet's logits and gradients to it.

Only torch and the standard library are used, so Debian's python3-torch runs it
(/usr/bin/python3; no pip packages).
"""
import json
import math
import os
import struct

import torch

SAFETENSORS_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "I32": torch.int32}


def read_safetensors(path):
    """name -> tensor (float32 for floating types) of one .safetensors file."""
    with open(path, "rb") as f:
        data = f.read()
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + header_len])
    body = data[8 + header_len:]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        dtype = SAFETENSORS_DTYPES[info["dtype"]]
        t = torch.frombuffer(bytearray(body[begin:end]), dtype=dtype).reshape(info["shape"])
        tensors[name] = t.float() if dtype.is_floating_point else t
    return tensors


def read_hf_dir(path):
    """(config dict, name -> tensor) of a Hugging Face model directory, sharded or not."""
    with open(os.path.join(path, "config.json")) as f:
        config = json.load(f)
    index = os.path.join(path, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            shards = sorted(set(json.load(f)["weight_map"].values()))
    else:
        shards = ["model.safetensors"]
    tensors = {}
    for shard in shards:
        tensors.update(read_safetensors(os.path.join(path, shard)))
    return config, tensors


# The longest context Whet gives a model (models/llama_config.h, kContextCap).
CONTEXT_CAP = 8192


def uses_long_factors(config):
    """Whet picks Phi-3's longrope factors once per model, as llama.cpp does: the long
    ones when the context it runs the model at exceeds the original one."""
    return min(config["max_position_embeddings"], CONTEXT_CAP) > config["original_max_position_embeddings"]


def rope_attention_factor(config):
    """longrope's factor on cos and sin: sqrt(1 + ln(s) / ln(original)) for a context stretched s times."""
    scaling = config.get("rope_scaling") or {}
    if scaling.get("rope_type", scaling.get("type")) not in ("longrope", "su"):
        return 1.0
    stretch = config["max_position_embeddings"] / config["original_max_position_embeddings"]
    return 1.0 if stretch <= 1 else math.sqrt(1 + math.log(stretch) / math.log(config["original_max_position_embeddings"]))


def inverse_frequencies(config, theta=None, scaled=True):
    """Rotary inverse frequencies with the config's rope scaling (none, linear, llama3 or longrope)."""
    head_dim = config.get("head_dim") or config["hidden_size"] // config["num_attention_heads"]
    theta = theta or config.get("rope_theta", 10000.0)
    inv = 1.0 / theta ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    scaling = (config.get("rope_scaling") or {}) if scaled else {}
    kind = scaling.get("rope_type", scaling.get("type"))
    if kind == "linear":
        inv = inv / scaling["factor"]
    elif kind == "llama3":
        factor, low, high = scaling["factor"], scaling["low_freq_factor"], scaling["high_freq_factor"]
        original = scaling["original_max_position_embeddings"]
        out = []
        for f in inv.tolist():
            wavelength = 2 * math.pi / f
            if wavelength < original / high:
                out.append(f)
            elif wavelength > original / low:
                out.append(f / factor)
            else:
                smooth = (original / wavelength - low) / (high - low)
                out.append((1 - smooth) * f / factor + smooth * f)
        inv = torch.tensor(out, dtype=torch.float64)
    elif kind in ("longrope", "su"):
        factors = scaling["long_factor"] if uses_long_factors(config) else scaling["short_factor"]
        inv = inv / torch.tensor(factors, dtype=torch.float64)
    elif kind not in (None, "default"):
        raise ValueError(f"rope scaling {kind!r} is not in the reference")
    return inv


def sliding_layers(config):
    """Which layers attend through a sliding window, by the family's config fields."""
    layers, kind = config["num_hidden_layers"], config.get("model_type", "llama")
    if kind in ("mistral", "phi3"):
        return [config.get("sliding_window") is not None] * layers
    if kind == "qwen2":
        on = config.get("use_sliding_window", False)
        return [on and i >= config.get("max_window_layers", 0) for i in range(layers)]
    if kind == "gemma3_text":
        if "layer_types" in config:
            return [t == "sliding_attention" for t in config["layer_types"]]
        pattern = config.get("sliding_window_pattern", 6)
        return [(i + 1) % pattern != 0 for i in range(layers)]
    if kind == "gemma2":
        return [i % 2 == 0 for i in range(layers)]
    return [False] * layers


# Phi-3 stores q, k and v as one projection and gate and up as another (gate first).
FUSED = {"self_attn.qkv_proj": ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"],
         "mlp.gate_up_proj": ["mlp.gate_proj", "mlp.up_proj"]}


def split_fused(config, tensors):
    """The tensors with each fused projection split into its parts, by rows."""
    heads, kv_heads = config["num_attention_heads"], config.get("num_key_value_heads", config["num_attention_heads"])
    head_dim = config.get("head_dim") or config["hidden_size"] // heads
    rows = {"self_attn.q_proj": heads * head_dim, "self_attn.k_proj": kv_heads * head_dim,
            "self_attn.v_proj": kv_heads * head_dim, "mlp.gate_proj": config["intermediate_size"],
            "mlp.up_proj": config["intermediate_size"]}
    out = {}
    for name, t in tensors.items():
        fused = next((f for f in FUSED if name.endswith(f + ".weight")), None)
        if fused is None:
            out[name] = t
            continue
        prefix = name[:-len(fused + ".weight")]
        for part, piece in zip(FUSED[fused], t.split([rows[p] for p in FUSED[fused]])):
            out[prefix + part + ".weight"] = piece
    return out


def fuse(config, tensors):
    """The inverse of split_fused, for Phi-3's files."""
    out = {}
    for name, t in tensors.items():
        for fused, parts in FUSED.items():
            if name.endswith(parts[0] + ".weight"):
                prefix = name[:-len(parts[0] + ".weight")]
                out[prefix + fused + ".weight"] = torch.cat([tensors[prefix + p + ".weight"] for p in parts])
        if not any(name.endswith(p + ".weight") for parts in FUSED.values() for p in parts):
            out[name] = t
    return out


def softcap(x, cap):
    """cap * tanh(x / cap), or x when cap is None."""
    return x if cap is None else cap * torch.tanh(x / cap)


class Llama(torch.nn.Module):
    """Llama-family decoder with Hugging Face tensor names; parameters are float32 (or float64 via .double())."""

    def __init__(self, config, tensors):
        super().__init__()
        self.config = config
        # Gemma 2 is held here only as transformers' peer for the softcaps (check_family_references.py):
        # Gemma 3's block without the q/k norms, one rope base, every other layer sliding.
        self.gemma = config.get("model_type") in ("gemma3_text", "gemma2")
        self.qk_norm = config.get("model_type") == "gemma3_text"
        self.hidden = config["hidden_size"]
        self.heads = config["num_attention_heads"]
        self.kv_heads = config.get("num_key_value_heads", self.heads)
        self.head_dim = config.get("head_dim") or self.hidden // self.heads
        self.eps = config["rms_norm_eps"]
        self.layers = config["num_hidden_layers"]
        self.tied = config.get("tie_word_embeddings", False)
        self.params = torch.nn.ParameterDict()
        for name, t in split_fused(config, tensors).items():
            self.params[name.replace(".", "/")] = torch.nn.Parameter(t.clone())
        self.register_buffer("inv_freq", inverse_frequencies(config))
        # Gemma 3's sliding layers rotate with their own base and no scaling.
        local_theta = config.get("rope_local_base_freq") if self.gemma else None
        self.register_buffer("local_inv_freq", inverse_frequencies(config, local_theta, scaled=False)
                             if local_theta else inverse_frequencies(config))
        self.attention_factor = rope_attention_factor(config)
        self.sliding = sliding_layers(config)
        self.window = config.get("sliding_window") or 0
        self.query_scale = (config["query_pre_attn_scalar"] ** -0.5 if self.gemma
                            else 1.0 / math.sqrt(self.head_dim))
        # Gemma's softcaps (null or absent: none): scores and logits become cap * tanh(x / cap).
        self.attn_softcap = config.get("attn_logit_softcapping")
        self.final_softcap = config.get("final_logit_softcapping")
        self.lora = torch.nn.ParameterDict()
        self.lora_scale = 0.0

    def add_lora(self, adapters, scale):
        """adapters: PEFT module path ("model.layers.0.self_attn.q_proj") -> (A (r, in), B (out, r))."""
        for module, (a, b) in adapters.items():
            self.lora[module.replace(".", "/") + "/A"] = torch.nn.Parameter(a.clone())
            self.lora[module.replace(".", "/") + "/B"] = torch.nn.Parameter(b.clone())
        self.lora_scale = scale

    def project(self, x, module):
        """x @ W.T (+ bias where the file has one), plus scale * x @ A.T @ B.T where the module has an adapter."""
        out = x @ self.p(module + ".weight").T
        if (module + ".bias").replace(".", "/") in self.params:
            out = out + self.p(module + ".bias")
        key = module.replace(".", "/")
        if key + "/A" in self.lora:
            out = out + self.lora_scale * (x @ self.lora[key + "/A"].T) @ self.lora[key + "/B"].T
        return out

    def p(self, name):
        return self.params[name.replace(".", "/")]

    def rms_norm(self, x, weight):
        # Gemma's norms scale by 1 + w (its weights are stored as offsets from 1).
        scale = 1.0 + weight if self.gemma else weight
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * scale

    def rotate(self, x, positions, inv_freq):
        # x: (heads, T, head_dim); element i pairs with i + head_dim/2 ("rotate half").
        angles = positions[:, None].to(inv_freq.dtype) * inv_freq[None, :]
        cos = (torch.cat([angles.cos(), angles.cos()], -1) * self.attention_factor).to(x.dtype)
        sin = (torch.cat([angles.sin(), angles.sin()], -1) * self.attention_factor).to(x.dtype)
        half = self.head_dim // 2
        rotated = torch.cat([-x[..., half:], x[..., :half]], -1)
        return x * cos + rotated * sin

    def forward(self, ids, positions=None, segment_begin=None, hidden=False):
        """Logits (T, vocab) for one sequence of token ids (a 1-D LongTensor), or with
        hidden the final-norm hidden states (T, hidden) the heads read. Packed
        sequences give each token's position and the first key it may attend to."""
        t = ids.shape[0]
        positions = torch.arange(t) if positions is None else positions
        segment_begin = torch.zeros(t, dtype=torch.long) if segment_begin is None else segment_begin
        x = self.p("model.embed_tokens.weight")[ids]
        if self.gemma:
            x = x * math.sqrt(self.hidden)
        keys = torch.arange(t)
        mask = (keys[None, :] <= keys[:, None]) & (keys[None, :] >= segment_begin[:, None])
        # A sliding window: keys fewer than `window` positions back (within one segment, rows and positions agree).
        window_mask = mask & (positions[:, None] - positions[None, :] < self.window)
        for i in range(self.layers):
            pre = f"model.layers.{i}."
            h = self.rms_norm(x, self.p(pre + "input_layernorm.weight"))
            q = self.project(h, pre + "self_attn.q_proj").view(t, self.heads, self.head_dim).transpose(0, 1)
            k = self.project(h, pre + "self_attn.k_proj").view(t, self.kv_heads, self.head_dim).transpose(0, 1)
            v = self.project(h, pre + "self_attn.v_proj").view(t, self.kv_heads, self.head_dim).transpose(0, 1)
            if self.qk_norm:
                q = self.rms_norm(q, self.p(pre + "self_attn.q_norm.weight"))
                k = self.rms_norm(k, self.p(pre + "self_attn.k_norm.weight"))
            inv_freq = self.local_inv_freq if self.sliding[i] else self.inv_freq
            q, k = self.rotate(q, positions, inv_freq), self.rotate(k, positions, inv_freq)
            group = self.heads // self.kv_heads
            k, v = k.repeat_interleave(group, 0), v.repeat_interleave(group, 0)
            scores = softcap((q @ k.transpose(1, 2)) * self.query_scale, self.attn_softcap)
            scores = scores.masked_fill(~(window_mask if self.sliding[i] else mask), float("-inf"))
            attended = (scores.softmax(-1) @ v).transpose(0, 1).reshape(t, self.heads * self.head_dim)
            out = self.project(attended, pre + "self_attn.o_proj")
            if self.gemma:
                out = self.rms_norm(out, self.p(pre + "post_attention_layernorm.weight"))
            x = x + out
            norm = "pre_feedforward_layernorm" if self.gemma else "post_attention_layernorm"
            h = self.rms_norm(x, self.p(pre + norm + ".weight"))
            gate = self.project(h, pre + "mlp.gate_proj")
            up = self.project(h, pre + "mlp.up_proj")
            act = (torch.nn.functional.gelu(gate, approximate="tanh") if self.gemma
                   else torch.nn.functional.silu(gate))
            out = self.project(act * up, pre + "mlp.down_proj")
            if self.gemma:
                out = self.rms_norm(out, self.p(pre + "post_feedforward_layernorm.weight"))
            x = x + out
        x = self.rms_norm(x, self.p("model.norm.weight"))
        if hidden:
            return x
        head = self.p("model.embed_tokens.weight") if self.tied else self.p("lm_head.weight")
        return softcap(x @ head.T, self.final_softcap)


class GPT2(torch.nn.Module):
    """GPT-2 (GPT2LMHeadModel) with Hugging Face tensor names, written from the GPT-2
    paper and transformers' documented layout: token plus learned position embeddings;
    each block x += c_proj(attention(ln_1(x))), x += mlp.c_proj(gelu_tanh(mlp.c_fc(ln_2(x))))
    with LayerNorms holding weight and bias; q, k and v side by side in attn.c_attn;
    every linear a Conv1D, y = x @ W + b with W stored [in, out]; a final ln_f and the
    head tied to wte unless the config unties it."""

    def __init__(self, config, tensors):
        super().__init__()
        self.config = config
        self.hidden = config["n_embd"]
        self.heads = config["n_head"]
        self.head_dim = self.hidden // self.heads
        self.layers = config["n_layer"]
        self.eps = config.get("layer_norm_epsilon", 1e-5)
        self.tied = config.get("tie_word_embeddings", True)
        self.params = torch.nn.ParameterDict()
        for name, t in tensors.items():
            if not name.endswith((".attn.bias", ".attn.masked_bias")):  # old checkpoints' mask buffers
                self.params[name.replace(".", "/")] = torch.nn.Parameter(t.clone())
        self.lora = torch.nn.ParameterDict()
        self.lora_scale = 0.0

    def add_lora(self, adapters, scale):
        """adapters: PEFT module path ("transformer.h.0.mlp.c_fc") -> (A (r, in), B (out, r)),
        the out side of B whatever way the Conv1D stores its weight (PEFT's fan_in_fan_out).
        c_attn's adapter is applied as three, one for each of q, k and v with the whole A
        and that part's rows of B: the same outputs, but A's gradient comes apart by part
        (under ".../c_attn/q/A" and so on), as a model that adapts q, k and v one by one
        (Whet) trains it."""
        for module, (a, b) in adapters.items():
            key = module.replace(".", "/")
            pieces = (zip(["/q", "/k", "/v"], b.split(self.hidden)) if module.endswith(".attn.c_attn")
                      else [("", b)])
            for part, rows in pieces:
                self.lora[key + part + "/A"] = torch.nn.Parameter(a.clone())
                self.lora[key + part + "/B"] = torch.nn.Parameter(rows.clone())
        self.lora_scale = scale

    def p(self, name):
        return self.params[name.replace(".", "/")]

    def conv1d(self, x, module):
        """x @ W + b, plus scale * x @ A.T @ B.T where the module has an adapter (c_attn's
        parts' side by side, as q, k and v are)."""
        out = x @ self.p(module + ".weight") + self.p(module + ".bias")
        key = module.replace(".", "/")
        parts = [""] if key + "/A" in self.lora else ["/q", "/k", "/v"] if key + "/q/A" in self.lora else []
        if parts:
            out = out + self.lora_scale * torch.cat([(x @ self.lora[key + p + "/A"].T) @ self.lora[key + p + "/B"].T
                                                     for p in parts], -1)
        return out

    def layer_norm(self, x, module):
        mean = x.mean(-1, keepdim=True)
        var = (x - mean).pow(2).mean(-1, keepdim=True)
        return (x - mean) * torch.rsqrt(var + self.eps) * self.p(module + ".weight") + self.p(module + ".bias")

    def forward(self, ids, positions=None, segment_begin=None, hidden=False):
        """Logits (T, vocab), or with hidden the ln_f output (T, hidden), as Llama.forward."""
        t = ids.shape[0]
        positions = torch.arange(t) if positions is None else positions
        segment_begin = torch.zeros(t, dtype=torch.long) if segment_begin is None else segment_begin
        x = self.p("transformer.wte.weight")[ids] + self.p("transformer.wpe.weight")[positions]
        keys = torch.arange(t)
        mask = (keys[None, :] <= keys[:, None]) & (keys[None, :] >= segment_begin[:, None])
        for i in range(self.layers):
            pre = f"transformer.h.{i}."
            h = self.layer_norm(x, pre + "ln_1")
            q, k, v = (m.view(t, self.heads, self.head_dim).transpose(0, 1)
                       for m in self.conv1d(h, pre + "attn.c_attn").split(self.hidden, -1))
            scores = (q @ k.transpose(1, 2)) / math.sqrt(self.head_dim)
            scores = scores.masked_fill(~mask, float("-inf"))
            attended = (scores.softmax(-1) @ v).transpose(0, 1).reshape(t, self.hidden)
            x = x + self.conv1d(attended, pre + "attn.c_proj")
            h = self.layer_norm(x, pre + "ln_2")
            inner = torch.nn.functional.gelu(self.conv1d(h, pre + "mlp.c_fc"), approximate="tanh")
            x = x + self.conv1d(inner, pre + "mlp.c_proj")
        x = self.layer_norm(x, "transformer.ln_f")
        if hidden:
            return x
        head = self.p("transformer.wte.weight") if self.tied else self.p("lm_head.weight")
        return x @ head.T


def reference_model(config, tensors):
    """The reference of the config's family."""
    return GPT2(config, tensors) if config.get("model_type") == "gpt2" else Llama(config, tensors)


def write_reference(path, sequences, logits):
    """reference.json (sequences, logits shapes) beside logits.bin (float32, little-endian, concatenated)."""
    with open(os.path.join(path, "logits.bin"), "wb") as f:
        for l in logits:
            f.write(l.detach().to(torch.float32).contiguous().numpy().tobytes())
    with open(os.path.join(path, "reference.json"), "w") as f:
        json.dump({"sequences": sequences, "vocab_size": int(logits[0].shape[-1])}, f)
