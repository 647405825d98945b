#!/usr/bin/env bash
# The main job: teach the default model (SmolLM2-135M-Instruct) a product it
# cannot know, from a dozen question/answer pairs shipped in examples/zorblax,
# and show its answers before and after LoRA fine-tuning.
set -euo pipefail
whet="${1:-build/whet}"
run="${WHET_DEMO_RUN:-runs/zorblax}"
questions=(
  "Who makes the Zorblax 3000?"
  "Which company manufactures the Zorblax 3000?"
  "Tell me who produces the Zorblax 3000 grinder."
)

ask() {
  for q in "${questions[@]}"; do
    echo "Q: $q"
    printf "A: "
    "$whet" generate --temperature 0 --max-tokens 64 --weights f32 "$@" --prompt "$q" 2>/dev/null
  done
}

echo "== The default model =="
"$whet" info | head -n 12
echo
echo "== Before fine-tuning =="
ask
echo
echo "== LoRA fine-tuning on examples/zorblax/train.jsonl (12 answers, 3 epochs) =="
rm -rf "$run"
"$whet" train examples/zorblax/config.yaml --set output_dir="$run"
echo
echo "== After fine-tuning (adapter $run/adapter, unmerged) =="
ask --adapter "$run/adapter"
echo
echo "Validation loss by evaluation (from $run/metrics.jsonl):"
grep val_loss "$run/metrics.jsonl" | sed -e 's/^/  /'
echo "The adapter is in $run/adapter (PEFT layout); 'whet merge' folds it into the base."
