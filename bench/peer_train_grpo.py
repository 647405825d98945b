#!/usr/bin/env python3
"""The peer that `whet bench train --method grpo` is compared with: Hugging Face
TRL's GRPOTrainer on the CPU (TRL 0.16.1 on PyPI torch 2.5.1, the virtualenv
bench/setup_trl_grpo_venv.sh makes) training LoRA on the same f32 weights from
the same prompt ids.

The prompt: seq/2 ids drawn from torch's mt19937 seeded with 1, the ids Whet
draws. TRL starts from prompt text, so the trainer's tokenizer answers the one
placeholder prompt with these ids (FixedPromptTokenizer); everything after that
is TRL's own path. Each step samples G completions of exactly seq/2 tokens:
GRPOTrainer's generation config gets the model's end token as eos_token_id and
min_new_tokens = max_new_tokens = seq/2, so transformers' min-new-tokens logits
processor keeps the end token out for the whole completion (Whet masks the same
token, RolloutOptions::min_tokens), and every step checks that all G
completions are that long with no token masked out, or stops with an error.
The reward is Whet's bench reward: bytes of the completion's text (UTF-8) per
completion token.
LoRA r, alpha 2r, dropout 0 on all 7 projections; beta 0 (no reference model),
epsilon 0.2, one iteration (no old log-probs pass), temperature 1, top-p 1,
no top-k (TRL 0.16 defaults to temperature 0.9 and top-k 50), rewards scaled by the group's std, all of which Whet's bench sets too.
One step = Trainer.training_step (GRPOTrainer._prepare_inputs: generation,
rewards, advantages; compute_loss: forward of prompt + completion, loss;
backward), clip to global norm 1.0, AdamW (lr 2e-4, no weight decay), zero
grad: the inner loop of Trainer.train. The step's time splits into generation
(_generate_and_score_completions less the reward function), the reward
function, and the rest (training). tokens/s counts prompt + completion of all
G completions, as Whet's does; MFU counts the FLOPs Whet's bench counts.
fp32 and bf16 autocast each run in their own process; the faster is reported
(bench/peer_train.py's run_both).
"""
import argparse
import functools
import os
import resource
import sys
import tempfile
import time

from peer_train import PROJECTIONS, add_step_arguments, forward_flops_per_token, run_trl_peer, train_flops_per_step

PLACEHOLDER = "the benchmark's prompt"


def fixed_prompt_tokenizer(model_dir, prompt_ids):
    """The model's tokenizer, except that the placeholder prompt encodes to `prompt_ids`."""
    import torch
    from transformers import AutoTokenizer, BatchEncoding

    base = type(AutoTokenizer.from_pretrained(model_dir))

    class FixedPromptTokenizer(base):
        def __call__(self, text=None, *args, **kwargs):
            if isinstance(text, list) and text and all(t == PLACEHOLDER for t in text):
                ids = prompt_ids[None, :].repeat(len(text), 1)
                return BatchEncoding({"input_ids": ids, "attention_mask": torch.ones_like(ids)})
            return super().__call__(text, *args, **kwargs)

    tokenizer = FixedPromptTokenizer.from_pretrained(model_dir)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


class Timer:
    """Wall time spent inside the wrapped calls since the last take()."""

    def __init__(self):
        self.seconds = 0.0

    def wrap(self, fn):
        @functools.wraps(fn)
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start

        return timed

    def take(self):
        seconds, self.seconds = self.seconds, 0.0
        return seconds


def grpo_trainer(args, workdir, prompt_ids, completion_len, reward_timer):
    import datasets
    import peft
    import torch
    from datasets import Dataset
    from transformers import LlamaForCausalLM
    from trl import GRPOConfig, GRPOTrainer

    model = LlamaForCausalLM.from_pretrained(args.model_dir, torch_dtype=torch.float32)
    config = peft.LoraConfig(r=args.lora_r, lora_alpha=2 * args.lora_r, lora_dropout=0.0,
                             target_modules=PROJECTIONS, bias="none", task_type="CAUSAL_LM")
    model = peft.get_peft_model(model, config)
    tokenizer = fixed_prompt_tokenizer(args.model_dir, prompt_ids)

    def bytes_per_token(prompts, completions, **kwargs):
        return [len(c.encode("utf-8")) / completion_len for c in completions]

    grpo = GRPOConfig(output_dir=workdir, per_device_train_batch_size=args.num_generations,
                      num_generations=args.num_generations, max_prompt_length=len(prompt_ids),
                      max_completion_length=completion_len, learning_rate=2e-4, weight_decay=0.0, max_grad_norm=1.0,
                      beta=0.0, epsilon=0.2, num_iterations=1, temperature=1.0, top_p=1.0, top_k=None,
                      scale_rewards=True,
                      report_to=[], use_cpu=True, save_strategy="no", logging_strategy="no", log_completions=False)
    datasets.disable_progress_bars()
    placeholder = Dataset.from_dict({"prompt": [PLACEHOLDER]})
    trainer = GRPOTrainer(model=model, reward_funcs=reward_timer.wrap(bytes_per_token), args=grpo,
                          train_dataset=placeholder, processing_class=tokenizer)
    # The end tokens sampling stops at, kept out until the completion is max_new_tokens long.
    ends = {tokenizer.eos_token_id}
    model_ends = model.generation_config.eos_token_id
    ends.update(model_ends if isinstance(model_ends, list) else [model_ends] if model_ends is not None else [])
    trainer.generation_config.eos_token_id = sorted(ends)
    trainer.generation_config.min_new_tokens = completion_len
    return trainer


