#!/usr/bin/python3
"""PyTorch autograd gradients of the causal-LM loss on the tiny models, the
reference for Whet's backward pass.

For each tiny variant directory made by make_tiny_models.py, writes
  gradients/sequence.json    a packed sequence of two examples: ids, targets
                             (-1 = no loss), positions, segment_begin; the loss
  gradients/full.safetensors d(loss)/d(weight) for every base weight (HF names), float32;
                             GPT-2's as Whet holds the weights (whet_layout)
  gradients/lora/            a PEFT adapter (adapter_config.json, adapter_model.safetensors)
                             with random non-zero A and B on q, v, gate and down
                             (a family that fuses projections: on qkv_proj, gate_up_proj, down_proj;
                             GPT-2: on all four Conv1D modules of a block, fan_in_fan_out)
  gradients/lora_grads.safetensors   d(loss)/d(A), d(loss)/d(B) (PEFT names) with that adapter;
                             for a fused module, each part's, under the part's name (GPT-2's
                             under the names Whet gives its adapters, whet_lora_layout)
  gradients/lora.json        the loss with the adapter
  gradients/classifier/      (not for GPT-2) a sequence-classification head (head.safetensors: weight, bias) on
                             one example (example.json: ids, label, labels, and the loss per
                             pooling); {last,mean}.safetensors: d(loss)/d(head) and
                             d(loss)/d(every base weight) with that pooling

The loss is the mean cross-entropy over targets >= 0; everything runs in float64.
"""
import argparse
import json
import os

import torch

from llama_reference import FUSED, read_hf_dir, reference_model, split_fused
from make_tiny_models import LLAMA_VARIANTS, VARIANTS, write_safetensors

LORA_RANK, LORA_ALPHA = 4, 8.0
LORA_MODULES = ["self_attn.q_proj", "self_attn.v_proj", "mlp.gate_proj", "mlp.down_proj"]
# A family that fuses projections (Phi-3) has one adapter per fused module, as PEFT
# puts it there: the fixture adapts these, each part of a fused module applying the
# whole A and its own rows of B (per_part below).
FUSED_LORA_MODULES = ["self_attn.qkv_proj", "mlp.gate_up_proj", "mlp.down_proj"]
# GPT-2's fixture adapts every Conv1D module of a block, so every projection Whet
# adapts on it (q, k and v in c_attn, the attention's output, the MLP's two).
GPT2_LORA_MODULES = ["attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"]
# Where Whet's adapter on each of those projections sits under the Llama family's
# names it gives every adapter (for_each_lora_tensor): c_attn's parts apart
# (GPT2.add_lora), the rest by the role each plays in a Llama block.
GPT2_WHET_MODULES = {"attn.c_attn.q": "self_attn.q_proj", "attn.c_attn.k": "self_attn.k_proj",
                     "attn.c_attn.v": "self_attn.v_proj", "attn.c_proj": "self_attn.o_proj",
                     "mlp.c_fc": "mlp.up_proj", "mlp.c_proj": "mlp.down_proj"}


def packed_sequence(vocab, seed):
    """Two examples of 14 and 10 tokens; loss on each one's second half, none at its last token."""
    g = torch.Generator().manual_seed(seed)
    lengths = [14, 10]
    ids, targets, positions, segment_begin = [], [], [], []
    for n in lengths:
        start = len(ids)
        tokens = torch.randint(0, vocab, (n,), generator=g).tolist()
        ids += tokens
        for i in range(n):
            trains = i >= n // 2 and i + 1 < n
            targets.append(tokens[i + 1] if trains else -1)
            positions.append(i)
            segment_begin.append(start)
    return {"ids": ids, "targets": targets, "positions": positions, "segment_begin": segment_begin}


def loss_of(model, seq):
    logits = model(torch.tensor(seq["ids"]), torch.tensor(seq["positions"]), torch.tensor(seq["segment_begin"]))
    targets = torch.tensor(seq["targets"])
    return torch.nn.functional.cross_entropy(logits[targets >= 0], targets[targets >= 0])


