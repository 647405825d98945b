#!/usr/bin/env bash
# ctest entry: the openai-client acceptance run of `whet serve` on the default model,
# under the test virtualenv that `make test` prepares (scripts/setup_test_venv.sh).
set -euo pipefail
whet="$1"
work="$2"
here="$(cd "$(dirname "$0")" && pwd)"
cache="${WHET_CACHE:-$HOME/.cache/whet}"
model="${WHET_DEFAULT_MODEL:-$cache/models/SmolLM2-135M-Instruct.Q4_1.gguf}"
python="$cache/venv-test/bin/python"
[ -x "$python" ] || { echo "missing $python: run scripts/setup_test_venv.sh (make test does)" >&2; exit 1; }
[ -f "$model" ] || { echo "missing $model: run scripts/fetch_model.sh (make test does)" >&2; exit 1; }
rm -rf "$work"
exec "$python" -u "$here/openai_client.py" "$whet" "$model" "$work"
