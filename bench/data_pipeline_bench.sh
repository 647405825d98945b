#!/usr/bin/env bash
# Data pipeline benchmark: records/s of deduplication (exact + MinHash near
# duplicates) and of PII scrubbing on a generated 1-million-record JSONL file,
# each in its own `whet data prepare` process so that its peak RSS is its own.
# The file goes to $WORK (default /tmp/whet-data-bench), never into the repo.
# Usage: bench/data_pipeline_bench.sh [path/to/whet]   (RECORDS overrides the count)
set -euo pipefail
whet="$(realpath "${1:-build/whet}")"
records="${RECORDS:-1000000}"
work="${WORK:-/tmp/whet-data-bench}"
mkdir -p "$work"
data="$work/records_$records.jsonl"

# Seeded prompts of 12 to 40 words: 5% exact copies and 5% near copies (one word
# changed) of earlier ones, 5% with an e-mail address, phone, card, IBAN or IP.
if [ ! -f "$data" ]; then
  python3 - "$records" "$data" <<'PY'
import itertools, json, random, sys
n, path = int(sys.argv[1]), sys.argv[2]
rng = random.Random(1)
# A vocabulary of 20000 made-up words with Zipf-like use, so that unrelated
# prompts share about as much as unrelated sentences do.
syllables = "ka lo mi tu re sa ne vi do pa li go be ru fe zo".split()
words = ["".join(rng.choice(syllables) for _ in range(rng.randint(1, 4))) for _ in range(20000)]
cumulative = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(words))))
pii = ["write to jane.doe@example.com", "call +44 20 7946 0958", "card 4111 1111 1111 1111",
       "pay DE89 3704 0044 0532 0130 00", "server 192.168.10.24"]
made = []
with open(path, "w") as out:
    for i in range(n):
        r = rng.random()
        if made and r < 0.05:
            prompt = rng.choice(made)
        elif made and r < 0.10:
            ws = rng.choice(made).split(); ws[rng.randrange(len(ws))] = rng.choice(words); prompt = " ".join(ws)
        else:
            prompt = f"item {i}: " + " ".join(rng.choices(words, cum_weights=cumulative, k=rng.randint(12, 40)))
            if r < 0.15: prompt += ", " + rng.choice(pii)
            if len(made) < 10000: made.append(prompt)
        out.write(json.dumps({"prompt": prompt, "completion": rng.choice(words[:50])}) + "\n")
PY
fi

run() {  # name, then the YAML body after sources
  local name="$1" config="$work/$1.yaml"
  printf 'output_dir: %s\nsources:\n  - path: %s\n%s\n' "$work/out_$name" "$data" "$2" >"$config"
  "$whet" data prepare "$config" 2>"$work/$name.log" >/dev/null
  local line seconds in
  line="$(grep -E "^$3: " "$work/$name.log")"
  in="$(sed -E 's/^[a-z]+: ([0-9]+) .*/\1/' <<<"$line")"
  seconds="$(sed -E 's/.* in ([0-9.]+) s$/\1/' <<<"$line")"
  rss="$(sed -nE 's/.*peak RSS ([0-9]+) MiB.*/\1/p' "$work/$name.log")"
  printf '| %s | %s | %s | %.0f | %s MiB |\n' "$name" "$in" "$seconds" "$(echo "$in / $seconds" | bc -l)" "$rss"
}

echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $records records ($(du -h "$data" | cut -f1))"
echo "| stage | records in | seconds | records/s | peak RSS (whole run) |"
echo "|---|---|---|---|---|"
run dedup $'normalize:\n  unicode: none\npii:\n  mode: off' dedup
run pii $'normalize:\n  unicode: none\ndedup:\n  exact: false\n  near: off' pii
