#!/usr/bin/env bash
# Reference data for the C++ tests, made before they run (a ctest fixture):
#   OUT/tiny/<variant>/  tiny random Llama models as HF directories and GGUF, with PyTorch logits
#                        and autograd gradients (full, frozen, LoRA)
#   OUT/fisher/          EWC's empirical Fisher and penalty gradient by autograd (make_fisher_reference.py)
#                        and autograd gradients (full, frozen, LoRA, distillation from the base)
#   OUT/distill_logits.json  distillation loss and gradient on random logit rows
#   OUT/tiny/<variant>/preference/  a pair's loss under dpo, ipo, simpo and orpo and its LoRA
#                        gradients by autograd (make_preference_gradients.py)
#   OUT/tiny/<variant>/reward/  a pair's Bradley–Terry loss (margin, centering) and its gradients through a
#                        one-output head with LoRA and with full weights (make_reward_gradients.py)
#   OUT/tiny/<variant>/grpo/  a group of four completions' GRPO loss (β 0 and β 0.3) and its LoRA
#                        gradients by autograd (make_grpo_gradients.py)
#   OUT/tiny/<variant>/trl_dpo/  one DPO step by TRL's DPOTrainer on that pair (loss, rewards, LoRA
#                        gradients; make_trl_dpo_reference.py in scripts/setup_trl_venv.sh's virtualenv)
#   OUT/preference_losses.json  the DPO-family, reward-model, KTO and GRPO losses and their
#                        derivatives on random log-probs (make_preference_references.py)
#   OUT/drift_stats.json  PSI, Jensen-Shannon divergence and a 95th percentile by numpy (make_drift_references.py)
#   OUT/smollm2-f32/     the default model converted by `whet convert` to float32, with PyTorch logits
# Uses Debian's python3-torch, so it runs /usr/bin/python3, not a python3 earlier on PATH;
# TRL's step runs in its own virtualenv (PyPI torch 2.x), made by `make test-venv`.
set -euo pipefail
out="$1"
whet="$2"
here="$(cd "$(dirname "$0")" && pwd)"
python=/usr/bin/python3

rm -rf "$out/tiny" "$out/fisher"
mkdir -p "$out/tiny"
# One interpreter for the Debian-torch scripts: torch is imported once, not once each.
"$python" "$here/run_in_one_process.py" make_tiny_models.py "$out/tiny" -- make_gradient_references.py "$out/tiny" \
  -- make_preference_gradients.py "$out/tiny" -- make_reward_gradients.py "$out/tiny" -- make_grpo_gradients.py "$out/tiny" \
  -- make_fisher_reference.py "$out/tiny" "$out/fisher" -- make_distill_references.py "$out" \
  -- make_preference_references.py "$out" -- make_drift_references.py "$out"
trl_python="${WHET_CACHE:-$HOME/.cache/whet}/venv-trl/bin/python"
if [ -x "$trl_python" ]; then
  "$trl_python" "$here/make_trl_dpo_reference.py" "$out/tiny"
else
  echo "make_references: $trl_python is missing (scripts/setup_trl_venv.sh makes it); the TRL DPO comparison will skip" >&2
  # Under CI `make test` has run the set-up; a missing oracle there is a broken set-up.
  if [ "${CI:-}" = "true" ]; then exit 1; fi
fi

model="${WHET_DEFAULT_MODEL:-${WHET_CACHE:-$HOME/.cache/whet}/models/SmolLM2-135M-Instruct.Q4_1.gguf}"
if [ ! -f "$model" ]; then
  echo "make_references: $model is missing (scripts/fetch_model.sh fetches it); real-model tests will skip" >&2
  # Under CI the set-up has fetched it; a missing model there is a broken set-up.
  [ "${CI:-}" = "true" ] && exit 1
  exit 0
fi
rm -rf "$out/smollm2-f32"
"$whet" convert "$model" "$out/smollm2-f32" --to hf --dtype f32
"$python" "$here/make_real_model_reference.py" "$out/smollm2-f32"
