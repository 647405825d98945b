#!/usr/bin/env bash
# Trains the Zorblax example (examples/zorblax, the demo's LoRA run) with the
# frozen base held as f32, bf16 and native Q4_1, and prints their loss curves
# side by side: reduced precision must train to the same outcome. With
# METHOD=full, full fine-tuning instead (learning rate 2e-5): f32 masters
# multiplied as f32, then as a bf16 copy.
# Losses do not depend on timing, so this runs on a busy machine as well.
# Usage: [METHOD=full] bench/compare_precision.sh [path/to/whet] [output folder]
set -euo pipefail
whet="${1:-build/whet}"
out="${2:-$(mktemp -d)}"
mkdir -p "$out"
method="${METHOD:-lora}"
if [ "$method" = full ]; then
  formats="f32 bf16"
  settings=(--set method=full --set learning_rate=2e-5)
else
  formats="f32 bf16 native"
  settings=()
fi
for weights in $formats; do
  "$whet" train examples/zorblax/config.yaml --set output_dir="$out/$weights" --set weights="$weights" \
    "${settings[@]}" >"$out/$weights.log" 2>&1
done
python3 - "$out" $formats <<'PY'
import json, sys
out, formats = sys.argv[1], sys.argv[2:]
names = {"f32": "f32", "bf16": "bf16", "native": "Q4_1"}
runs = {w: [json.loads(l) for l in open(f"{out}/{w}/metrics.jsonl")] for w in formats}
def column(rows, key):
    return {r["step"]: r[key] for r in rows if key in r}
for key, title in (("loss", "training loss"), ("val_loss", "validation loss")):
    cols = {w: column(rows, key) for w, rows in runs.items()}
    steps = sorted(set().union(*cols.values()))
    print(f"\n{title}\n| step | " + " | ".join(names[w] for w in formats) + " |\n|---|" + "---|" * len(formats))
    for s in steps:
        print(f"| {s} | " + " | ".join(f"{cols[w][s]:.4f}" if s in cols[w] else "" for w in runs) + " |")
PY
