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
import urllib.request

from openai import OpenAI


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# The request's number comes first, so that prompts share only the chat
# template's system message, as different users' questions would: the server
# copies a shared start from its prefix cache instead of reading it again.
SHORT_ANSWER = "Request %d: describe a fruit in one sentence."
LONG_ANSWER = "Request %d: tell me a long story about a fruit."


def generated_tokens(url, key):
    """The server's count of generated tokens so far (its Prometheus counter, every model)."""
    request = urllib.request.Request(url + "/metrics", headers={"Authorization": "Bearer " + key})
    with urllib.request.urlopen(request, timeout=60) as response:
        lines = response.read().decode().splitlines()
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines if line.startswith("whet_generated_tokens_total"))


def run_load(url, key, model, clients, per_client, max_tokens, prompt=SHORT_ANSWER):
    """clients x per_client requests, taken from one pool by whichever client is free
    (as `ab -n N -c C` does): answers of different lengths then leave no client idle
    while others still have several requests to send, and only the last round runs
    with fewer than `clients` in flight. busy_tokens_per_s counts the server's
    generated tokens until the pool runs out, while every client has a request in
    flight; tokens_per_s the whole run's, the last round's tail included."""
    latencies, first_tokens, failures, tokens = [], [], [], [0]
    lock = threading.Lock()
    pool = iter(range(clients * per_client))
    drained = []  # (time, server's generated tokens) when the pool ran out

    def next_request():
        with lock:
            n = next(pool, None)
            if n is None and not drained:
                drained.append((time.time(), generated_tokens(url, key)))
            return n

    def one_client():
        client = OpenAI(base_url=url + "/v1", api_key=key, max_retries=0, timeout=600)
        while (n := next_request()) is not None:
            started = time.time()
            try:
                stream = client.chat.completions.create(
                    model=model, max_tokens=max_tokens, temperature=0.7, seed=n, stream=True,
                    stream_options={"include_usage": True},
                    messages=[{"role": "user", "content": prompt % n}])
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

    started, generated_before = time.time(), generated_tokens(url, key)
    threads = [threading.Thread(target=one_client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.time() - started
    return {"clients": clients, "requests": len(latencies) + len(failures), "failed": len(failures),
            "failures": failures, "wall_s": wall, "requests_per_s": len(latencies) / wall,
            "tokens_per_s": tokens[0] / wall,
            "busy_tokens_per_s": (drained[0][1] - generated_before) / (drained[0][0] - started),
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
    parser.add_argument("--requests", type=int, default=4,
                        help="per client: clients x this many requests, from one pool")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--data-dir", default="/tmp/whet-serve-load")
    parser.add_argument("--weights", default="native", help="how the server holds the base: native, f32, bf16")
    parser.add_argument("--prompt", default=SHORT_ANSWER,
                        help="each request's message, %%d taking its number in the pool; the default's "
                             "answers stop after about 20 tokens, so prompts weigh as much as answers")
    parser.add_argument("--long-answers", action="store_true",
                        help="ask for a long story instead (%r): most answers run to --max-tokens" % LONG_ANSWER)
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
        print("| clients | requests | req/s | generated tokens/s | the same while every client is busy | latency p50 "
              "| latency p99 | first token p50 | failed |")
        print("|---|---|---|---|---|---|---|---|---|")
        for clients in [int(c) for c in args.clients.split(",")]:
            r = run_load(url, "none", "m", clients, args.requests, args.max_tokens,
                         LONG_ANSWER if args.long_answers else args.prompt)
            print("| %d | %d | %.2f | %.1f | %.1f | %.2f s | %.2f s | %.2f s | %d |" % (
                clients, r["requests"], r["requests_per_s"], r["tokens_per_s"], r["busy_tokens_per_s"], r["p50_s"],
                r["p99_s"], r["ttft_p50_s"], r["failed"]), flush=True)
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    sys.exit(main())