def random_adapter(config, seed):
    g = torch.Generator().manual_seed(seed)
    head_dim = config.get("head_dim") or config["hidden_size"] // config["num_attention_heads"]
    dims = {"self_attn.q_proj": (config["num_attention_heads"] * head_dim, config["hidden_size"]),
            "self_attn.v_proj": (config["num_key_value_heads"] * head_dim, config["hidden_size"]),
            "mlp.gate_proj": (config["intermediate_size"], config["hidden_size"]),
            "mlp.down_proj": (config["hidden_size"], config["intermediate_size"])}
    adapters = {}
    for layer in range(config["num_hidden_layers"]):
        for module in LORA_MODULES:
            out, inp = dims[module]
            a = (torch.randn(LORA_RANK, inp, generator=g) / inp ** 0.5).float().double()
            b = (0.1 * torch.randn(out, LORA_RANK, generator=g)).float().double()
            adapters[f"model.layers.{layer}.{module}"] = (a, b)
    return adapters


def random_module_adapter(config, tensors, seed):
    """Random A and B on the fused family's modules (FUSED_LORA_MODULES) or GPT-2's,
    shaped by their weights: [out, in], GPT-2's Conv1D [in, out]."""
    gpt2 = config.get("model_type") == "gpt2"
    layers, modules = (("transformer.h", GPT2_LORA_MODULES) if gpt2 else ("model.layers", FUSED_LORA_MODULES))
    g = torch.Generator().manual_seed(seed)
    adapters = {}
    for layer in range(config["n_layer"] if gpt2 else config["num_hidden_layers"]):
        for module in modules:
            shape = tensors[f"{layers}.{layer}.{module}.weight"].shape
            out, inp = reversed(shape) if gpt2 else shape
            a = (torch.randn(LORA_RANK, inp, generator=g) / inp ** 0.5).float().double()
            b = (0.1 * torch.randn(out, LORA_RANK, generator=g)).float().double()
            adapters[f"{layers}.{layer}.{module}"] = (a, b)
    return adapters


def per_part(config, adapters):
    """Fused modules' adapters as PEFT applies them to the parts: the whole A, the part's rows of B."""
    parts = {}
    for module, (a, b) in adapters.items():
        for name, rows in split_fused(config, {module + ".weight": b}).items():
            parts[name[:-len(".weight")]] = (a, rows)
    return parts


def lora_grads_by_peft_name(model):
    """The gradients of the model's LoRA A and B matrices, under PEFT's tensor names."""
    grads = {}
    for key, p in model.lora.items():
        module, which = key.rsplit("/", 1)
        grads[f"base_model.model.{module.replace('/', '.')}.lora_{which}.weight"] = p.grad
    return grads


def whet_lora_layout(config, grads):
    """GPT-2's LoRA gradients under the names Whet gives its adapters (for_each_lora_tensor):
    the Llama family's, model.layers.N and the projection's name there (GPT2_WHET_MODULES)."""
    if config.get("model_type") != "gpt2":
        return grads
    out = {}
    for name, g in grads.items():
        layer, module = name[len("base_model.model.transformer.h."):].split(".", 1)
        module, which = module.split(".lora_")
        out[f"base_model.model.model.layers.{layer}.{GPT2_WHET_MODULES[module]}.lora_{which}"] = g
    return out


def write_peft_adapter(path, adapters, fan_in_fan_out=False):
    os.makedirs(path, exist_ok=True)
    tensors = {}
    for module, (a, b) in adapters.items():
        tensors[f"base_model.model.{module}.lora_A.weight"] = a
        tensors[f"base_model.model.{module}.lora_B.weight"] = b
    write_safetensors(os.path.join(path, "adapter_model.safetensors"), tensors)
    config = {"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": LORA_RANK, "lora_alpha": LORA_ALPHA,
              "lora_dropout": 0.0, "target_modules": sorted({m.rsplit(".", 1)[1] for m in adapters}),
              "use_rslora": False, "bias": "none", "fan_in_fan_out": fan_in_fan_out, "base_model_name_or_path": ""}
    with open(os.path.join(path, "adapter_config.json"), "w") as f:
        json.dump(config, f, indent=2)


CLASSIFIER_LABELS = 3


