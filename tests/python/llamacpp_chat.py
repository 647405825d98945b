#!/usr/bin/env python3
"""What llama.cpp makes of the files `whet export` writes: each model (optionally
with a GGUF LoRA adapter) answers chat questions greedily through
llama-cpp-python's create_chat_completion, which renders the GGUF's own
tokenizer.chat_template and stops at any end-of-generation token (eos, eot).
Prints, per model and question, why generation ended ("stop": an end token;
"length": it ran to --max-tokens), the tokens generated and the answer, plus the
end tokens the file declares; --json writes the answers for a program to read.

Needs llama-cpp-python (scripts/setup_llamacpp_venv.sh's virtualenv). Used by
bench/export_llamacpp.sh (a report) and, through chat_answers, by the export
interoperability test (tests/acceptance/llamacpp_interop.py).
"""
import argparse
import json

import llama_cpp


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", action="append", required=True,
                   help="NAME=FILE.gguf or NAME=FILE.gguf+LORA.gguf (repeatable)")
    p.add_argument("--question", action="append", required=True, help="user message (repeatable)")
    p.add_argument("--max-tokens", type=int, default=200)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", help="also write the answers to this file")
    return p.parse_args()


def end_tokens(llm):
    meta = llm.metadata
    names = {}
    for key in ("tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id", "tokenizer.ggml.bos_token_id"):
        if key in meta:
            token = int(meta[key])
            names[key.split(".")[-1]] = f"{token} {llm.detokenize([token], special=True).decode(errors='replace')!r}"
    names["chat_template"] = "present" if "tokenizer.chat_template" in meta else "MISSING"
    return names


def chat_answers(name, model, lora, questions, max_tokens, threads, alternatives=0):
    """Greedy answers of MODEL (+ LORA) to each question, as dicts; prints each.
    With alternatives > 0, each answer's "steps" list every generated token as
    (token, logprob, [(token, logprob) of the most likely `alternatives`])."""
    llm = llama_cpp.Llama(model_path=model, lora_path=lora or None, n_ctx=1024, n_threads=threads,
                          n_threads_batch=threads, verbose=False, seed=0, logits_all=alternatives > 0)
    print(f"\n## {name}: {model}{' + ' + lora if lora else ''}")
    print("declares: " + ", ".join(f"{k} {v}" for k, v in end_tokens(llm).items()))
    results = []
    for question in questions:
        extra = {"logprobs": True, "top_logprobs": alternatives} if alternatives > 0 else {}
        out = llm.create_chat_completion(messages=[{"role": "user", "content": question}],
                                         max_tokens=max_tokens, temperature=0.0, **extra)
        choice = out["choices"][0]
        result = {"model": name, "question": question, "finish_reason": choice["finish_reason"],
                  "prompt_tokens": out["usage"]["prompt_tokens"], "tokens": out["usage"]["completion_tokens"],
                  "answer": choice["message"]["content"]}
        if alternatives > 0:
            result["steps"] = [(step["token"], float(step["logprob"]),
                                [(top["token"], float(top["logprob"])) for top in step["top_logprobs"]])
                               for step in choice["logprobs"]["content"]]
        print(f"- {question!r}: finish_reason {result['finish_reason']} after {result['tokens']} tokens\n"
              f"  {result['answer']!r}", flush=True)
        results.append(result)
    return results


def main():
    args = parse_args()
    results = []
    for spec in args.model:
        name, files = spec.split("=", 1)
        model, _, lora = files.partition("+")
        results += chat_answers(name, model, lora, args.question, args.max_tokens, args.threads)
    stopped = sum(r["finish_reason"] == "stop" for r in results)
    print(f"\n{stopped} of {len(results)} answers ended at an end-of-generation token")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
