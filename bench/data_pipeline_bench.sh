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

# Seeded prompts of 12 to 40 words (bench/generate_records.py).
[ -f "$data" ] || python3 "$(dirname "$0")/generate_records.py" "$records" "$data"

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