def make_classifier(variant_dir, config, tensors, seed):
    out = os.path.join(variant_dir, "gradients", "classifier")
    os.makedirs(out, exist_ok=True)
    g = torch.Generator().manual_seed(seed)
    hidden = config["hidden_size"]
    ids = torch.randint(0, config["vocab_size"], (11,), generator=g).tolist()
    label = 2
    head = {"weight": torch.randn(CLASSIFIER_LABELS, hidden, generator=g).float().double() / hidden ** 0.5,
            "bias": (0.1 * torch.randn(CLASSIFIER_LABELS, generator=g)).float().double()}
    write_safetensors(os.path.join(out, "head.safetensors"), head)
    losses = {}
    for pooling in ["last", "mean"]:
        model = reference_model(config, tensors).double()
        weight = head["weight"].clone().requires_grad_(True)
        bias = head["bias"].clone().requires_grad_(True)
        x = model(torch.tensor(ids), hidden=True)
        pooled = x[-1] if pooling == "last" else x.mean(0)
        logits = pooled @ weight.T + bias
        loss = torch.nn.functional.cross_entropy(logits[None], torch.tensor([label]))
        loss.backward()
        # The LM head takes no part: an untied one has no gradient.
        grads = {name.replace("/", "."): p.grad for name, p in model.params.items() if p.grad is not None}
        grads["classifier.weight"] = weight.grad
        grads["classifier.bias"] = bias.grad
        write_safetensors(os.path.join(out, f"{pooling}.safetensors"), grads)
        losses[pooling] = loss.item()
    with open(os.path.join(out, "example.json"), "w") as f:
        json.dump({"ids": ids, "label": label, "labels": CLASSIFIER_LABELS, "loss": losses}, f)


def whet_layout(config, grads):
    """GPT-2's gradients as Whet holds its weights, under the names Whet gives them
    (hf_tensor_name): Conv1D matrices transposed to [out, in], and c_attn's q, k and v
    apart under Llama's part names after transformer.h.N, as Phi-3's parts are."""
    if config.get("model_type") != "gpt2":
        return grads
    out = {}
    for name, g in grads.items():
        if ".attn.c_attn." in name:
            prefix, kind = name.split(".attn.c_attn.")
            for part, piece in zip("qkv", (g.T if g.dim() == 2 else g).split(config["n_embd"])):
                out[f"{prefix}.self_attn.{part}_proj.{kind}"] = piece
        else:
            out[name] = g.T if g.dim() == 2 and name.startswith("transformer.h.") else g
    return out


def make(variant_dir, seed):
    out = os.path.join(variant_dir, "gradients")
    os.makedirs(out, exist_ok=True)
    config, tensors = read_hf_dir(os.path.join(variant_dir, "hf"))
    seq = packed_sequence(config["vocab_size"], seed)

    model = reference_model(config, tensors).double()
    loss = loss_of(model, seq)
    loss.backward()
    grads = {name.replace("/", "."): p.grad for name, p in model.params.items()}
    write_safetensors(os.path.join(out, "full.safetensors"), whet_layout(config, grads))
    with open(os.path.join(out, "sequence.json"), "w") as f:
        json.dump(dict(seq, loss=loss.item()), f)
    gpt2 = config.get("model_type") == "gpt2"
    fused = any(name.endswith(f + ".weight") for name in tensors for f in FUSED)
    adapters = random_module_adapter(config, tensors, seed + 1) if fused or gpt2 else random_adapter(config, seed + 1)
    write_peft_adapter(os.path.join(out, "lora"), adapters, fan_in_fan_out=gpt2)
    model = reference_model(config, tensors).double()
    # The Llama reference splits fused weights into their parts, so the adapter goes
    # on the parts; GPT-2's keeps c_attn whole and parts its adapter itself.
    model.add_lora(per_part(config, adapters) if fused else adapters, LORA_ALPHA / LORA_RANK)
    for p in model.params.values():
        p.requires_grad_(False)
    loss = loss_of(model, seq)
    loss.backward()
    write_safetensors(os.path.join(out, "lora_grads.safetensors"), whet_lora_layout(config, lora_grads_by_peft_name(model)))
    with open(os.path.join(out, "lora.json"), "w") as f:
        json.dump({"loss": loss.item()}, f)

    if not gpt2:  # the classifier references are the Llama family's
        make_classifier(variant_dir, config, tensors, seed + 2)


def for_each_variant(doc, make, first_seed, name, all_families=False):
    """The command line of a per-variant reference script: make(variant_dir, seed) for every
    plain Llama variant, and with all_families for the other families' too (after them, so
    the Llama variants keep their seeds)."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("tiny_dir", help="directory of make_tiny_models.py's variants")
    args = parser.parse_args()
    variants = sorted(LLAMA_VARIANTS)
    if all_families:
        variants += [v for v, _ in VARIANTS if v not in LLAMA_VARIANTS]
    for index, variant in enumerate(variants):
        make(os.path.join(args.tiny_dir, variant), first_seed + 10 * index)
    print(f"{name}: {len(variants)} variants in {args.tiny_dir}")


if __name__ == "__main__":
    for_each_variant(__doc__, make, 3000, "make_gradient_references", all_families=True)
