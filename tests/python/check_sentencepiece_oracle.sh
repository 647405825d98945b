#!/usr/bin/env bash
# ctest entry: the committed SentencePiece references in tests/fixtures/sentencepiece
# are what the oracles give today. Remakes them into WORK with
# make_sentencepiece_fixtures.py (transformers + `tokenizers`, test virtualenv) and
# make_sentencepiece_llamacpp_oracle.py (llama-cpp-python) and compares byte for
# byte, so an edited fixture or a changed oracle fails here, while the C++ tests
# (tests/tokenizer/test_sentencepiece.cpp) hold Whet to the committed files.
# A missing oracle (a virtualenv, the Gemma 3 model) fails the run in CI (CI=true);
# elsewhere it skips with exit code 77 and says what is missing.
set -euo pipefail
work="$1"
here="$(cd "$(dirname "$0")" && pwd)"
fixtures="$here/../fixtures/sentencepiece"
cache="${WHET_CACHE:-$HOME/.cache/whet}"
test_python="$cache/venv-test/bin/python"
llama_python="$cache/venv-llamacpp/bin/python"

source "$here/../missing_oracle.sh"
"$test_python" -c 'import transformers, tokenizers, gguf' 2>/dev/null ||
  missing "transformers, tokenizers and gguf in $cache/venv-test (scripts/setup_test_venv.sh)"
"$llama_python" -c 'import llama_cpp' 2>/dev/null ||
  missing "llama-cpp-python in $cache/venv-llamacpp (scripts/setup_llamacpp_venv.sh)"
[ -f "$cache/models/gemma-3-270m.Q4_K_M.gguf" ] || missing "Gemma 3 270M (scripts/fetch_model.sh gemma3)"

rm -rf "$work"
mkdir -p "$work"
"$test_python" "$here/make_sentencepiece_fixtures.py" --out "$work" 2>/dev/null
"$llama_python" "$here/make_sentencepiece_llamacpp_oracle.py" --dir "$work" 2>/dev/null
diff -r "$fixtures" "$work" >&2 || {
  echo "FAIL: tests/fixtures/sentencepiece differs from what the oracles give now (rerun the two scripts)" >&2
  exit 1
}
echo "the SentencePiece references match tokenizers and llama.cpp"
