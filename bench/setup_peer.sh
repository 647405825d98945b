#!/usr/bin/env bash
# Builds the environment of the training benchmark's peer (bench/peer_train.py):
# a virtualenv outside the repository with transformers and PEFT over a CPU PyTorch.
# Reused when it already imports.
#
# Which torch: PyPI's x86_64 torch wheels are CUDA builds whose libtorch_cpu.so
# itself links libcudart and libcupti (checked with 2.15.0 --no-deps: the import
# fails on the missing CUDA libraries), so they need several GB of nvidia-* wheels.
# Debian's python3-torch 1.13 (installed by scripts/setup.sh, with oneDNN) is a real
# CPU build instead, seen through --system-site-packages. Two consequences:
#  - it calls BLAS through libblas.so.3, which without OpenBLAS installed is the
#    reference BLAS (~10x slower at sgemm, an unfair peer). OpenBLAS is what Debian
#    recommends with it; we unpack libopenblas0-openmp into the venv and put it first
#    on LD_LIBRARY_PATH for the peer only, leaving the system's BLAS alternative alone;
#  - transformers and PEFT must still support torch 1.13, and pip must not try to
#    "upgrade" the system torch (1.13.0a0 fails peft's torch>=1.13.0), so those three
#    go in with --no-deps and their torch-free dependencies are listed here.
# Prints the venv's path on success; run_train.sh sources nothing else from here.
set -euo pipefail

cache="${WHET_CACHE:-$HOME/.cache/whet}"
venv="$cache/venv-peer"
openblas="$venv/openblas"
python="$venv/bin/python"

works() {
  [ -f "$openblas/libblas.so.3" ] &&
    LD_LIBRARY_PATH="$openblas" "$python" -c 'import torch, transformers, peft; torch.ones(64, 64) @ torch.ones(64, 64)' \
      2>/dev/null
}

if [ -x "$python" ] && works; then
  echo "$venv"
  exit 0
fi

if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo "setup_peer: Debian's python3-torch is missing; run scripts/setup.sh first" >&2
  exit 1
fi

echo "setup_peer: creating $venv" >&2
/usr/bin/python3 -m venv --system-site-packages "$venv"
pip=("$venv/bin/pip" install --quiet --disable-pip-version-check)
# Versions checked to import and train (LoRA and full, fp32 and bf16 autocast) on torch 1.13.
"${pip[@]}" --no-deps transformers==4.46.3 peft==0.13.2 accelerate==1.0.1
"${pip[@]}" "huggingface-hub>=0.23.2,<1.0" "tokenizers>=0.20,<0.21" "safetensors>=0.4.1" \
  regex tqdm packaging pyyaml psutil requests

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# apt's sandbox user cannot write into a root-only temp dir; the download itself is the ordinary client.
(cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root libopenblas0-openmp)
dpkg-deb -x "$tmp"/libopenblas0-openmp_*.deb "$tmp/x"
mkdir -p "$openblas"
cp -a "$tmp"/x/usr/lib/x86_64-linux-gnu/openblas-openmp/. "$openblas/"

if ! works; then
  echo "setup_peer: $venv was built but torch, transformers or peft does not import" >&2
  exit 1
fi
echo "$venv"
