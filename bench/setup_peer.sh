#!/usr/bin/env bash
# The environment of the training benchmark's peer (bench/peer_train.py):
# transformers and PEFT over Debian's CPU PyTorch, which is the test virtualenv
# (scripts/setup_test_venv.sh says which versions and why), plus OpenBLAS for
# the peer alone.
#
# Debian's python3-torch calls BLAS through libblas.so.3, which without OpenBLAS
# installed is the reference BLAS (~10x slower at sgemm, an unfair peer). OpenBLAS
# is what Debian recommends with it; we unpack libopenblas0-openmp into the venv
# and put it first on LD_LIBRARY_PATH for the peer only, leaving the system's BLAS
# alternative (and the tests, which do not need speed) alone.
# Prints the venv's path on success; run_train.sh sources nothing else from here.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
"$here/../scripts/setup_test_venv.sh" >&2
venv="${WHET_CACHE:-$HOME/.cache/whet}/venv-test"
openblas="$venv/openblas"
python="$venv/bin/python"

works() {
  [ -f "$openblas/libblas.so.3" ] &&
    LD_LIBRARY_PATH="$openblas" "$python" -c 'import torch, transformers, peft; torch.ones(64, 64) @ torch.ones(64, 64)' \
      2>/dev/null
}

if works; then
  echo "$venv"
  exit 0
fi

echo "setup_peer: adding OpenBLAS to $venv" >&2
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# apt's sandbox user cannot write into a root-only temp dir; the download itself is the ordinary client.
(cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root libopenblas0-openmp)
dpkg-deb -x "$tmp"/libopenblas0-openmp_*.deb "$tmp/x"
mkdir -p "$openblas"
cp -a "$tmp"/x/usr/lib/x86_64-linux-gnu/openblas-openmp/. "$openblas/"

if ! works; then
  echo "setup_peer: OpenBLAS was added to $venv but torch, transformers or peft does not import with it" >&2
  exit 1
fi
echo "$venv"
