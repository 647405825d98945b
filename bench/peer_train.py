#!/usr/bin/env python3
"""The peer that `whet bench train` is compared with: the same training step in
PyTorch + Hugging Face transformers + PEFT on the CPU, on the same weights (the
f32 Hugging Face directory `whet convert` writes) and the same batch shape.

One step = forward, mean cross-entropy over all positions, backward, clip to
global norm 1.0, AdamW (lr 2e-4, no weight decay, as Whet's default), zero grad.
Each precision (fp32, bf16 autocast) runs in a child process so that its peak
RSS is its own; the faster one is reported, and the JSON line says which and
carries the other under "other_precision".
Run it with bench/setup_peer.sh's virtualenv (bench/run_train.sh does).
"""
import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def head_dim(c):
    return getattr(c, "head_dim", None) or c.hidden_size // c.num_attention_heads


def matmul_parameters(c):
    # Weights that multiply activations: the 7 projections of every block and the LM head.
    q, kv = c.num_attention_heads * head_dim(c), c.num_key_value_heads * head_dim(c)
    h, f = c.hidden_size, c.intermediate_size
    return c.num_hidden_layers * (2 * h * q + 2 * h * kv + 3 * h * f) + c.vocab_size * h


def attention_flops(c, keys):
    # q.k and p.v for one query over `keys` keys, in every layer and head.
    return 4 * c.num_hidden_layers * c.num_attention_heads * head_dim(c) * keys


def forward_flops_per_token(model, position):
    # What `whet bench` counts: 2 per weight multiply-add, plus attention over the history.
    return 2 * matmul_parameters(model.config) + attention_flops(model.config, position + 1)


def train_flops_per_step(model, lora, adapter_params, seq):
    # The formula `whet bench train` prints: full 6 x matmul params per token, LoRA
    # 4 x matmul params + 6 x adapter params, plus causal attention at 3 x its forward.
    matmul = matmul_parameters(model.config)
    per_token = 4 * matmul + 6 * adapter_params if lora else 6 * matmul
    return per_token * seq + 3 * attention_flops(model.config, seq * (seq + 1) / 2)


def run_one(args):
    import torch
    import torch.nn.functional as F
    import transformers
    from transformers import LlamaForCausalLM

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    # transformers' default attention on torch 2.x: scaled_dot_product_attention.
    model = LlamaForCausalLM.from_pretrained(args.model_dir, dtype=torch.float32)
    lora = args.method == "lora"
    if lora:
        import peft

        config = peft.LoraConfig(r=args.lora_r, lora_alpha=2 * args.lora_r, lora_dropout=0.0,
                                 target_modules=PROJECTIONS, bias="none", task_type="CAUSAL_LM")
        model = peft.get_peft_model(model, config)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    trainable = sum(p.numel() for p in params)
    optimizer = torch.optim.AdamW(params, lr=2e-4, weight_decay=0.0)

    # torch's CPU generator is mt19937 and randint draws random() % range, so these are
    # the very ids `whet bench train` draws with std::mt19937(1): equal first losses show it.
    generator = torch.Generator().manual_seed(1)
    tokens = torch.randint(0, model.config.vocab_size, (1, args.seq + 1), generator=generator)
    ids, targets = tokens[:, :-1], tokens[:, 1:]
    bf16 = args.precision == "bf16"

    losses, times = [], []
    for i in range(args.warmup + args.steps):
        if i == 1 and args.give_up_ms and 1e3 * times[0] > args.give_up_ms:
            return {"precision": "bf16-autocast" if bf16 else "fp32", "skipped_after_first_step_ms": 1e3 * times[0]}
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = model(input_ids=ids).logits
        loss = F.cross_entropy(logits.float().view(-1, logits.shape[-1]), targets.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - start)
        losses.append(loss.item())
    step_s = statistics.median(times[args.warmup:])
    peak = args.peak_bf16_gflops if bf16 else args.peak_f32_gflops
    flops = train_flops_per_step(model, lora, trainable if lora else 0, args.seq)
    result = {
        "bench": "train", "engine": "torch", "model": args.model_dir, "method": args.method,
        "weights": "f32", "precision": "bf16-autocast" if bf16 else "fp32", "seq": args.seq,
        "steps": args.steps, "warmup": args.warmup, "threads": torch.get_num_threads(),
        "trainable_params": trainable, "ms_per_step": 1e3 * step_s, "tokens_per_s": args.seq / step_s,
        "mfu": flops / step_s / 1e9 / peak if peak else None,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "first_loss": losses[0], "last_loss": losses[-1],
        "torch": torch.__version__, "transformers": transformers.__version__,
    }
    if lora:
        result["lora_r"] = args.lora_r
        result["peft"] = peft.__version__
    return result


