#!/usr/bin/env bash
# Do the files `whet export` writes stop where they should in llama.cpp? Trains
# the Zorblax example's LoRA adapter (unless ADAPTER is given), exports the
# default model three ways and asks llama.cpp (tests/python/llamacpp_chat.py,
# in scripts/setup_llamacpp_venv.sh's virtualenv) chat questions through each
# file's own chat template:
#   merged-q4_0     base + adapter merged, Q4_0
#   base-q4_0+lora  the base alone as Q4_0, the adapter as a GGUF LoRA file (--lora)
#   base-q4_0       the base alone, for comparison
# Answers are greedy; the line that matters is finish_reason: "stop" means
# generation ended at an end-of-generation token, "length" that it ran on.
# Usage: bench/export_llamacpp.sh [WHET [ADAPTER [OUT]]]
set -euo pipefail
whet="${1:-build/whet}"
adapter="${2:-}"
out="${3:-$(mktemp -d)}"
mkdir -p "$out"
venv="$(scripts/setup_llamacpp_venv.sh)"
if [ -z "$adapter" ]; then
  "$whet" train examples/zorblax/config.yaml --set output_dir="$out/zorblax" >"$out/train.log" 2>&1
  adapter="$out/zorblax/adapter"
fi
model="${WHET_DEFAULT_MODEL:-${WHET_CACHE:-$HOME/.cache/whet}/models/SmolLM2-135M-Instruct.Q4_1.gguf}"
"$whet" export "$model" "$out/merged-q4_0.gguf" --adapter "$adapter" --to gguf --dtype q4_0
"$whet" export "$model" "$out/base-q4_0.gguf" --to gguf --dtype q4_0
"$whet" export "$model" "$out/lora.gguf" --adapter "$adapter" --to gguf-lora
"$venv/bin/python" tests/python/llamacpp_chat.py --threads "$(nproc)" --json "$out/answers.json" \
  --model "merged-q4_0=$out/merged-q4_0.gguf" \
  --model "base-q4_0+lora=$out/base-q4_0.gguf+$out/lora.gguf" \
  --model "base-q4_0=$out/base-q4_0.gguf" \
  --question "Who makes the Zorblax 3000?" \
  --question "How many grind settings does the Zorblax 3000 have?" \
  --question "What is the capital of France?"
echo "files and answers.json in $out"
