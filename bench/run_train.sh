#!/usr/bin/env bash
# Training benchmark of the default model: Whet against PyTorch + transformers +
# PEFT (bench/peer_train.py) doing the same step (forward, backward, clip, AdamW,
# zero grad) on the same weights and batch shape, LoRA r=16 on all linear layers
# and full fine-tuning. Each run is its own process so that peak RSS is its own.
# Raw JSON lines go to stderr as they arrive; the combined table to stdout.
# Usage: bench/run_train.sh [path/to/whet]   (SEQ, STEPS, WARMUP, WEIGHTS override the settings)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
whet="${1:-build/whet}"
seq="${SEQ:-512}" steps="${STEPS:-5}" warmup="${WARMUP:-2}" rank=16
cache="${WHET_CACHE:-$HOME/.cache/whet}"
gguf="$cache/models/SmolLM2-135M-Instruct.Q4_1.gguf"
hf="$cache/SmolLM2-135M-Instruct-f32-hf"

[ -f "$hf/model.safetensors" ] || "$whet" convert "$gguf" "$hf" --to hf --dtype f32 >&2
venv="$(bash "$here/setup_peer.sh")"
results="$(mktemp)"
trap 'rm -f "$results"' EXIT
settings=(--seq "$seq" --steps "$steps" --warmup "$warmup" --lora-r "$rank" --json)
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"

# LoRA over each way of holding the frozen base (WEIGHTS: native = the file's Q4_1,
# decoded on use; bf16 = converted at load, multiplied in bf16); full trains f32
# masters, multiplied as they are or as a bf16 copy (FULL_WEIGHTS).
for weights in ${WEIGHTS:-native bf16}; do
  "$whet" bench train "$gguf" --method lora --weights "$weights" "${settings[@]}" | tee -a "$results" >&2
done
for weights in ${FULL_WEIGHTS:-f32 bf16}; do
  "$whet" bench train "$gguf" --method full --weights "$weights" "${settings[@]}" | tee -a "$results" >&2
done
# MFU of both engines against one machine peak: the first one Whet measured.
peaks="$(python3 -c 'import json,sys; r=json.loads(open(sys.argv[1]).readline()); print(r["peak_f32_gflops"], r["peak_bf16_gflops"])' "$results")"
read -r peak_f32 peak_bf16 <<<"$peaks"
for method in lora full; do
  "$venv/bin/python" "$here/peer_train.py" "$hf" \
    --method "$method" "${settings[@]}" --threads 2 --peak-f32-gflops "$peak_f32" --peak-bf16-gflops "$peak_bf16" |
    tee -a "$results" >&2
done

python3 - "$results" "$load_before" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'EOF'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
peer = {r["method"]: r for r in rows if r["engine"] == "torch"}
first = rows[0]
# Each whet process measures its own peak, which wanders with load; every MFU below is
# against the first one, the peak the peer runs were given.
def mfu(r):
    kind = "peak_bf16_gflops" if r.get("multiplies", r["weights"]) == "bf16" else "peak_f32_gflops"
    return r["mfu"] * r[kind] / first[kind] if kind in r else r["mfu"]
print(f"SmolLM2-135M-Instruct, seq {first['seq']}, median of {first['steps']} steps after {first['warmup']} warm-up, "
      f"{first['threads']} threads; machine peak {first['peak_f32_gflops']:.0f} GFLOP/s f32, "
      f"{first['peak_bf16_gflops']:.0f} GFLOP/s bf16 (oneDNN)")
print(f"machine {first['machine']}")
print(f"{'engine':<7} {'method':<7} {'holds':<18} {'tokens/s':>9} {'ms/step':>9} {'peak RSS':>10} {'MFU':>7} {'whet/peer':>10}")
for r in rows:
    holds = (f"{r['weights']} weights" + (f" x {r['multiplies']}" if "multiplies" in r else "")
             if r["engine"] == "whet" else r["precision"])
    ratio = f"{r['tokens_per_s'] / peer[r['method']]['tokens_per_s']:.2f}x" if r["engine"] == "whet" else ""
    print(f"{r['engine']:<7} {r['method']:<7} {holds:<18} {r['tokens_per_s']:>9.1f} {r['ms_per_step']:>9.0f} "
          f"{r['peak_rss_mb']:>6.0f} MiB {100 * mfu(r):>6.1f}% {ratio:>10}")
for r in rows:
    other = r.get("other_precision")
    if other and "skipped_after_first_step_ms" in other:
        print(f"torch {r['method']}: {other['precision']} stopped after its first step "
              f"({other['skipped_after_first_step_ms'] / 1e3:.0f} s, over twice the {r['precision']} median)")
    elif other:
        print(f"torch {r['method']}: {other['precision']} ran at {other['tokens_per_s']:.1f} tokens/s")
print(f"peer: torch {peer['lora']['torch']}, transformers {peer['lora']['transformers']}, peft {peer['lora']['peft']}; "
      f"load average {sys.argv[2]} before, {sys.argv[3]} after")
EOF
