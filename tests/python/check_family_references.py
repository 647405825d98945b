#!/usr/bin/env python3
"""Holds the hand-written family reference (llama_reference.py), whose logits the
C++ tests are held to, against the families' own implementations on the tiny
models make_tiny_models.py wrote:

  --peer transformers  Qwen2, Mistral (sliding window), Phi-3 (fused files,
                       longrope, window), GPT-2 (GPT2LMHeadModel: Conv1D, c_attn,
                       learned positions, LayerNorm) in Hugging Face transformers,
                       float64, eager attention (venv-test); and the softcaps of
                       gemma3_softcap in transformers' Gemma 2 (Gemma2ForCausalLM, the
                       same weights without the q/k norms: venv-test's transformers 4.46
                       has no Gemma 3), logits and the gradients of a loss
  --peer llamacpp      Gemma 3 in llama.cpp (llama-cpp-python, venv-llamacpp), from
                       the GGUF file, float32: GGUF's 1 + w norms, its sliding-layer
                       pattern and local rope base as llama.cpp assumes them;
                       Phi-3 from its GGUF (attn_qkv, stacked ffn_up, rope factors);
                       and GPT-2 from its GGUF (position_embd, attn_qkv, norm biases)

Exits non-zero with the variant, sequence and largest difference when they differ.
"""
import argparse
import json
import os
import sys

import numpy as np

# Float32 logits of magnitude ~5 against float64; llama.cpp also computes GELU from an fp16 table,
# which costs ~3e-3, while a window one key off, a wrong rope base or query scale differs by 0.8 to 4.
TOLERANCE = {"transformers": 1e-5, "llamacpp": 1e-2}
VARIANTS = {"transformers": ["qwen2_bias", "mistral_window", "phi3_longrope", "gpt2_tiny"],
            "llamacpp": ["gemma3_sandwich", "phi3_longrope", "gpt2_tiny"]}


# Where a peer defines a variant differently, the sequences it is held to, and why.
COMPARED = {
    ("transformers", "phi3_longrope"): (
        lambda n: n > 16, "transformers picks longrope's short factors for a sequence within the original 16 "
                          "positions; Whet, as llama.cpp does, picks the factors once per model"),
    ("llamacpp", "phi3_longrope"): (lambda n: n <= 20, "llama.cpp does not apply Phi-3's sliding window of 20"),
}


def reference_logits(variant_dir):
    with open(os.path.join(variant_dir, "reference.json")) as f:
        ref = json.load(f)
    flat = np.fromfile(os.path.join(variant_dir, "logits.bin"), dtype="<f4")
    vocab, out, at = ref["vocab_size"], [], 0
    for seq in ref["sequences"]:
        n = len(seq) * vocab
        out.append(flat[at:at + n].reshape(len(seq), vocab))
        at += n
    return ref["sequences"], out


def transformers_logits(variant_dir, sequences):
    import torch
    import transformers
    model = transformers.AutoModelForCausalLM.from_pretrained(
        os.path.join(variant_dir, "hf"), torch_dtype=torch.float64, attn_implementation="eager")
    with torch.no_grad():
        return [model(torch.tensor([s])).logits[0].numpy() for s in sequences]


def gemma2_softcap_failures(tiny_dir):
    """The softcaps as transformers' Gemma 2 applies them (scores after the query scale,
    before the mask; logits after the head) against the reference's: gemma3_softcap's
    config and weights as a Gemma 2 (no q/k norms, one rope base, every other layer
    sliding), in float64. Logits on the reference sequences, then the gradient of the
    mean cross-entropy of the longest one for every weight, within 1e-4 of its largest
    entry. Returns the number of failures."""
    import torch
    import transformers
    from llama_reference import Llama, read_hf_dir
    variant_dir = os.path.join(tiny_dir, "gemma3_softcap")
    config, tensors = read_hf_dir(os.path.join(variant_dir, "hf"))
    tensors = {n: t for n, t in tensors.items() if "q_norm" not in n and "k_norm" not in n}
    config = dict(config, model_type="gemma2", architectures=["Gemma2ForCausalLM"])
    for key in ("layer_types", "rope_local_base_freq", "sliding_window_pattern"):
        config.pop(key, None)
    peer = transformers.Gemma2ForCausalLM(transformers.Gemma2Config(**config, attn_implementation="eager")).double()
    missing, unexpected = peer.load_state_dict({n: t.double() for n, t in tensors.items()}, strict=False)
    assert set(missing) <= {"lm_head.weight"} and not unexpected, (missing, unexpected)  # the head is tied
    peer.tie_weights()
    ours = Llama(config, tensors).double()
    sequences, _ = reference_logits(variant_dir)
    failures = 0
    for i, s in enumerate(sequences):
        with torch.no_grad():
            diff = float((ours(torch.tensor(s)) - peer(torch.tensor([s]), use_cache=False).logits[0]).abs().max())
        ok = diff <= TOLERANCE["transformers"]
        failures += not ok
        print(f"gemma3_softcap as Gemma 2, sequence {i} ({len(s)} tokens): max |reference - transformers| = "
              f"{diff:.2e} {'ok' if ok else 'FAIL'}")
    longest = torch.tensor(max(sequences, key=len))
    loss = lambda logits: torch.nn.functional.cross_entropy(logits[:-1], longest[1:])
    loss(ours(longest)).backward()
    loss(peer(longest[None], use_cache=False).logits[0]).backward()
    theirs = dict(peer.named_parameters())
    worst = 0.0
    for name, p in ours.params.items():
        want = theirs[name.replace("/", ".")].grad
        worst = max(worst, float((p.grad - want).abs().max() / want.abs().max()))
    ok = worst <= 1e-4
    failures += not ok
    print(f"gemma3_softcap as Gemma 2, gradients: max |reference - transformers| / max |transformers| = {worst:.2e} "
          f"{'ok' if ok else 'FAIL'}")
    return failures


def llamacpp_logits(variant_dir, sequences, lora_path=None):
    import llama_cpp
    adapter = {"lora_path": lora_path} if lora_path else {}
    model = llama_cpp.Llama(model_path=os.path.join(variant_dir, "model-f32.gguf"), n_ctx=64, n_batch=64, type_k=0, type_v=0,  # an F32 KV cache, not the default F16
                            logits_all=True, verbose=False, **adapter)
    out = []
    for s in sequences:
        model.reset()
        model.eval(s)
        out.append(np.array(model.scores[:len(s)], dtype=np.float64))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("tiny_dir")
    parser.add_argument("--peer", choices=sorted(VARIANTS), required=True)
    args = parser.parse_args()
    peer = transformers_logits if args.peer == "transformers" else llamacpp_logits
    failed = False
    for variant in VARIANTS[args.peer]:
        variant_dir = os.path.join(args.tiny_dir, variant)
        sequences, want = reference_logits(variant_dir)
        got = peer(variant_dir, sequences)
        compared, why = COMPARED.get((args.peer, variant), (lambda n: True, ""))
        for i, (w, g) in enumerate(zip(want, got)):
            if not compared(len(sequences[i])):
                print(f"{variant} sequence {i} ({len(sequences[i])} tokens): not compared: {why}")
                continue
            diff = float(np.max(np.abs(w - g)))
            ok = diff <= TOLERANCE[args.peer]
            failed |= not ok
            print(f"{variant} sequence {i} ({len(sequences[i])} tokens): max |reference - {args.peer}| = {diff:.2e}"
                  f" {'ok' if ok else 'FAIL'}")
    if args.peer == "transformers":
        failed |= gemma2_softcap_failures(args.tiny_dir) > 0
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
