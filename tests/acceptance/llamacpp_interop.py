#!/usr/bin/env python3
"""The GGUF files `whet export` writes give Whet's greedy answers in llama.cpp.

On the default model (SmolLM2-135M-Instruct) and a LoRA adapter `whet train`
teaches the Zorblax fact (examples/zorblax for two epochs, 24 steps, without
validation: it answers "made by Quillfeather Labs" and still knows Paris), writes
  merged.gguf  base + adapter merged (--to gguf)
  base.gguf    the base alone (--to gguf), and lora.gguf the adapter (--to gguf-lora)
and asks each question through each file's chat template, greedily, with
`whet generate --temperature 0` and with llama-cpp-python's
create_chat_completion (merged.gguf alone; base.gguf with lora.gguf as
lora_path). Requires, per question and file: the same answer text, the same
number of prompt and generated tokens, both ending at the end-of-turn token
("stop"), and for the Zorblax question the adapter's fact (so the adapter is
applied on both sides, not just agreed on while ignored).

The files are exported as f32: llama.cpp and Whet then multiply the same
values, and their answers agree token for token, except where two tokens tie
to within float summation order: there the engines may each take a different
one. Answers that part at a step where llama.cpp's two most likely tokens lie
within NEAR_TIE nats of each other, and Whet took the other, agree up to that
step and are not compared after it (printed as a near tie: a trained adapter
left "." and " in" 0.00018 apart after "Quillfeather Labs"). Quantized types
are rounded the same way by both, but llama.cpp also rounds the activations
(to 8 bits for q4_0/q8_0 dot products, to fp16 for f16 weights) where Whet
keeps fp32, so near ties are more common there.

Usage: llamacpp_interop.py WHET WORK MODEL; runs under scripts/setup_llamacpp_venv.sh's
virtualenv (tests/acceptance/run_with_llamacpp.sh picks it).
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from llamacpp_chat import chat_answers  # noqa: E402

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
QUESTIONS = ["Who makes the Zorblax 3000?", "What is the capital of France?"]
FACT = ("Who makes the Zorblax 3000?", "Quillfeather")
MAX_TOKENS = 48
NEAR_TIE = 0.01  # nats between llama.cpp's two likeliest tokens; fp32 engines differ by ~1e-4
THREADS = 2
LLAMACPP_THREADS = 1  # ggml's barrier spins: see family_models.py
# "[12 prompt tokens (0 cached), ... tokens/s prefill; 20 tokens, ... tokens/s decode; stop]"
STATS = re.compile(r"\[(\d+) prompt tokens .*; (\d+) tokens, .*; (\w+)\]")


def run(args, log):
    result = subprocess.run(args, capture_output=True, text=True)
    with open(log, "a") as f:
        f.write(" ".join(args) + "\n" + result.stderr)
    if result.returncode != 0:
        sys.exit(f"llamacpp_interop: {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return result


def make_files(whet, model, work):
    log = os.path.join(work, "whet.log")
    examples = os.path.join(SOURCE, "examples/zorblax")
    run([whet, "train", f"{examples}/config.yaml", "--set", f"output_dir={work}/zorblax", "--set", f"base_model={model}",
         "--set", f"train_data={examples}/train.jsonl", "--set", "val_data=[]", "--set", "num_epochs=2"], log)
    adapter = f"{work}/zorblax/adapter"
    run([whet, "export", model, f"{work}/merged.gguf", "--adapter", adapter, "--to", "gguf", "--dtype", "f32"], log)
    run([whet, "export", model, f"{work}/base.gguf", "--to", "gguf", "--dtype", "f32"], log)
    run([whet, "export", model, f"{work}/lora.gguf", "--adapter", adapter, "--to", "gguf-lora", "--dtype", "f32"], log)


def whet_answer(whet, model_args, question, log):
    result = run([whet, "generate", *model_args, "--temperature", "0", "--max-tokens", str(MAX_TOKENS),
                  "--threads", str(THREADS), "--prompt", question], log)
    stats = STATS.search(result.stderr)
    if not stats:
        sys.exit(f"llamacpp_interop: no statistics line in whet generate's stderr:\n{result.stderr}")
    # generate ends the answer with one newline of its own.
    return {"answer": result.stdout[:-1] if result.stdout.endswith("\n") else result.stdout,
            "prompt_tokens": int(stats[1]), "tokens": int(stats[2]), "finish_reason": stats[3]}


def near_tie(ours, theirs):
    """Where Whet's answer leaves llama.cpp's at a step whose two likeliest tokens
    are within NEAR_TIE and Whet's text goes on with the other one: a description
    of that step; else None."""
    said = ""
    for step, (token, logprob, alternatives) in enumerate(theirs["steps"]):
        if ours["answer"].startswith(said + token):
            said += token
            continue
        for other, other_logprob in alternatives:
            if other != token and ours["answer"].startswith(said + other) and logprob - other_logprob < NEAR_TIE:
                return (f"near tie at generated token {step + 1} after {said!r}: llama.cpp {token!r} {logprob:.5f}, "
                        f"whet {other!r} ({other_logprob:.5f} in llama.cpp)")
        return None
    return None


def compare(name, whet_args, model, lora, whet, work):
    """Failures of one file (and adapter): llama.cpp against Whet, question by question."""
    failures, compared = [], 0
    log = os.path.join(work, "whet.log")
    for theirs in chat_answers(name, model, lora, QUESTIONS, MAX_TOKENS, LLAMACPP_THREADS, alternatives=3):
        question = theirs["question"]
        ours = whet_answer(whet, whet_args, question, log)
        print(f"- whet, {question!r}: finish_reason {ours['finish_reason']} after {ours['tokens']} tokens\n"
              f"  {ours['answer']!r}")
        tie = near_tie(ours, theirs) if ours["answer"] != theirs["answer"] else None
        if tie:
            print(f"  {tie}; the answers agree up to it")
        for key in ("prompt_tokens", "finish_reason") if tie else ("prompt_tokens", "tokens", "answer", "finish_reason"):
            if ours[key] != theirs[key]:
                failures.append(f"{name}, {question!r}: {key} whet {ours[key]!r}, llama.cpp {theirs[key]!r}")
        if theirs["finish_reason"] != "stop":
            failures.append(f"{name}, {question!r}: llama.cpp did not stop at the end-of-turn token")
        if question == FACT[0] and FACT[1] not in theirs["answer"]:
            failures.append(f"{name}, {question!r}: the adapter's fact {FACT[1]!r} is not in {theirs['answer']!r}")
        compared += theirs["tokens"]
    return failures, compared


def main():
    whet, work, model = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    make_files(whet, model, work)
    failures, compared = [], 0
    for name, whet_args, gguf, lora in [
            ("merged f32", [f"{work}/merged.gguf"], f"{work}/merged.gguf", ""),
            ("base f32 + lora f32", [f"{work}/base.gguf", "--adapter", f"{work}/lora.gguf"], f"{work}/base.gguf",
             f"{work}/lora.gguf")]:
        f, n = compare(name, whet_args, gguf, lora, whet, work)
        failures += f
        compared += n
    print(f"\n{compared} generated tokens (as llama.cpp counts them) compared in {2 * len(QUESTIONS)} answers")
    for failure in failures:
        print(f"FAIL: {failure}")
    if failures:
        sys.exit(1)
    print("llama.cpp interop: ok")


if __name__ == "__main__":
    main()