def run_child(script, precision, extra=()):
    """`script` (this file or a bench/peer_train_*.py) again with this command line, at one precision."""
    argv = [a for a in sys.argv[1:] if a != "--json"] + ["--precision", precision, "--json", *extra]
    out = subprocess.run([sys.executable, script] + argv, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def run_both(script=__file__):
    # Where the CPU lacks bf16 matmul (AVX2 only), bf16 autocast can be many
    # times slower than fp32, and measuring all its steps would dominate the run. So
    # bf16 stops after its first (warm-up) step when that step alone took more than
    # twice the fp32 median: a first step is the slowest, but not by that much.
    fp32 = run_child(script, "fp32")
    bf16 = run_child(script, "bf16", ["--give-up-ms", str(2 * fp32["ms_per_step"])])
    if "skipped_after_first_step_ms" in bf16 or fp32["tokens_per_s"] >= bf16["tokens_per_s"]:
        best, other = fp32, bf16
    else:
        best, other = bf16, fp32
    best["other_precision"] = other
    return best


def print_trl_result(r, tokens_key, ms_columns=()):
    """A TRL peer's JSON line as a table: tokens a step (r[tokens_key]), time, rate, MFU,
    peak RSS, and the parts of the step named in ms_columns (keys holding milliseconds)."""
    mfu = f"{100 * r['mfu']:.1f}%" if r["mfu"] is not None else "n/a"
    parts = [c.removesuffix("_ms") + " ms" for c in ms_columns]
    print(f"TRL {r['trl']}, torch {r['torch']}, {r['threads']} threads, precision {r['precision']}")
    print(f"{'method':<8} {'tokens':>6} {'ms/step':>10}" + "".join(f" {p:>10}" for p in parts) +
          f" {'tokens/s':>10} {'MFU':>8} {'peak RSS':>10}")
    print(f"{r['method']:<8} {r[tokens_key]:>6} {r['ms_per_step']:>10.0f}" +
          "".join(f" {r[c]:>10.0f}" for c in ms_columns) +
          f" {r['tokens_per_s']:>10.1f} {mfu:>8} {r['peak_rss_mb']:>6.0f} MiB")


def run_trl_peer(args, script, run_one, tokens_key, ms_columns=()):
    """A TRL peer's measurement (run_one(args), or both precisions from `script` with
    --precision best), printed as a JSON line with --json, else as a table."""
    r = run_both(script) if args.precision == "best" else run_one(args)
    if args.json:
        print(json.dumps(r))
    else:
        print_trl_result(r, tokens_key, ms_columns)


def add_step_arguments(parser):
    """The options the peers share: steps, LoRA, threads, precision, output."""
    parser.add_argument("--steps", type=int, default=5, help="measured steps; the median is reported")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--lora-r", type=int, default=16, help="alpha = 2r, dropout 0, all 7 projections")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--precision", choices=["fp32", "bf16", "best"], default="best",
                        help="best: run fp32 and bf16 autocast, each in its own process, report the faster")
    parser.add_argument("--peak-f32-gflops", type=float, default=0.0, help="machine peak for MFU (whet bench prints it)")
    parser.add_argument("--peak-bf16-gflops", type=float, default=0.0)
    parser.add_argument("--give-up-ms", type=float, default=0.0,
                        help="stop after the first step if it took longer than this (0: never)")
    parser.add_argument("--json", action="store_true", help="one JSON object per line instead of a table")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir", help="Hugging Face directory with f32 weights")
    parser.add_argument("--method", choices=["lora", "full"], default="lora")
    parser.add_argument("--seq", type=int, default=512)
    add_step_arguments(parser)
    args = parser.parse_args()

    r = run_both() if args.precision == "best" else run_one(args)
    if args.json:
        print(json.dumps(r))
        return
    mfu = f"{100 * r['mfu']:.1f}%" if r["mfu"] is not None else "n/a"
    print(f"torch {r['torch']}, transformers {r['transformers']}, {r['threads']} threads, precision {r['precision']}")
    print(f"{'method':<8} {'seq':>6} {'ms/step':>10} {'tokens/s':>10} {'MFU':>8} {'peak RSS':>10}")
    print(f"{r['method']:<8} {r['seq']:>6} {r['ms_per_step']:>10.0f} {r['tokens_per_s']:>10.1f} {mfu:>8} "
          f"{r['peak_rss_mb']:>6.0f} MiB")


if __name__ == "__main__":
    main()
