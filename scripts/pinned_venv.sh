#!/usr/bin/env bash
# A virtualenv under ~/.cache/whet holding exactly a pinned requirement list over
# PyPI's packages (no system site packages), checked by one Python import line.
# Prints nothing when it is already complete; the stamp holds the requirement
# list, so changing the list rebuilds it.
# Usage: scripts/pinned_venv.sh NAME 'IMPORT CHECK' REQUIREMENT...
set -euo pipefail
name="$1" check="$2"
shift 2
venv="${WHET_CACHE:-$HOME/.cache/whet}/$name"
stamp="$venv/.whet-requirements"
want="$*"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "pinned_venv: creating $venv ($want)"
rm -rf "$venv"
/usr/bin/python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "$@"
"$venv/bin/python" -c "$check"
echo "$want" >"$stamp"
