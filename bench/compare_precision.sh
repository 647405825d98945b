#!/usr/bin/env bash
# Trains the Zorblax example (examples/zorblax, the demo's LoRA run) three times,
# with the frozen base held as f32, bf16 and native Q4_1, and prints their loss
# curves side by side: reduced precision must train to the same outcome.
# Losses do not depend on timing, so this runs on a busy machine as well.
set -euo pipefail
whet="${1:-build/whet}"
out="${2:-$(mktemp -d)}"
for weights in f32 bf16 native; do
  "$whet" train examples/zorblax/config.yaml --set output_dir="$out/$weights" --set weights="$weights" >"$out/$weights.log" 2>&1
done
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
runs = {w: [json.loads(l) for l in open(f"{out}/{w}/metrics.jsonl")] for w in ("f32", "bf16", "native")}
def column(rows, key):
    return {r["step"]: r[key] for r in rows if key in r}
for key, title in (("loss", "training loss"), ("val_loss", "validation loss")):
    cols = {w: column(rows, key) for w, rows in runs.items()}
    steps = sorted(set().union(*cols.values()))
    print(f"\n{title}\n| step | f32 base | bf16 base | Q4_1 base |\n|---|---|---|---|")
    for s in steps:
        print(f"| {s} | " + " | ".join(f"{cols[w][s]:.4f}" if s in cols[w] else "" for w in runs) + " |")
PY
