"""Load on `whet serve` over loopback: concurrent clients, each sending chat
completions one after another, streamed so that time to first token is seen.
Reports requests/s, generated tokens/s, latency p50/p99, time-to-first-token
p50, and failures. `run_load` is also the bounded load phase of the openai
client acceptance test.

Usage: serve_load.py WHET_BINARY MODEL [--clients 1,4,8] [--requests 4] [--max-tokens 64] [--weights native|f32|bf16]
                     [--max-batch N] [--kv-cache-dtype f16|f32] [--prompt TEXT | --long-answers]
                     [--prefix-cache-tokens N]
"""
import argparse
import re
import statistics
import subprocess
import sys
import threading
import time

from openai import OpenAI


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# The request's number comes first, so that prompts share only the chat
# template's system message, as different users' questions would: the server
# copies a shared start from its prefix cache instead of reading it again.
SHORT_ANSWER = "Request %d: describe a fruit in one sentence."
LONG_ANSWER = "Request %d: tell me a long story about a fruit."


def run_load(url, key, model, clients, per_client, max_tokens, prompt=SHORT_ANSWER):
    latencies, first_tokens, failures, tokens = [], [], [], [0]
    lock = threading.Lock()

    def one_client(i):
        client = OpenAI(base_url=url + "/v1", api_key=key, max_retries=0, timeout=600)
        for j in range(per_client):
            started = time.time()
            try:
                stream = client.chat.completions.create(
                    model=model, max_tokens=max_tokens, temperature=0.7, seed=i * 1000 + j, stream=True,
                    stream_options={"include_usage": True},
                    messages=[{"role": "user", "content": prompt % (i * 1000 + j)}])
                first, used = None, 0
                for chunk in stream:
                    if first is None and chunk.choices and chunk.choices[0].delta.content:
                        first = time.time() - started
                    if chunk.usage:
                        used = chunk.usage.completion_tokens
                with lock:
                    latencies.append(time.time() - started)
                    first_tokens.append(first if first is not None else latencies[-1])
                    tokens[0] += used
            except Exception as e:  # noqa: BLE001 - every failure is reported
                with lock:
                    failures.append(repr(e))

    started = time.time()
    threads = [threading.Thread(target=one_client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.time() - started
    return {"clients": clients, "requests": len(latencies) + len(failures), "failed": len(failures),
            "failures": failures, "wall_s": wall, "requests_per_s": len(latencies) / wall,
            "tokens_per_s": tokens[0] / wall,
            "p50_s": statistics.median(latencies) if latencies else float("nan"),
            "p99_s": percentile(latencies, 0.99) if latencies else float("nan"),
            "ttft_p50_s": statistics.median(first_tokens) if first_tokens else float("nan")}


def describe(r):
    return ("%d clients, %d requests in %.1f s: %.2f req/s, %.1f tokens/s, latency p50 %.2f s p99 %.2f s, "
            "first token p50 %.2f s, %d failed" % (r["clients"], r["requests"], r["wall_s"], r["requests_per_s"],
                                                   r["tokens_per_s"], r["p50_s"], r["p99_s"], r["ttft_p50_s"],
                                                   r["failed"]))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("whet")
    parser.add_argument("model")
    parser.add_argument("--clients", default="1,4,8")
    parser.add_argument("--requests", type=int, default=4, help="per client")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--data-dir", default="/tmp/whet-serve-load")
    parser.add_argument("--weights", default="native", help="how the server holds the base: native, f32, bf16")
    parser.add_argument("--prompt", default=SHORT_ANSWER,
                        help="each request's message, %%d taking its number (client x 1000 + request); the default's "
                             "answers stop after about 20 tokens, so prompts weigh as much as answers")
    parser.add_argument("--long-answers", action="store_true",
                        help="ask for a long story instead (%r): every answer runs to --max-tokens" % LONG_ANSWER)
    parser.add_argument("--max-batch", type=int, help="sequences the server decodes together (its default if not given)")
    parser.add_argument("--kv-cache-dtype", help="how the server holds keys and values: f16 or f32 (its default if not given)")
    parser.add_argument("--prefix-cache-tokens", help="positions of recent prompts the server keeps (its default if not given)")
    args = parser.parse_args()
    command = [args.whet, "serve", "--model", args.model, "--model-name", "m", "--port", "0",
               "--data-dir", args.data_dir, "--access-log", "-", "--weights", args.weights]
    if args.max_batch:
        command += ["--max-batch", str(args.max_batch)]
    if args.kv_cache_dtype:
        command += ["--kv-cache-dtype", args.kv_cache_dtype]
    if args.prefix_cache_tokens:
        command += ["--prefix-cache-tokens", args.prefix_cache_tokens]
    server = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    url = None
    for line in server.stderr:
        found = re.search(r"listening on (http://\S+)", line)
        if found:
            url = found.group(1)
            break
    if not url:
        raise SystemExit("whet serve did not start")
    try:
        run_load(url, "none", "m", 1, 1, 8)  # warm-up: page the weights in
        print("| clients | requests | req/s | generated tokens/s | latency p50 | latency p99 | first token p50 | failed |")
        print("|---|---|---|---|---|---|---|---|")
        for clients in [int(c) for c in args.clients.split(",")]:
            r = run_load(url, "none", "m", clients, args.requests, args.max_tokens,
                         LONG_ANSWER if args.long_answers else args.prompt)
            print("| %d | %d | %.2f | %.1f | %.2f s | %.2f s | %.2f s | %d |" % (
                clients, r["requests"], r["requests_per_s"], r["tokens_per_s"], r["p50_s"], r["p99_s"],
                r["ttft_p50_s"], r["failed"]), flush=True)
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    sys.exit(main())
