#!/usr/bin/env bash
# Preference-training benchmark of the default model: `whet bench train --method
# dpo` against Hugging Face TRL's DPOTrainer (bench/peer_train_dpo.py, in
# scripts/setup_trl_venv.sh's virtualenv: PyPI torch 2.x) on the same f32 weights
# and the same pair of ids (a prompt as long as each of its two answers), LoRA
# r=16 on all 7 projections. Each run is its own process, so peak RSS is its own.
# Raw JSON lines go to stderr as they arrive; the combined table to stdout.
# Usage: bench/run_train_preference.sh [path/to/whet]   (SEQ, STEPS, WARMUP override the settings)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
whet="${1:-build/whet}"
seq="${SEQ:-512}" steps="${STEPS:-5}" warmup="${WARMUP:-2}" rank=16
cache="${WHET_CACHE:-$HOME/.cache/whet}"
gguf="$cache/models/SmolLM2-135M-Instruct.Q4_1.gguf"
hf="$cache/SmolLM2-135M-Instruct-f32-hf"
# The online method (grpo) joins this list when `whet bench train --method grpo` exists.
methods=(dpo)

[ -f "$hf/model.safetensors" ] || "$whet" convert "$gguf" "$hf" --to hf --dtype f32 >&2
"$here/../scripts/setup_trl_venv.sh" >&2
python="$cache/venv-trl/bin/python"
results="$(mktemp)"
trap 'rm -f "$results"' EXIT
settings=(--seq "$seq" --steps "$steps" --warmup "$warmup" --lora-r "$rank" --json)
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"

for method in "${methods[@]}"; do
  "$whet" bench train "$gguf" --weights f32 --method "$method" "${settings[@]}" | tee -a "$results" >&2
done
# MFU of both engines against one machine peak: the first one Whet measured.
peaks="$(python3 -c 'import json,sys; r=json.loads(open(sys.argv[1]).readline()); print(r["peak_f32_gflops"], r["peak_bf16_gflops"])' "$results")"
read -r peak_f32 peak_bf16 <<<"$peaks"
for method in "${methods[@]}"; do
  "$python" "$here/peer_train_$method.py" "$hf" "${settings[@]}" --threads 2 \
    --peak-f32-gflops "$peak_f32" --peak-bf16-gflops "$peak_bf16" | tee -a "$results" >&2
done

python3 - "$results" "$load_before" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'EOF'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
peer = {r["method"]: r for r in rows if r["engine"] != "whet"}
first = rows[0]
def mfu(r):  # against the first peak Whet measured, the one the peer was given
    kind = "peak_bf16_gflops" if r["weights"] == "bf16" else "peak_f32_gflops"
    return r["mfu"] * r[kind] / first[kind] if kind in r else r["mfu"]
print(f"SmolLM2-135M-Instruct, one pair per step: prompt {first['prompt_tokens']} + two answers of "
      f"{first['answer_tokens']} tokens, median of {first['steps']} steps after {first['warmup']} warm-up, "
      f"{first['threads']} threads; machine peak {first['peak_f32_gflops']:.0f} GFLOP/s f32 (oneDNN)")
print(f"{'engine':<7} {'method':<7} {'holds':<14} {'tokens/s':>9} {'ms/step':>9} {'peak RSS':>10} {'MFU':>7} {'whet/peer':>10} {'loss':>16}")
for r in rows:
    holds = f"{r['weights']} weights" if r["engine"] == "whet" else r["precision"]
    ratio = f"{r['tokens_per_s'] / peer[r['method']]['tokens_per_s']:.2f}x" if r["engine"] == "whet" else ""
    print(f"{r['engine']:<7} {r['method']:<7} {holds:<14} {r['tokens_per_s']:>9.1f} {r['ms_per_step']:>9.0f} "
          f"{r['peak_rss_mb']:>6.0f} MiB {100 * mfu(r):>6.1f}% {ratio:>10} {r['first_loss']:>7.4f}->{r['last_loss']:.4f}")
for r in rows:
    other = r.get("other_precision")
    if other and "skipped_after_first_step_ms" in other:
        print(f"trl {r['method']}: {other['precision']} stopped after its first step "
              f"({other['skipped_after_first_step_ms'] / 1e3:.0f} s, over twice the {r['precision']} median)")
    elif other:
        print(f"trl {r['method']}: {other['precision']} ran at {other['tokens_per_s']:.1f} tokens/s, "
              f"{other['peak_rss_mb']:.0f} MiB")
p = next(iter(peer.values()))
print(f"peer: TRL {p['trl']}, torch {p['torch']}, transformers {p['transformers']}, peft {p['peft']}; "
      f"load average {sys.argv[2]} before, {sys.argv[3]} after")
EOF
