#!/usr/bin/env bash
# Preference-training benchmark of the default model: `whet bench train --method
# dpo|grpo` against Hugging Face TRL's trainers on the same f32 weights and the
# same ids, LoRA r=16 on all 7 projections:
#   dpo:  DPOTrainer (bench/peer_train_dpo.py, TRL 0.12.2 in scripts/setup_trl_venv.sh's
#         virtualenv) on one pair, a prompt as long as each of its two answers;
#   grpo: GRPOTrainer (bench/peer_train_grpo.py, TRL 0.16.1 in bench/setup_trl_grpo_venv.sh's
#         virtualenv) on one prompt and G completions as long as it, end tokens masked.
# Both virtualenvs use PyPI's torch 2.5.1 and are made here when missing. Each run
# is its own process, so peak RSS is its own. Raw JSON lines go to stderr as they
# arrive; the combined table to stdout.
# Usage: bench/run_train_preference.sh [path/to/whet]
#   (SEQ, STEPS, WARMUP, GENERATIONS override the settings; METHODS="grpo" runs one method)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
whet="${1:-build/whet}"
seq="${SEQ:-512}" steps="${STEPS:-5}" warmup="${WARMUP:-2}" generations="${GENERATIONS:-4}" rank=16
read -ra methods <<<"${METHODS:-dpo grpo}"
cache="${WHET_CACHE:-$HOME/.cache/whet}"
gguf="$cache/models/SmolLM2-135M-Instruct.Q4_1.gguf"
hf="$cache/SmolLM2-135M-Instruct-f32-hf"
declare -A setup=([dpo]="$here/../scripts/setup_trl_venv.sh" [grpo]="$here/setup_trl_grpo_venv.sh")
declare -A venv=([dpo]="$cache/venv-trl" [grpo]="$cache/venv-trl-grpo")
declare -A method_settings=([dpo]="" [grpo]="--num-generations $generations")

[ -f "$hf/model.safetensors" ] || "$whet" convert "$gguf" "$hf" --to hf --dtype f32 >&2
for method in "${methods[@]}"; do "${setup[$method]}" >&2; done
results="$(mktemp)"
trap 'rm -f "$results"' EXIT
settings=(--seq "$seq" --steps "$steps" --warmup "$warmup" --lora-r "$rank" --json)
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"

for method in "${methods[@]}"; do
  # shellcheck disable=SC2086 # method_settings holds words to split
  "$whet" bench train "$gguf" --weights f32 --method "$method" "${settings[@]}" ${method_settings[$method]} |
    tee -a "$results" >&2
done
# MFU of both engines against one machine peak: the first one Whet measured.
peaks="$(python3 -c 'import json,sys; r=json.loads(open(sys.argv[1]).readline()); print(r["peak_f32_gflops"], r["peak_bf16_gflops"])' "$results")"
read -r peak_f32 peak_bf16 <<<"$peaks"
for method in "${methods[@]}"; do
  # shellcheck disable=SC2086
  "${venv[$method]}/bin/python" "$here/peer_train_$method.py" "$hf" "${settings[@]}" ${method_settings[$method]} \
    --threads 2 --peak-f32-gflops "$peak_f32" --peak-bf16-gflops "$peak_bf16" | tee -a "$results" >&2
done

python3 - "$results" "$load_before" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'EOF_PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
peer = {r["method"]: r for r in rows if r["engine"] != "whet"}
first = rows[0]
def mfu(r):  # against the first peak Whet measured, the one the peer was given
    kind = "peak_bf16_gflops" if r["weights"] == "bf16" else "peak_f32_gflops"
    return r["mfu"] * r[kind] / first[kind] if kind in r else r["mfu"]
def progress(r):  # DPO's loss; GRPO's mean reward (its loss is about 0 at every step)
    key = "reward" if r["method"] == "grpo" else "loss"
    return f"{key} {r['first_' + key]:.4f}->{r['last_' + key]:.4f}"
print(f"SmolLM2-135M-Instruct, median of {first['steps']} steps after {first['warmup']} warm-up, "
      f"{first['threads']} threads; machine peak {first['peak_f32_gflops']:.0f} GFLOP/s f32 (oneDNN)")
for r in rows:
    if r["engine"] == "whet" and r["method"] == "dpo":
        print(f"dpo: one pair per step, prompt {r['prompt_tokens']} + two answers of {r['answer_tokens']} tokens "
              f"({r['pair_tokens']} tokens a step)")
    elif r["engine"] == "whet" and r["method"] == "grpo":
        print(f"grpo: one prompt of {r['prompt_tokens']} tokens per step, {r['num_generations']} completions of "
              f"{r['completion_tokens']} tokens each ({r['step_tokens']} tokens a step)")
print(f"{'engine':<7} {'method':<7} {'holds':<14} {'tokens/s':>9} {'ms/step':>9} {'rollout ms':>10} {'peak RSS':>10} "
      f"{'MFU':>7} {'whet/peer':>10}  progress")
for r in rows:
    holds = f"{r['weights']} weights" if r["engine"] == "whet" else r["precision"]
    ratio = f"{r['tokens_per_s'] / peer[r['method']]['tokens_per_s']:.2f}x" if r["engine"] == "whet" else ""
    rollout = f"{r['rollout_ms']:.0f}" if "rollout_ms" in r else ""
    print(f"{r['engine']:<7} {r['method']:<7} {holds:<14} {r['tokens_per_s']:>9.1f} {r['ms_per_step']:>9.0f} "
          f"{rollout:>10} {r['peak_rss_mb']:>6.0f} MiB {100 * mfu(r):>6.1f}% {ratio:>10}  {progress(r)}")
for r in rows:
    other = r.get("other_precision")
    if other and "skipped_after_first_step_ms" in other:
        print(f"trl {r['method']}: {other['precision']} stopped after its first step "
              f"({other['skipped_after_first_step_ms'] / 1e3:.0f} s, over twice the {r['precision']} median)")
    elif other:
        print(f"trl {r['method']}: {other['precision']} ran at {other['tokens_per_s']:.1f} tokens/s, "
              f"{other['peak_rss_mb']:.0f} MiB")
for method, p in peer.items():
    print(f"peer {method}: TRL {p['trl']}, torch {p['torch']}, transformers {p['transformers']}, peft {p['peft']}")
print(f"load average {sys.argv[2]} before, {sys.argv[3]} after")
EOF_PY
