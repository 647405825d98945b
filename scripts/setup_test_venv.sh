#!/usr/bin/env bash
# The Python packages the tests use as outside oracles, in a virtualenv cached
# outside the repo: the official `openai` client (drives `whet serve`) and
# `gguf` (parses exported GGUF files). Debian's python3 with its site packages
# (torch, numpy) underneath, so nothing large is fetched from PyPI.
# Prints nothing when the virtualenv is already complete.
set -euo pipefail
venv="${WHET_CACHE:-$HOME/.cache/whet}/venv-test"
requirements=("openai==2.8.0" "gguf==0.17.1")
stamp="$venv/.whet-requirements"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "${requirements[*]}" ]; then
  exit 0
fi
echo "setup_test_venv: creating $venv (${requirements[*]})"
rm -rf "$venv"
/usr/bin/python3 -m venv --system-site-packages "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "${requirements[@]}"
echo "${requirements[*]}" >"$stamp"
