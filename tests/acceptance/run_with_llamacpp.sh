#!/usr/bin/env bash
# ctest entry of the tests that hold Whet to llama.cpp: runs SCRIPT (in
# tests/acceptance) as SCRIPT WHET WORK MODEL... under the llama-cpp-python
# virtualenv that `make test` builds (scripts/setup_llamacpp_venv.sh).
#   run_with_llamacpp.sh SCRIPT WHET WORK MODEL...   (a MODEL of "default": the default model)
# A missing oracle (the virtualenv, a model file) fails the run in CI (CI=true);
# elsewhere it skips with exit code 77 and says what is missing.
set -euo pipefail
script="$1"
whet="$2"
work="$3"
shift 3
here="$(cd "$(dirname "$0")" && pwd)"
cache="${WHET_CACHE:-$HOME/.cache/whet}"
python="$cache/venv-llamacpp/bin/python"

source "$here/../missing_oracle.sh"
"$python" -c 'import llama_cpp' 2>/dev/null ||
  missing "llama-cpp-python in $cache/venv-llamacpp (scripts/setup_llamacpp_venv.sh builds it; make test does)"
models=()
for model in "$@"; do
  [ "$model" = default ] && model="${WHET_DEFAULT_MODEL:-$cache/models/SmolLM2-135M-Instruct.Q4_1.gguf}"
  [ -f "$model" ] || missing "$model (scripts/fetch_model.sh fetches it; make test does)"
  models+=("$model")
done
rm -rf "$work"
exec "$python" -u "$here/$script" "$whet" "$work" "${models[@]}"
