#!/usr/bin/env bash
# ctest entry: the exported GGUF model and GGUF LoRA give Whet's greedy answers
# in llama.cpp (tests/acceptance/llamacpp_interop.py), under the llama-cpp-python
# virtualenv that `make test` builds (scripts/setup_llamacpp_venv.sh).
# A missing oracle (the virtualenv, the default model) fails the run in CI
# (CI=true); elsewhere it skips with exit code 77 and says what is missing.
set -euo pipefail
whet="$1"
work="$2"
here="$(cd "$(dirname "$0")" && pwd)"
cache="${WHET_CACHE:-$HOME/.cache/whet}"
model="${WHET_DEFAULT_MODEL:-$cache/models/SmolLM2-135M-Instruct.Q4_1.gguf}"
python="$cache/venv-llamacpp/bin/python"

source "$here/../missing_oracle.sh"
"$python" -c 'import llama_cpp' 2>/dev/null ||
  missing "llama-cpp-python in $cache/venv-llamacpp (scripts/setup_llamacpp_venv.sh builds it; make test does)"
[ -f "$model" ] || missing "$model (scripts/fetch_model.sh fetches it; make test does)"
rm -rf "$work"
exec "$python" -u "$here/llamacpp_interop.py" "$whet" "$model" "$work"
