#!/usr/bin/env python3
"""What llama.cpp makes of the files `whet export` writes: each model (optionally
with a GGUF LoRA adapter) answers chat questions through llama-cpp-python's
create_chat_completion, which renders the GGUF's own tokenizer.chat_template and
stops at any end-of-generation token (eos, eot). Prints, per model and question,
why generation ended ("stop": an end token; "length": it ran to --max-tokens),
the tokens generated and the answer, plus the end tokens the file declares.

Not a test: it needs llama-cpp-python (bench/setup_llamacpp_peer.sh's virtualenv);
bench/export_llamacpp.sh makes the files and runs it.
"""
import argparse
import json
import sys

import llama_cpp


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", action="append", required=True,
                   help="NAME=FILE.gguf or NAME=FILE.gguf+LORA.gguf (repeatable)")
    p.add_argument("--question", action="append", required=True, help="user message (repeatable)")
    p.add_argument("--max-tokens", type=int, default=200)
    p.add_argument("--threads", type=int, default=2)
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


def main():
    args = parse_args()
    results = []
    for spec in args.model:
        name, files = spec.split("=", 1)
        model, _, lora = files.partition("+")
        llm = llama_cpp.Llama(model_path=model, lora_path=lora or None, n_ctx=1024, n_threads=args.threads,
                              verbose=False, seed=0)
        print(f"\n## {name}: {model}{' + ' + lora if lora else ''}")
        print("declares: " + ", ".join(f"{k} {v}" for k, v in end_tokens(llm).items()))
        for question in args.question:
            out = llm.create_chat_completion(messages=[{"role": "user", "content": question}],
                                             max_tokens=args.max_tokens, temperature=0.0)
            choice = out["choices"][0]
            tokens = out["usage"]["completion_tokens"]
            answer = choice["message"]["content"]
            print(f"- {question!r}: finish_reason {choice['finish_reason']} after {tokens} tokens\n  {answer!r}")
            results.append({"model": name, "question": question, "finish_reason": choice["finish_reason"],
                            "tokens": tokens, "answer": answer})
    stopped = sum(r["finish_reason"] == "stop" for r in results)
    print(f"\n{stopped} of {len(results)} answers ended at an end-of-generation token")
    json.dump(results, sys.stderr)
    sys.stderr.write("\n")


if __name__ == "__main__":
    main()
