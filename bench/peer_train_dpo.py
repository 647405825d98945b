#!/usr/bin/env python3
"""The peer that `whet bench train --method dpo` is compared with: Hugging Face
TRL's DPOTrainer on the CPU (PyPI torch 2.x, scripts/setup_trl_venv.sh's
virtualenv) training LoRA on the same f32 weights and the same pair of ids.

The pair: a prompt of seq/2 ids and two answers of seq/2 ids each, drawn in
that order from torch's mt19937 seeded with 1, the ids Whet draws. LoRA r, alpha
2r, dropout 0 on all 7 projections; DPO sigmoid, beta 0.1, no RPO term. The
reference log-probs are computed once before the steps (the model with the
adapter disabled, TRL's reference for PEFT), given to the step in the batch as
TRL's precompute_ref_log_probs does, which is the work Whet does.
One step = Trainer.training_step (DPOTrainer.compute_loss: concatenated forward
of both answers, dpo_loss, backward), clip to global norm 1.0, AdamW (lr 2e-4,
no weight decay), zero grad: the inner loop of Trainer.train.
tokens/s counts the pair's tokens with the prompt once, as Whet's does.
fp32 and bf16 autocast each run in their own process; the faster is reported
(bench/peer_train.py's run_both).
"""
import argparse
import os
import resource
import statistics
import sys
import tempfile
import time

from peer_train import PROJECTIONS, add_step_arguments, run_trl_peer, train_flops_per_step


def pair_batch(vocab, seq):
    import torch

    prompt_len = seq // 2
    answer_len = seq - prompt_len
    ids = torch.randint(0, vocab, (prompt_len + 2 * answer_len,), generator=torch.Generator().manual_seed(1))
    parts = {"prompt": ids[:prompt_len], "chosen": ids[prompt_len:prompt_len + answer_len],
             "rejected": ids[prompt_len + answer_len:]}
    batch = {}
    for name, part in parts.items():
        batch[f"{name}_input_ids"] = part[None, :]
        batch[f"{name}_attention_mask"] = torch.ones_like(part)[None, :]
    return batch, prompt_len, answer_len


def dpo_trainer(args, workdir):
    import datasets
    import peft
    import torch
    from datasets import Dataset
    from transformers import AutoTokenizer, LlamaForCausalLM
    from trl import DPOConfig, DPOTrainer

    model = LlamaForCausalLM.from_pretrained(args.model_dir, torch_dtype=torch.float32)
    config = peft.LoraConfig(r=args.lora_r, lora_alpha=2 * args.lora_r, lora_dropout=0.0,
                             target_modules=PROJECTIONS, bias="none", task_type="CAUSAL_LM")
    model = peft.get_peft_model(model, config)
    tokenizer = AutoTokenizer.from_pretrained(args.model_dir)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    dpo = DPOConfig(output_dir=workdir, per_device_train_batch_size=1, learning_rate=2e-4, weight_decay=0.0,
                    max_grad_norm=1.0, beta=0.1, loss_type="sigmoid", rpo_alpha=None, report_to=[], use_cpu=True,
                    save_strategy="no", logging_strategy="no", disable_dropout=True)
    # The trainer tokenizes a dataset when it is built; the steps are given the pair as ids instead.
    datasets.disable_progress_bars()
    placeholder = Dataset.from_dict({"prompt": ["a"], "chosen": ["b"], "rejected": ["c"]})
    return DPOTrainer(model=model, ref_model=None, args=dpo, train_dataset=placeholder, processing_class=tokenizer)


def run_one(args):
    import peft
    import torch
    import transformers
    import trl

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as workdir:
        trainer = dpo_trainer(args, workdir)
        model = trainer.model
        batch, prompt_len, answer_len = pair_batch(model.config.vocab_size, args.seq)
        with torch.no_grad():
            ref_chosen, ref_rejected = trainer.compute_ref_log_probs(batch)
        batch["ref_chosen_logps"], batch["ref_rejected_logps"] = ref_chosen, ref_rejected
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = trainer.create_optimizer()
        bf16 = args.precision == "bf16"

        losses, times = [], []
        for i in range(args.warmup + args.steps):
            if i == 1 and args.give_up_ms and 1e3 * times[0] > args.give_up_ms:
                return {"precision": "bf16-autocast" if bf16 else "fp32", "skipped_after_first_step_ms": 1e3 * times[0]}
            start = time.perf_counter()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss = trainer.training_step(model, batch)
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            model.zero_grad(set_to_none=True)
            times.append(time.perf_counter() - start)
            losses.append(loss.item())
        margins = trainer._stored_metrics["train"]["rewards/margins"]
    step_s = statistics.median(times[args.warmup:])
    trainable = sum(p.numel() for p in params)
    # Both answers' sequences go forward and backward, prompt included.
    flops = 2 * train_flops_per_step(model, True, trainable, prompt_len + answer_len)
    peak = args.peak_bf16_gflops if bf16 else args.peak_f32_gflops
    pair_tokens = prompt_len + 2 * answer_len
    return {
        "bench": "train", "engine": "trl", "model": args.model_dir, "method": "dpo", "weights": "f32",
        "precision": "bf16-autocast" if bf16 else "fp32", "seq": args.seq, "prompt_tokens": prompt_len,
        "answer_tokens": answer_len, "pair_tokens": pair_tokens, "steps": args.steps, "warmup": args.warmup,
        "threads": torch.get_num_threads(), "trainable_params": trainable, "lora_r": args.lora_r,
        "ms_per_step": 1e3 * step_s, "tokens_per_s": pair_tokens / step_s,
        "mfu": flops / step_s / 1e9 / peak if peak else None,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "first_loss": losses[0], "last_loss": losses[-1], "last_margin": float(margins[-1]),
        "torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__,
        "trl": trl.__version__,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir", help="Hugging Face directory with f32 weights")
    parser.add_argument("--seq", type=int, default=512, help="prompt + one answer; each is half")
    add_step_arguments(parser)
    args = parser.parse_args()

    run_trl_peer(args, os.path.abspath(__file__), run_one, "pair_tokens")


if __name__ == "__main__":
    sys.exit(main())
