#!/usr/bin/env bash
# The Python packages the tests and benchmarks use as outside oracles and peers,
# in one virtualenv cached outside the repo: the official `openai` client (drives
# `whet serve`), `gguf` (parses exported GGUF files), transformers + PEFT
# (load the adapters Whet writes; the training benchmark's peer), and `optuna`
# with `optuna-dashboard` (open the study databases `whet tune` writes, and write
# one for Whet to read; 4.9.0 is the version whose schema tune/study_schema.h matches), and
# `tensorboard` (its EventAccumulator reads the event files `whet runs export-tensorboard` writes). Debian's python3
# with its site packages (torch, numpy) underneath, so nothing large is fetched
# from PyPI: PyPI's x86_64 torch wheels are CUDA builds whose libtorch_cpu.so
# links libcudart (several GB of nvidia-* wheels to import), while Debian's
# python3-torch 1.13 is a real CPU build.
# transformers, PEFT and accelerate must still support torch 1.13, and pip must
# not try to "upgrade" the system torch (1.13.0a0 fails peft's torch>=1.13.0),
# so those three go in with --no-deps and their torch-free dependencies are
# listed beside them. Versions checked to import, train (LoRA and full, fp32 and
# bf16 autocast) and load Whet's adapters on torch 1.13.
# Prints nothing when the virtualenv is already complete; the stamp holds both
# requirement lists, so changing either rebuilds it.
set -euo pipefail
venv="${WHET_CACHE:-$HOME/.cache/whet}/venv-test"
requirements=("openai==2.8.0" "gguf==0.17.1" "optuna==4.9.0" "optuna-dashboard==0.21.0" "huggingface-hub>=0.23.2,<1.0" "tokenizers>=0.20,<0.21"
  "safetensors>=0.4.1" regex tqdm packaging pyyaml psutil requests "tensorboard==2.20.0")
without_deps=("transformers==4.46.3" "peft==0.13.2" "accelerate==1.0.1")
stamp="$venv/.whet-requirements"
want="${requirements[*]} --no-deps ${without_deps[*]}"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo "setup_test_venv: Debian's python3-torch is missing; run scripts/setup.sh first" >&2
  exit 1
fi
echo "setup_test_venv: creating $venv ($want)"
rm -rf "$venv"
/usr/bin/python3 -m venv --system-site-packages "$venv"
pip=("$venv/bin/pip" install --quiet --disable-pip-version-check)
"${pip[@]}" "${requirements[@]}"
"${pip[@]}" --no-deps "${without_deps[@]}"
"$venv/bin/python" -c 'import openai, gguf, optuna, optuna_dashboard, torch, transformers, peft, tensorboard'
echo "$want" >"$stamp"
