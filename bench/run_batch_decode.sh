#!/usr/bin/env bash
# Decode throughput of sequences stepped together (llama_forward_batch, what a
# server's continuous batching runs), for batch sizes 1 to 16, with the weights
# held as in the file (the default model is Q4_1) and as f32. Extra arguments go
# to `whet bench batch` (e.g. --context 512, --json, another model).
set -euo pipefail
whet="${1:-build/whet}"
shift || true
for weights in native f32; do
  "$whet" bench batch --weights "$weights" "$@"
  echo
done