def checked_lengths(generate, completion_len, num_generations):
    """`generate` (_generate_and_score_completions), failing unless every completion is whole."""

    def checked(*args, **kwargs):
        out = generate(*args, **kwargs)
        ids, mask = out["completion_ids"], out["completion_mask"]
        if tuple(ids.shape) != (num_generations, completion_len) or int(mask.sum()) != ids.numel():
            sys.exit(f"peer_train_grpo: completions of shape {tuple(ids.shape)} with {int(mask.sum())} tokens "
                     f"unmasked, not {num_generations} x {completion_len}")
        return out

    return checked


def run_one(args):
    import peft
    import torch
    import transformers
    import trl

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    prompt_len = args.seq // 2
    completion_len = args.seq - prompt_len
    reward_timer, generate_timer = Timer(), Timer()
    with tempfile.TemporaryDirectory() as workdir:
        vocab = transformers.AutoConfig.from_pretrained(args.model_dir).vocab_size
        prompt_ids = torch.randint(0, vocab, (prompt_len,), generator=torch.Generator().manual_seed(1))
        trainer = grpo_trainer(args, workdir, prompt_ids, completion_len, reward_timer)
        checked = checked_lengths(trainer._generate_and_score_completions, completion_len, args.num_generations)
        trainer._generate_and_score_completions = generate_timer.wrap(checked)
        model = trainer.model
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = trainer.create_optimizer()
        bf16 = args.precision == "bf16"
        inputs = [{"prompt": PLACEHOLDER}] * args.num_generations

        losses, times = [], []
        for i in range(args.warmup + args.steps):
            if i == 1 and args.give_up_ms and 1e3 * times[0][0] > args.give_up_ms:
                return {"precision": "bf16-autocast" if bf16 else "fp32",
                        "skipped_after_first_step_ms": 1e3 * times[0][0]}
            start = time.perf_counter()
            # No cast cache: bf16 copies of the weights made while generating (no_grad) would be reused by
            # the training forward and cut it from the graph; each forward casts afresh, as accelerate's does.
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16, cache_enabled=False):
                loss = trainer.training_step(model, inputs)
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            model.zero_grad(set_to_none=True)
            step_s = time.perf_counter() - start
            grade_s = reward_timer.take()
            times.append((step_s, generate_timer.take() - grade_s, grade_s))
            losses.append(loss.item())
        rewards = trainer._metrics["train"]["reward"]
    step_s, rollout_s, grade_s = sorted(times[args.warmup:])[args.steps // 2]  # the median step, whose parts add up
    trainable = sum(p.numel() for p in params)
    flops = sum(forward_flops_per_token(model, i) for i in range(prompt_len))
    flops += args.num_generations * sum(forward_flops_per_token(model, prompt_len + i) for i in range(completion_len - 1))
    flops += args.num_generations * train_flops_per_step(model, True, trainable, args.seq - 1)
    peak = args.peak_bf16_gflops if bf16 else args.peak_f32_gflops
    step_tokens = args.num_generations * args.seq
    return {
        "bench": "train", "engine": "trl", "model": args.model_dir, "method": "grpo", "weights": "f32",
        "precision": "bf16-autocast" if bf16 else "fp32", "seq": args.seq, "prompt_tokens": prompt_len,
        "completion_tokens": completion_len, "num_generations": args.num_generations, "step_tokens": step_tokens,
        "steps": args.steps, "warmup": args.warmup, "threads": torch.get_num_threads(), "trainable_params": trainable,
        "lora_r": args.lora_r, "ms_per_step": 1e3 * step_s, "rollout_ms": 1e3 * rollout_s, "grade_ms": 1e3 * grade_s,
        "train_ms": 1e3 * (step_s - rollout_s - grade_s), "tokens_per_s": step_tokens / step_s,
        "mfu": flops / step_s / 1e9 / peak if peak else None,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "first_loss": losses[0], "last_loss": losses[-1], "first_reward": float(rewards[0]),
        "last_reward": float(rewards[-1]), "torch": torch.__version__, "transformers": transformers.__version__,
        "peft": peft.__version__, "trl": trl.__version__,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir", help="Hugging Face directory with f32 weights")
    parser.add_argument("--seq", type=int, default=512, help="prompt + one completion; each is half")
    parser.add_argument("--num-generations", type=int, default=4, help="completions sampled per prompt (G)")
    add_step_arguments(parser)
    args = parser.parse_args()

    run_trl_peer(args, os.path.abspath(__file__), run_one, "step_tokens", ("rollout_ms", "train_ms"))


if __name__ == "__main__":
    sys.exit(main())
