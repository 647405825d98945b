#!/usr/bin/env bash
# Inference benchmark of the default model: prefill (512-token prompt) and decode
# tokens/s, MFU and peak RSS, for every way Whet can hold the weights. Each
# representation runs in its own process so that peak RSS is its own.
# Then the same measurement by llama.cpp (bench/peer_generate.py) on the same GGUF,
# when scripts/setup_llamacpp_venv.sh can provide it; Whet's rows stand without it.
set -euo pipefail
whet="${1:-build/whet}"
shift || true
for weights in native f32 bf16; do
  "$whet" bench generate --weights "$weights" "$@"
  echo
done

# The peer gets the options of whet's that it shares, so both measure the same thing.
# Same default model as whet (default_model_path in src/models/model_loader.cpp).
model="${WHET_DEFAULT_MODEL:-${WHET_CACHE:-$HOME/.cache/whet}/models/SmolLM2-135M-Instruct.Q4_1.gguf}"
peer_args=()
threads="$(nproc)" # whet's default, 0, means every core
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  a="${args[i]}"
  case "$a" in
    --threads=*) threads="${a#*=}" ;;
    --threads) threads="${args[++i]:-}" ;;
    --prompt-tokens=* | --gen-tokens=* | --repeats=*) peer_args+=("$a") ;;
    --prompt-tokens | --gen-tokens | --repeats) peer_args+=("$a" "${args[++i]:-}") ;;
    --json) peer_args+=(--json) ;;
    --weights | --adapter) ((++i)) ;;
    -*) ;;
    *) model="$a" ;;
  esac
done
[ "$threads" = 0 ] && threads="$(nproc)"
if [ ! -f "$model" ]; then
  echo "llama.cpp peer skipped: it needs a GGUF file, and $model is not one"
  exit 0
fi

if ! venv="$(bash "$(dirname "$0")/../scripts/setup_llamacpp_venv.sh" | tail -n 1)"; then
  echo "llama.cpp peer unavailable: scripts/setup_llamacpp_venv.sh failed (see above); Whet's rows stand alone"
  exit 0
fi
"$venv/bin/python" "$(dirname "$0")/peer_generate.py" "$model" --threads "$threads" "${peer_args[@]}"
