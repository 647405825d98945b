#!/usr/bin/env bash
# ctest entry: Whet's native chat templates against the models' own Jinja templates and llama.cpp.
# make_chat_template_oracle.py renders fixed conversations with Debian's python3-jinja2 from the
# templates in the real models' GGUF files (`make model`), in the tiny models' tokenizer_config.json
# (the python_reference fixture) and the ones llama-cpp-python ships in llama_chat_format.py
# (Mistral-7B-Instruct-v0.1, Mixtral-8x7B-Instruct-v0.1, Llama 3, ChatML) into
# TESTDATA/chat_templates.json, checked once more against transformers' own apply_chat_template
# (test virtualenv). Run by the llama-cpp-python virtualenv, it then renders them with llama.cpp's
# own renderer for the formats no package ships a Jinja template of (Gemma, Llama 2, Phi-3, Mistral
# v1) into TESTDATA/chat_templates_llamacpp.json. The gtest suite ChatTemplateOracle
# (tests/tokenizer/test_chat_template_oracle.cpp) then holds Whet to both byte for byte.
# A missing oracle fails the run in CI (CI=true); elsewhere it skips with exit code 77.
#   check_chat_template_oracle.sh WHET_TESTS TESTDATA
set -euo pipefail
tests="$1"
testdata="$2"
here="$(cd "$(dirname "$0")" && pwd)"
cache="${WHET_CACHE:-$HOME/.cache/whet}"
models="$cache/models"
test_python="$cache/venv-test/bin/python"
llama_python="$cache/venv-llamacpp/bin/python"
real=("${WHET_DEFAULT_MODEL:-$models/SmolLM2-135M-Instruct.Q4_1.gguf}"
  "$models/Qwen2.5-Coder-0.5B-Instruct.Q4_K_M.gguf" "$models/gemma-3-270m.Q4_K_M.gguf")

source "$here/../missing_oracle.sh"
/usr/bin/python3 -c 'import jinja2' 2>/dev/null || missing "Debian's python3-jinja2 (scripts/setup.sh installs it)"
"$test_python" -c 'import transformers' 2>/dev/null ||
  missing "transformers in $cache/venv-test (scripts/setup_test_venv.sh)"
"$llama_python" -c 'import llama_cpp' 2>/dev/null ||
  missing "llama-cpp-python in $cache/venv-llamacpp (scripts/setup_llamacpp_venv.sh)"
for model in "${real[@]}"; do
  [ -f "$model" ] || missing "$model (make model fetches it)"
done
tiny=("$testdata"/tiny/*/hf)
[ -f "${tiny[0]}/tokenizer_config.json" ] || missing "the tiny models in $testdata/tiny (tests/python/make_references.sh)"

llama_package="$("$llama_python" -c 'import importlib.util, os; print(os.path.dirname(importlib.util.find_spec("llama_cpp").origin))')"

/usr/bin/python3 "$here/make_chat_template_oracle.py" "$testdata/chat_templates.json" --gguf "${real[@]}" \
  --hf-dir "${tiny[@]}" --llama-cpp-python "$llama_package"
"$test_python" "$here/make_chat_template_oracle.py" "$testdata/chat_templates.json" --against-transformers
"$llama_python" "$here/make_chat_template_oracle.py" "$testdata/chat_templates_llamacpp.json" --llama-cpp-renderer
exec "$tests" --gtest_filter='ChatTemplateOracle.*'
