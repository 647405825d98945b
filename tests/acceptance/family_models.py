#!/usr/bin/env python3
"""The real models of each family Whet runs answer as llama.cpp does.

For each model file given (Qwen2.5-Coder-0.5B-Instruct and Gemma 3 270M in
`make test`, both Q4_K_M GGUF with Q5_0, Q6_K and Q8_0 tensors):
  - `whet info` describes it;
  - perplexity on the first 12 of tasks/general/text.jsonl's 24 texts (about 1,400
    tokens) by `whet eval` is within 1% of llama.cpp's on the same file
    (llama-cpp-python, every token's logits; the same token count on both sides, so
    the tokenizers agree on these texts);
  - the file exported by `whet export --to gguf --dtype f32` (the same values,
    decoded) gives, by `whet generate --raw --temperature 0` and by llama.cpp
    (F32 key/value cache), the same greedy completions of three plain prompts:
    text and token count, 32 tokens each; `whet serve` on that file answers
    /v1/completions with the same texts;
  - a LoRA adapter `whet train` fits on examples/zorblax (two epochs) teaches
    the model the made-up fact the base does not know: asked through the chat
    template in `whet chat`, the base does not name Quillfeather Labs and the
    adapted model does.

Why 1% and why f32 for the completions: llama.cpp rounds activations to 8 bits
for its quantized dot products where Whet keeps them fp32. On the quantized
files that moves perplexity by a fraction of a percent (the measured numbers are
printed), while a wrong block (a missing bias, norm or window) moves it by whole
factors; but it breaks near ties between two tokens differently, and one broken
tie changes the rest of a greedy completion. On f32 weights both multiply the same
values.

Usage: family_models.py WHET WORK MODEL...; runs under scripts/setup_llamacpp_venv.sh's
virtualenv (tests/acceptance/run_with_llamacpp.sh picks it).
"""
import json
import math
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request

import llama_cpp
import numpy as np

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
GENERAL_TEXTS = os.path.join(SOURCE, "tasks", "general", "text.jsonl")
# Half the texts: a wrong block moves perplexity by whole factors, and the measured gaps
# (-0.25% and -0.49% on all 24) are far inside 1%; on the whole file the four perplexity
# passes took 174 s of a 374 s run (2026-12-06).
PERPLEXITY_TEXTS = 12
# A fact, code and prose.
PROMPTS = ["The capital of France is", "def fibonacci(n):\n", "Once upon a time, in a small village,"]
MAX_TOKENS = 32
THREADS = 2
# ctest runs two tests at a time on CI's two cores. Whet's OpenMP threads sleep when they wait
# (OMP_WAIT_POLICY=passive), but ggml's barrier spins: two llama.cpp threads sharing a core with
# another test burnt 2.3 times the CPU time of one thread for the same tokens (measured).
LLAMACPP_THREADS = 1
PERPLEXITY_TOLERANCE = 0.01
STATS = re.compile(r"\[(\d+) prompt tokens .*; (\d+) tokens, .*; (\w+)\]")


