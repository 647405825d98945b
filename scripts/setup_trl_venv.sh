#!/usr/bin/env bash
# The oracle and peer for DPO: Hugging Face TRL's DPOTrainer over PyPI's torch 2.x,
# in a virtualenv of its own (the test virtualenv keeps Debian's torch 1.13, and the
# comparison is meant against TRL on the torch 2.x people install). PyPI is the only Python registry this machine
# reaches, and its x86_64 torch wheels are CUDA builds: pip pulls the nvidia-*
# runtime wheels that libtorch links (2.7 GB of the virtualenv's 5.6 GB) although
# only the CPU is used. Versions are pinned together: TRL 0.12.2's DPOTrainer has
# the concatenated_forward / get_batch_loss_metrics path the reference script
# calls, and it runs with transformers 4.46 and PEFT 0.13, the versions the test
# virtualenv uses, so both oracles read adapters alike; datasets and numpy are
# held at versions this set was checked with. A fresh install took 10.5 minutes
# on the project's 2 shared cores (download and unpacking; 1.3 minutes of CPU).
# Made by scripts/pinned_venv.sh: nothing printed when complete, rebuilt when the list changes.
set -euo pipefail
requirements=("torch==2.5.1" "trl==0.12.2" "transformers==4.46.3" "peft==0.13.2" "accelerate==1.0.1"
  "datasets==3.1.0" "safetensors>=0.4.1" "numpy<2.2")
exec "$(dirname "$0")"/pinned_venv.sh venv-trl 'import torch, trl, peft, transformers; from trl import DPOTrainer, DPOConfig' "${requirements[@]}"
