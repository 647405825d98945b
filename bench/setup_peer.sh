#!/usr/bin/env bash
# The environment of the training benchmark's peer (bench/peer_train.py): PyPI's
# PyTorch 2.x with transformers and PEFT, the newest releases when this was
# written, in a virtualenv under ~/.cache/whet made by scripts/pinned_venv.sh
# (rebuilt only when this list changes). PyPI's x86_64 torch wheels are CUDA
# builds and pull the nvidia-* runtime wheels although only the CPU is used; its
# CPU kernels are its own (oneDNN, MKL), bf16 autocast on AMX included, so no
# system BLAS is involved. The tests keep Debian's torch 1.13 as their oracle
# (scripts/setup_test_venv.sh); this virtualenv is for the benchmark alone.
# Prints the venv's path on success; run_train.sh sources nothing else from here.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
requirements=("torch==2.15.0" "transformers==5.25.0" "peft==0.21.2" "safetensors")
"$here/../scripts/pinned_venv.sh" venv-peer 'import torch, transformers, peft; torch.ones(64, 64) @ torch.ones(64, 64)' \
  "${requirements[@]}" >&2
echo "${WHET_CACHE:-$HOME/.cache/whet}/venv-peer"
