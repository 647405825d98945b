#!/usr/bin/env bash
# The peer of `whet bench train --method grpo`: Hugging Face TRL's GRPOTrainer,
# which arrived in TRL 0.14, after the 0.12.2 that scripts/setup_trl_venv.sh pins
# for the DPO oracle (make test compares one DPO step with it to 1e-5, so that
# virtualenv stays as it is). This benchmark-only virtualenv holds TRL 0.16.1:
# its GRPOTrainer has the one-iteration path Whet's grpo_step takes (no old
# log-probs when num_iterations is 1, no reference model when beta is 0, logits
# only for the completion's positions), and the versions beside it are ones
# released with it that work together: transformers 4.50, PEFT 0.15, accelerate
# 1.6, datasets 3.5. torch stays at the DPO peer's 2.5.1, so both peers run on
# the same torch. PyPI's x86_64 torch wheels are CUDA builds and pull the
# nvidia-* runtime wheels although only the CPU is used (as setup_trl_venv.sh says).
# Made by scripts/pinned_venv.sh: nothing printed when complete, rebuilt when the list changes.
set -euo pipefail
requirements=("torch==2.5.1" "trl==0.16.1" "transformers==4.50.3" "peft==0.15.2" "accelerate==1.6.0"
  "datasets==3.5.0" "safetensors>=0.4.1" "numpy<2.2")
exec "$(dirname "$0")/../scripts"/pinned_venv.sh venv-trl-grpo 'import torch, trl, peft, transformers; from trl import GRPOTrainer, GRPOConfig' "${requirements[@]}"
