#!/usr/bin/env bash
# Inference benchmark of the default model: prefill (512-token prompt) and decode
# tokens/s, MFU and peak RSS, for every way Whet can hold the weights. Each
# representation runs in its own process so that peak RSS is its own.
set -euo pipefail
whet="${1:-build/whet}"
shift || true
for weights in native f32 bf16; do
  "$whet" bench generate --weights "$weights" "$@"
  echo
done
