#!/usr/bin/env bash
# The main job: the default model answers a few fixed questions through its chat template.
set -euo pipefail
whet="${1:-build/whet}"
questions=(
  "What is the capital of France?"
  "Name three primary colors."
  "Write a haiku about the sea."
)
"$whet" info
for q in "${questions[@]}"; do
  echo
  echo "Q: $q"
  printf "A: "
  "$whet" generate --temperature 0 --max-tokens 96 --prompt "$q"
done
