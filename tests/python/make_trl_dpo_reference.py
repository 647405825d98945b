#!/usr/bin/env python3
"""One DPO training step by Hugging Face TRL's own DPOTrainer on the tiny models,
checked by tests/train/test_trl_dpo_step.cpp against Whet's preference_backward.

Runs in scripts/setup_trl_venv.sh's virtualenv (PyPI torch 2.x + TRL), after
make_preference_gradients.py, whose pair the step trains on. For each tiny
variant directory writes trl_dpo/:
  <case>.json         TRL's loss and logged metrics of the step (rewards/chosen,
                      rewards/rejected, logps/chosen, logps/rejected), the
                      reference log-probs, the settings, the versions
  <case>.safetensors  the LoRA gradients after the step's backward, under
                      PEFT's names without the adapter name ("default")

What TRL runs: the tiny model loaded by transformers, the random adapter of
make_gradient_references.py (gradients/lora/) loaded by PEFT as trainable, and
DPOTrainer with ref_model=None, so the reference is the same model with the
adapter disabled, as TRL does for PEFT. The step is Trainer.training_step
(DPOTrainer.compute_loss -> get_batch_loss_metrics -> concatenated_forward and
dpo_loss, then the backward) on one collated batch holding the pair as ids:
preference/pair.json's prompt and answers, so the token ids are Whet's exactly
(TRL's text tokenizing, which would add an end token, is not part of the step).
The model runs in float64, so the only error left in the comparison is Whet's
float32 arithmetic (and RoPE's angles, which transformers computes in float32
whatever the model's dtype: about 1e-7 relative).
"""
import json
import os
import sys
import tempfile

import datasets
import torch
from datasets import Dataset
from peft import PeftModel
from safetensors.torch import save_file
from transformers import AutoTokenizer, LlamaForCausalLM

import peft
import transformers
import trl
from trl import DPOConfig, DPOTrainer

# The loss variants compared, with the settings the C++ test reads back from the JSON.
CASES = {
    "sigmoid": dict(loss_type="sigmoid", beta=0.5, label_smoothing=0.1, rpo_alpha=None),  # cDPO
    "robust": dict(loss_type="robust", beta=0.5, label_smoothing=0.1, rpo_alpha=None),
    "hinge": dict(loss_type="hinge", beta=0.1, label_smoothing=0.0, rpo_alpha=None),  # inside the hinge: 1 - beta*margin > 0
    # beta 0.1 keeps the pair away from IPO's minimum (margin 1/(2 beta)), where the slope is small and the
    # float32 log-probs' error (1e-7 relative) would show magnified in every gradient (5e-6 at beta 0.5).
    "ipo": dict(loss_type="ipo", beta=0.1, label_smoothing=0.0, rpo_alpha=None),
    "rpo": dict(loss_type="sigmoid", beta=0.1, label_smoothing=0.0, rpo_alpha=1.0),
}


def split_pair(pair):
    """The prompt and both answers as token ids, from Whet's two sequences (ids = tokens[:-1], targets on the answer)."""
    def tokens_of(seq):
        return seq["ids"] + [seq["targets"][-1]]

    prompt_len = next(i for i, t in enumerate(pair["chosen"]["targets"]) if t >= 0) + 1
    chosen, rejected = tokens_of(pair["chosen"]), tokens_of(pair["rejected"])
    assert chosen[:prompt_len] == rejected[:prompt_len], "the two answers must share their prompt"
    return chosen[:prompt_len], chosen[prompt_len:], rejected[prompt_len:]


def collated_batch(prompt, chosen, rejected):
    """The batch DPOTrainer's collator gives for one tokenized pair (no padding is needed for one pair)."""
    def row(ids):
        return torch.tensor([ids]), torch.ones(1, len(ids), dtype=torch.long)

    batch = {}
    for name, ids in (("prompt", prompt), ("chosen", chosen), ("rejected", rejected)):
        batch[f"{name}_input_ids"], batch[f"{name}_attention_mask"] = row(ids)
    return batch