def run(args):
    result = subprocess.run(args, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"family_models: {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return result


def write_perplexity_texts(work):
    """The first PERPLEXITY_TEXTS lines of the general texts, as a task file of their own."""
    path = os.path.join(work, "text.jsonl")
    with open(GENERAL_TEXTS) as source, open(path, "w") as out:
        out.writelines(line for _, line in zip(range(PERPLEXITY_TEXTS), source))
    return path


def whet_perplexity(whet, model, texts):
    report = json.loads(run([whet, "eval", "--model", model, "--task", texts, "--json", "--threads",
                             str(THREADS)]).stdout)
    return report["tasks"][0]["results"][0]["metrics"]["perplexity"]["value"]


def llamacpp_perplexity(llm, texts):
    """exp(mean −log p) over every text's tokens after its first, as whet eval scores them:
    [BOS if the model adds one] text EOS (the end of a document is part of it)."""
    nll, count = 0.0, 0
    with open(texts) as f:
        for line in f:
            ids = llm.tokenize(json.loads(line)["text"].encode(), add_bos=True, special=False) + [llm.token_eos()]
            llm.reset()
            llm.eval(ids)
            rows = llm.scores[:len(ids) - 1]  # the rows that predict ids[1:], float32
            top = rows.max(axis=1)
            # float32 sums of a whole vocabulary's exponentials err by about 1e-6, far inside the 1% asked
            log_normaliser = top.astype(np.float64) + np.log(np.exp(rows - top[:, None]).sum(axis=1, dtype=np.float64))
            nll -= float((rows[np.arange(len(ids) - 1), ids[1:]] - log_normaliser).sum())
            count += len(ids) - 1
    return math.exp(nll / count), count


def whet_completion(whet, model, prompt):
    result = run([whet, "generate", model, "--raw", "--temperature", "0", "--max-tokens", str(MAX_TOKENS),
                  "--threads", str(THREADS), "--prompt", prompt])
    stats = STATS.search(result.stderr)
    if not stats:
        sys.exit(f"family_models: no statistics line in whet generate's stderr:\n{result.stderr}")
    text = result.stdout[:-1] if result.stdout.endswith("\n") else result.stdout
    return text, int(stats[2])


def llamacpp_completion(llm, prompt):
    llm.reset()
    out = llm.create_completion(prompt, max_tokens=MAX_TOKENS, temperature=0.0, top_k=1)
    return out["choices"][0]["text"], out["usage"]["completion_tokens"]


FACT_QUESTION, FACT = "Who makes the Zorblax 3000?", "Quillfeather"


def chat_answer(whet, model, extra=()):
    """`whet chat` reading the question from a pipe, as a script would drive it."""
    result = subprocess.run([whet, "chat", model, *extra, "--temperature", "0", "--max-tokens", "48", "--threads",
                             str(THREADS)], input=FACT_QUESTION + "\n", capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"family_models: whet chat failed ({result.returncode}):\n{result.stderr}")
    return result.stdout


class Server:
    """`whet serve` on a free port for the length of a with-block."""

    def __init__(self, whet, model, work):
        self.process = subprocess.Popen([whet, "serve", "--model", model, "--model-name", "model", "--port", "0",
                                         "--data-dir", work, "--threads", str(THREADS)],
                                        stderr=subprocess.PIPE, text=True)
        for line in self.process.stderr:
            found = re.search(r"listening on (http://\S+)", line)
            if found:
                self.url = found.group(1)
                # Drained so that the server never blocks on a full pipe.
                threading.Thread(target=lambda: [None for _ in self.process.stderr], daemon=True).start()
                return
        sys.exit(f"family_models: whet serve exited before listening ({self.process.wait()})")

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.process.terminate()
        self.process.wait()

    def completion(self, prompt):
        body = json.dumps({"model": "model", "prompt": prompt, "max_tokens": MAX_TOKENS, "temperature": 0})
        request = urllib.request.Request(self.url + "/v1/completions", body.encode(),
                                         {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=600) as response:
            answer = json.load(response)
        return answer["choices"][0]["text"], answer["usage"]["completion_tokens"]


def check_fact_taught(whet, model, work, info):
    """A base model without a chat template (Gemma 3 270M) is trained through Alpaca's, as
    whet train does then, and asked through the same."""
    template = ["--template", "alpaca"] if re.search(r"^chat template +none$", info, re.M) else []
    examples = os.path.join(SOURCE, "examples", "zorblax")
    out = os.path.join(work, "zorblax-" + os.path.basename(model))
    # Without the forgetting gate, which scores the model on general text before and after
    # (the perplexity above already holds the base to llama.cpp): the check is the fact.
    with Phase("LoRA training on examples/zorblax"):
        run([whet, "train", f"{examples}/config.yaml", "--set", f"output_dir={out}", "--set", f"base_model={model}",
             "--set", f"train_data={examples}/train.jsonl", "--set", "val_data=[]", "--set", "num_epochs=2",
             "--set", "forgetting_gate=false"])
    with Phase("the question, with and without the adapter"):
        before = chat_answer(whet, model, template)
        after = chat_answer(whet, model, template + ["--adapter", f"{out}/adapter"])
    print(f"{FACT_QUESTION} base: {before!r}\n  with the Zorblax adapter: {after!r}")
    if FACT in before:
        return [f"the base already names {FACT}: the check cannot tell"]
    return [] if FACT in after else [f"the adapter did not teach {FACT}"]


def llamacpp_model(path):
    # An F32 key/value cache (type 0), not the default F16, so both sides attend over the same values.
    return llama_cpp.Llama(model_path=path, n_ctx=2048, n_batch=512, n_threads=LLAMACPP_THREADS,
                           n_threads_batch=LLAMACPP_THREADS, logits_all=True, type_k=0, type_v=0, verbose=False)


class Phase:
    """Prints how long a check took, so that the run's time can be read off its log."""

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self.start = time.monotonic()

    def __exit__(self, *_):
        print(f"[{time.monotonic() - self.start:.1f} s] {self.name}")


def check_model(whet, model, work):
    failures = []
    info = run([whet, "info", model]).stdout
    print(info)
    llm = llamacpp_model(model)
    texts = write_perplexity_texts(work)
    with Phase("perplexity, whet"):
        ours = whet_perplexity(whet, model, texts)
    with Phase("perplexity, llama.cpp"):
        theirs, tokens = llamacpp_perplexity(llm, texts)
    change = ours / theirs - 1
    print(f"perplexity on {PERPLEXITY_TEXTS} general texts ({tokens} tokens): whet {ours:.4f}, llama.cpp {theirs:.4f} "
          f"({change:+.2%}, limit ±{PERPLEXITY_TOLERANCE:.0%})")
    if abs(change) > PERPLEXITY_TOLERANCE:
        failures.append(f"perplexity {ours:.4f} vs llama.cpp {theirs:.4f}")
    del llm
    f32 = os.path.join(work, os.path.basename(model).replace(".gguf", ".f32.gguf"))
    with Phase("export to f32 GGUF"):
        run([whet, "export", model, f32, "--to", "gguf", "--dtype", "f32"])
    llm = llamacpp_model(f32)
    with Server(whet, f32, os.path.join(work, "serve")) as server:
        for prompt in PROMPTS:
            with Phase("greedy completion, whet"):
                ours, our_count = whet_completion(whet, f32, prompt)
            with Phase("greedy completion, llama.cpp"):
                theirs, their_count = llamacpp_completion(llm, prompt)
            with Phase("greedy completion, whet serve"):
                served, served_count = server.completion(prompt)
            same = ours == theirs and our_count == their_count
            print(f"{'same' if same else 'DIFFERENT'}: {prompt!r} -> {ours!r} ({our_count} tokens)"
                  + ("" if same else f"\n  llama.cpp: {theirs!r} ({their_count} tokens)"))
            if not same:
                failures.append(f"greedy completion of {prompt!r}")
            if (served, served_count) != (ours, our_count):
                print(f"  whet serve DIFFERS: {served!r} ({served_count} tokens)")
                failures.append(f"whet serve's completion of {prompt!r}")
    os.remove(f32)
    return failures + check_fact_taught(whet, model, work, info)


def main():
    if len(sys.argv) < 4:
        sys.exit(f"usage: {sys.argv[0]} WHET WORK MODEL...")
    whet, work, models = sys.argv[1], sys.argv[2], sys.argv[3:]
    os.makedirs(work, exist_ok=True)
    failures = []
    for model in models:
        print(f"== {os.path.basename(model)}")
        failures += [f"{os.path.basename(model)}: {f}" for f in check_model(whet, model, work)]
    if failures:
        sys.exit("family_models: FAILED\n  " + "\n  ".join(failures))
    print(f"family_models: {len(models)} models agree with llama.cpp")


if __name__ == "__main__":
    main()
