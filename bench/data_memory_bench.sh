#!/usr/bin/env bash
# `whet data prepare` on a file larger than the memory it is given: long
# records (500 to 700 words, bench/generate_records.py), every default stage
# on (normalize, filter, PII, exact and near dedup, a 1% validation and test
# split with the leakage check), run in a cgroup whose memory limit is a third
# of the file's size. Prints the file size, the limit, the time and the peak
# RSS. Without a writable cgroup (v1 memory controller or v2) it runs unlimited
# and says so. The data goes to $WORK (default /tmp/whet-data-bench).
# Usage: bench/data_memory_bench.sh [path/to/whet]   (RECORDS overrides the count)
set -euo pipefail
whet="$(realpath "${1:-build/whet}")"
records="${RECORDS:-400000}"
work="${WORK:-/tmp/whet-data-bench}"
mkdir -p "$work"
data="$work/long_$records.jsonl"

[ -f "$data" ] || python3 "$(dirname "$0")/generate_records.py" "$records" "$data" 500 700
bytes=$(stat -c %s "$data")
limit=$((bytes / 3))
config="$work/memory.yaml"
printf 'output_dir: %s\nsources:\n  - path: %s\nsplit:\n  validation: 0.01\n  test: 0.01\n' "$work/out_memory" "$data" >"$config"

# A memory cgroup for this run, when the machine lets us make one.
group=""
if [ -w /sys/fs/cgroup/memory ]; then
  group=/sys/fs/cgroup/memory/whet-bench-$$
  mkdir "$group" && echo "$limit" >"$group/memory.limit_in_bytes" && echo 0 >"$group/memory.swappiness" 2>/dev/null || true
elif [ -w /sys/fs/cgroup/cgroup.subtree_control ]; then
  group=/sys/fs/cgroup/whet-bench-$$
  mkdir "$group" && echo "$limit" >"$group/memory.max" && echo 0 >"$group/memory.swap.max"
fi
trap '[ -n "$group" ] && rmdir "$group" 2>/dev/null || true' EXIT
start=$(date +%s.%N)
if [ -n "$group" ]; then
  bash -c "echo \$\$ > $group/cgroup.procs && exec \"$whet\" data prepare \"$config\"" 2>"$work/memory.log" >/dev/null
  shown="$((limit / 1048576)) MiB (cgroup)"
else
  "$whet" data prepare "$config" 2>"$work/memory.log" >/dev/null
  shown="none (no writable cgroup)"
fi
seconds=$(echo "$(date +%s.%N) - $start" | bc -l)
rss="$(sed -nE 's/.*peak RSS ([0-9]+) MiB.*/\1/p' "$work/memory.log")"
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores"
echo "| records | file | memory limit | seconds | records/s | peak RSS |"
echo "|---|---|---|---|---|---|"
printf '| %s | %s MiB | %s | %.0f | %.0f | %s MiB |\n' "$records" "$((bytes / 1048576))" "$shown" "$seconds" \
  "$(echo "$records / $seconds" | bc -l)" "$rss"
grep -E '^(dedup|split|leakage):' "$work/memory.log"
