#!/usr/bin/env python3
"""The peer that `whet bench generate` is compared with: llama.cpp, through
llama-cpp-python, on the same GGUF file and the same measurement.

Prefill = one forward pass over a fixed pseudo-random prompt of --prompt-tokens ids;
decode = --gen-tokens greedy steps after it, one token per forward pass. Each is
timed over --repeats runs (the KV cache emptied in between) and the median is
reported, with the process's peak RSS. Prompt ids are drawn from 100..vocab-1
so that no BOS/EOS or other control token lands in the middle of the prompt.

Differences from Whet's numbers that are inherent, not chosen:
 - peak RSS includes the Python interpreter and numpy (a few tens of MiB);
 - decode includes an argmax over the vocabulary per step (tens of microseconds);
 - MFU is not reported (null / "-"): Whet's denominator is a oneDNN GEMM peak that
   this process cannot measure, and on the same model the tokens/s ratio is the MFU ratio.
llama.cpp's worker threads spin at every op's barrier, so when other processes keep
the cores busy, --threads 2 can run many times slower than --threads 1 (seen: 0.8 vs
42 decode tokens/s beside a compile). Only numbers from an idle machine compare.
Run it with scripts/setup_llamacpp_venv.sh's virtualenv (bench/run_generate.sh does).
"""
import argparse
import json
import os
import random
import resource
import statistics
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("model", help="GGUF file")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--prompt-tokens", type=int, default=512)
    p.add_argument("--gen-tokens", type=int, default=64)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--json", action="store_true", help="one JSON object instead of a table")
    args = p.parse_args()
    for name in ("threads", "prompt_tokens", "gen_tokens", "repeats"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    if not os.path.isfile(args.model):
        p.error(f"{args.model}: no such file (expected a GGUF model)")
    return args


def main():
    args = parse_args()
    try:
        import numpy as np
        import llama_cpp
    except ImportError as e:
        sys.exit(f"peer_generate: {e}; run it with the python of the venv scripts/setup_llamacpp_venv.sh prints")

    n_ctx = args.prompt_tokens + args.gen_tokens + 8
    try:
        # n_threads_batch is set too: it drives prefill and defaults to every core.
        llm = llama_cpp.Llama(model_path=args.model, n_ctx=n_ctx, n_batch=args.prompt_tokens,
                              n_threads=args.threads, n_threads_batch=args.threads,
                              logits_all=False, verbose=False)
    except Exception as e:  # llama-cpp-python raises ValueError for most load failures, but not all
        sys.exit(f"peer_generate: llama.cpp could not load {args.model}: {e}")

    n_vocab = llm.n_vocab()
    if n_vocab <= 100:
        sys.exit(f"peer_generate: vocabulary of {n_vocab} ids is too small for the prompt's id range 100..vocab-1")
    rng = random.Random(1)
    prompt = [rng.randrange(100, n_vocab) for _ in range(args.prompt_tokens)]

    def last_logits():
        # With logits_all=False llama-cpp-python 0.3 no longer copies logits into llm.scores,
        # so read the context's output row for the last evaluated token directly.
        return np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm.ctx, -1), shape=(n_vocab,))

    prefill_times, decode_times = [], []
    for _ in range(args.repeats):
        llm.reset()
        start = time.perf_counter()
        llm.eval(prompt)
        prefill_times.append(time.perf_counter() - start)

        start = time.perf_counter()
        tok = int(np.argmax(last_logits()))
        for _ in range(args.gen_tokens):
            llm.eval([tok])
            tok = int(np.argmax(last_logits()))
        decode_times.append(time.perf_counter() - start)

    prefill_tps = args.prompt_tokens / statistics.median(prefill_times)
    decode_tps = args.gen_tokens / statistics.median(decode_times)
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    engine = f"llama.cpp (llama-cpp-python {llama_cpp.__version__})"
    model = os.path.abspath(args.model)

    if args.json:
        print(json.dumps({
            "bench": "generate", "engine": engine, "model": model,
            "weights": "native", "threads": args.threads,
            "prompt_tokens": args.prompt_tokens, "gen_tokens": args.gen_tokens,
            "prefill_tokens_per_s": prefill_tps, "decode_tokens_per_s": decode_tps,
            "prefill_mfu": None, "decode_mfu": None,
            "peak_rss_mb": rss_mib, "peak_f32_gflops": None, "peak_bf16_gflops": None,
        }, separators=(",", ":"), sort_keys=True))  # laid out like whet's lines, for diffing and grepping
        return
    print(f"peer {engine}, {args.threads} threads")
    print(f"model {model} (weights held as native)")
    print(f"{'phase':<10} {'tokens':>8} {'tokens/s':>12} {'ms/token':>10} {'MFU':>8}")
    for phase, tokens, tps in (("prefill", args.prompt_tokens, prefill_tps), ("decode", args.gen_tokens, decode_tps)):
        print(f"{phase:<10} {tokens:>8} {tps:>12.1f} {1e3 / tps:>10.2f} {'-':>8}")
    print(f"peak RSS {rss_mib:.0f} MiB")


if __name__ == "__main__":
    main()
