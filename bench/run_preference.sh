#!/usr/bin/env bash
# Preference (DPO) steps with LoRA on the default model: a pair's prompt encoded
# once (one shared-prompt sequence) against twice (each answer in its own
# sequence), prompts as long as answers, and a supervised LoRA step on the same
# activation buffer (the one sequence_len that lets the pair share its prompt)
# and on one [prompt, answer] sequence, for peak RSS. Q4_1 and f32 base weights.
# Each run is its own process so that peak RSS is its own. Raw JSON lines go to
# stderr; the table with the ratios to stdout. Timing is never a pass/fail test.
# Usage: bench/run_preference.sh [path/to/whet]
#   (PROMPT, ANSWER, PAIRS, STEPS, WARMUP, THREADS override the settings; THREADS 0: all cores)
set -euo pipefail
whet="${1:-build/whet}"
prompt="${PROMPT:-128}" answer="${ANSWER:-128}" pairs="${PAIRS:-2}" steps="${STEPS:-3}" warmup="${WARMUP:-1}"
threads="${THREADS:-0}"
gguf="${WHET_CACHE:-$HOME/.cache/whet}/models/SmolLM2-135M-Instruct.Q4_1.gguf"
results="$(mktemp)"
trap 'rm -f "$results"' EXIT
settings=(--prompt "$prompt" --answer "$answer" --pairs "$pairs" --steps "$steps" --warmup "$warmup"
          --threads "$threads" --json)
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"

for weights in q4_1 f32; do
  [ "$weights" = q4_1 ] && held=(--weights native) || held=(--weights f32)
  for encoding in shared separate sft; do
    "$whet" bench preference "$gguf" "${held[@]}" --encoding "$encoding" "${settings[@]}" | tee -a "$results" >&2
  done
  # On the buffer of one [prompt, answer] sequence, where only separate encoding fits:
  # what the reference (the adapter off) and the pair loss add to a supervised step.
  for encoding in separate sft; do
    "$whet" bench preference "$gguf" "${held[@]}" --encoding "$encoding" --rows $((prompt + answer - 1)) \
      "${settings[@]}" | tee -a "$results" >&2
  done
done

python3 - "$results" "$load_before" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
first = rows[0]
print(f"SmolLM2-135M-Instruct, LoRA r={first['lora_r']} all-linear, DPO, {first['pairs']} pairs per step, "
      f"prompt {first['prompt']} and answers {first['answer']} tokens, median of {first['steps']} steps "
      f"after {first['warmup']} warm-up, {first['threads']} threads")
print("tokens/s counts a pair's prompt once and both answers (the sft rows: its sequence's tokens)")
print("tokens/CPU-s divides by the process's processor time, steadier than the clock when other work shares the cores")
print(f"{'weights':<8} {'encoding':<9} {'rows':>5} {'tokens/s':>9} {'tokens/CPU-s':>13} {'ms/step':>9} {'peak RSS':>10} "
      f"{'ratio':>44}")
for weights in dict.fromkeys(r["weights"] for r in rows):
    group = [r for r in rows if r["weights"] == weights]
    shared = next(r for r in group if r["encoding"] == "shared")
    separate = next(r for r in group if r["encoding"] == "separate")  # on the same buffer as shared
    separate_small = next(r for r in group if r["encoding"] == "separate" and r["rows"] < shared["rows"])
    for r in group:
        if r is shared:
            ratio = (f"{shared['tokens_per_s'] / separate['tokens_per_s']:.2f}x separate's tokens/s, "
                     f"{shared['tokens_per_cpu_s'] / separate['tokens_per_cpu_s']:.2f}x per CPU-s")
        elif r["encoding"] == "sft" and r["rows"] == shared["rows"]:
            ratio = f"shared's RSS {shared['peak_rss_mb'] / r['peak_rss_mb']:.2f}x this"
        elif r["encoding"] == "sft":
            ratio = (f"RSS: shared {shared['peak_rss_mb'] / r['peak_rss_mb']:.2f}x, "
                     f"separate {separate_small['peak_rss_mb'] / r['peak_rss_mb']:.2f}x this")
        else:
            ratio = ""
        name = "Q4_1" if weights == "native" else weights
        print(f"{name:<8} {r['encoding']:<9} {r['rows']:>5} {r['tokens_per_s']:>9.1f} {r['tokens_per_cpu_s']:>13.1f} "
              f"{r['ms_per_step']:>9.0f} {r['peak_rss_mb']:>6.0f} MiB {ratio:>44}")
print(f"load average before {sys.argv[2]}, after {sys.argv[3]}")
PY
