#!/usr/bin/env bash
# ctest entry: Whet's native chat templates against the models' own Jinja templates.
# make_chat_template_oracle.py renders fixed conversations with Debian's python3-jinja2 from the
# templates in the real models' GGUF files (`make model`) and in the tiny models' tokenizer_config.json
# (the python_reference fixture) into TESTDATA/chat_templates.json, checked once more against
# transformers' own apply_chat_template (test virtualenv); the gtest suite
# ChatTemplateOracle (tests/tokenizer/test_chat_template_oracle.cpp) then holds Whet to it byte for byte.
# A missing oracle fails the run in CI (CI=true); elsewhere it skips with exit code 77.
#   check_chat_template_oracle.sh WHET_TESTS TESTDATA
set -euo pipefail
tests="$1"
testdata="$2"
here="$(cd "$(dirname "$0")" && pwd)"
cache="${WHET_CACHE:-$HOME/.cache/whet}"
models="$cache/models"
test_python="$cache/venv-test/bin/python"
real=("${WHET_DEFAULT_MODEL:-$models/SmolLM2-135M-Instruct.Q4_1.gguf}"
  "$models/Qwen2.5-Coder-0.5B-Instruct.Q4_K_M.gguf" "$models/gemma-3-270m.Q4_K_M.gguf")

source "$here/../missing_oracle.sh"
/usr/bin/python3 -c 'import jinja2' 2>/dev/null || missing "Debian's python3-jinja2 (scripts/setup.sh installs it)"
"$test_python" -c 'import transformers' 2>/dev/null ||
  missing "transformers in $cache/venv-test (scripts/setup_test_venv.sh)"
for model in "${real[@]}"; do
  [ -f "$model" ] || missing "$model (make model fetches it)"
done
tiny=("$testdata"/tiny/*/hf)
[ -f "${tiny[0]}/tokenizer_config.json" ] || missing "the tiny models in $testdata/tiny (tests/python/make_references.sh)"

/usr/bin/python3 "$here/make_chat_template_oracle.py" "$testdata/chat_templates.json" --gguf "${real[@]}" --hf-dir "${tiny[@]}"
"$test_python" "$here/make_chat_template_oracle.py" "$testdata/chat_templates.json" --against-transformers
exec "$tests" --gtest_filter='ChatTemplateOracle.*'
