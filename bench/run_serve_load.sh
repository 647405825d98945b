#!/usr/bin/env bash
# Load test of `whet serve` on the default model over loopback (bench/serve_load.py),
# with the openai client from the cached test virtualenv.
# Usage: bench/run_serve_load.sh build/whet [serve_load.py options]
set -euo pipefail
whet="$1"
shift
here="$(cd "$(dirname "$0")" && pwd)"
"$here/../scripts/setup_test_venv.sh"
cache="${WHET_CACHE:-$HOME/.cache/whet}"
model="${WHET_DEFAULT_MODEL:-$cache/models/SmolLM2-135M-Instruct.Q4_1.gguf}"
echo "# whet serve load, $(date -u +%Y-%m-%d), $(nproc) cores, model $(basename "$model")"
exec "$cache/venv-test/bin/python" -u "$here/serve_load.py" "$whet" "$model" "$@"