def policy_and_tokenizer(variant_dir):
    """The tiny model in float64 with the random adapter trainable, and its tokenizer."""
    model = LlamaForCausalLM.from_pretrained(os.path.join(variant_dir, "hf"), torch_dtype=torch.float64,
                                             attn_implementation="eager")
    model = PeftModel.from_pretrained(model, os.path.join(variant_dir, "gradients", "lora"), is_trainable=True)
    tokenizer = AutoTokenizer.from_pretrained(os.path.join(variant_dir, "hf"))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def trainer_for(model, tokenizer, case, workdir):
    args = DPOConfig(output_dir=workdir, per_device_train_batch_size=1, learning_rate=0.0, report_to=[],
                     use_cpu=True, bf16=False, fp16=False, disable_dropout=True, save_strategy="no",
                     logging_strategy="no", seed=0, **case)
    # The trainer tokenizes a dataset when it is built; the step below is given the pair as ids instead.
    placeholder = Dataset.from_dict({"prompt": ["a"], "chosen": ["b"], "rejected": ["c"]})
    return DPOTrainer(model=model, ref_model=None, args=args, train_dataset=placeholder, processing_class=tokenizer)


def lora_grads(model):
    grads = {}
    for name, p in model.named_parameters():
        if p.requires_grad:
            assert p.grad is not None, f"{name} has no gradient"
            grads[name.replace(".default.weight", ".weight")] = p.grad.detach().to(torch.float32).contiguous()
    return grads


def make(variant_dir):
    with open(os.path.join(variant_dir, "preference", "pair.json")) as f:
        prompt, chosen, rejected = split_pair(json.load(f))
    out = os.path.join(variant_dir, "trl_dpo")
    os.makedirs(out, exist_ok=True)
    model, tokenizer = policy_and_tokenizer(variant_dir)
    for name, case in CASES.items():
        with tempfile.TemporaryDirectory() as workdir:
            trainer = trainer_for(model, tokenizer, case, workdir)
            trainer.model.zero_grad(set_to_none=True)
            loss = trainer.training_step(trainer.model, collated_batch(prompt, chosen, rejected))
            logged = {k: float(v[-1]) for k, v in trainer._stored_metrics["train"].items()}
            with torch.no_grad(), trainer.null_ref_context():
                ref = trainer.concatenated_forward(trainer.model, collated_batch(prompt, chosen, rejected))
            save_file(lora_grads(trainer.model), os.path.join(out, f"{name}.safetensors"))
        record = dict(case, loss=loss.item(), rewards_chosen=logged["rewards/chosen"],
                      rewards_rejected=logged["rewards/rejected"], logps_chosen=logged["logps/chosen"],
                      logps_rejected=logged["logps/rejected"], ref_logps_chosen=ref["chosen_logps"].item(),
                      ref_logps_rejected=ref["rejected_logps"].item(), prompt_tokens=len(prompt),
                      chosen_tokens=len(chosen), rejected_tokens=len(rejected), trl=trl.__version__,
                      torch=torch.__version__, transformers=transformers.__version__, peft=peft.__version__)
        with open(os.path.join(out, f"{name}.json"), "w") as f:
            json.dump(record, f, indent=1)


def main():
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} TINY_DIR  (make_tiny_models.py's variants)")
    torch.manual_seed(0)
    datasets.disable_progress_bars()
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    # The variants make_preference_gradients.py made a pair for.
    variants = [v for v in sorted(os.listdir(sys.argv[1])) if os.path.isdir(os.path.join(sys.argv[1], v, "preference"))]
    for variant in variants:
        make(os.path.join(sys.argv[1], variant))
    print(f"make_trl_dpo_reference: TRL {trl.__version__} on torch {torch.__version__}, "
          f"{len(variants)} variants x {len(CASES)} losses in {sys.argv[1]}")


if __name__ == "__main__":
    main()
