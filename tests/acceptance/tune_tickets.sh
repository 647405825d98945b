#!/usr/bin/env bash
# The real-model acceptance of `whet tune` (issue 17; docs/tune.md, "The acceptance run"):
#   tests/acceptance/tune_tickets.sh WHET_BINARY SCRATCH_DIR     (make acceptance-tune)
# 1. a study of 12 trials over examples/tickets/space.yaml, each trial config.yaml with
#    short_trials.yaml laid over it: its value is macro-F1 on val.jsonl, never test.jsonl;
# 2. the hand-written values trained the same way, the best trial's adapter reused;
# 3. both on test.jsonl with `whet eval` (its paired bootstrap), then the verdict
#    (tune_tickets_verdict.py): it passes unless the hand config is significantly
#    better than the best one, and prints the study's parameter importance.
# Running it again on the same SCRATCH_DIR continues: the study resumes, and a
# finished hand run or evaluation is kept. TUNE_TIME bounds the study (default 4h):
# no trial starts after it, and the comparison uses the trials done by then.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 WHET_BINARY SCRATCH_DIR" >&2; exit 2; }
whet="$(realpath "$1")"
mkdir -p "$2"
scratch="$(realpath "$2")"
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../.."  # the configs name their data from the repository's root
# On a shared machine OpenMP's threads spin at every barrier while the other is
# descheduled: measured under load, 84% of a trial's CPU time went to libgomp's
# spin-wait. Waiting passively changes no number a run computes.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
tickets=examples/tickets
trials=12
study="$scratch/study"
start=$SECONDS

say() { printf '\n== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }
elapsed() { printf '%dm%02ds' $(( $1 / 60 )) $(( $1 % 60 )); }

# config.yaml without the keys short_trials.yaml sets, then those keys (config.yaml's
# keys are one line each, and a Whet config refuses a repeated key).
say "study config: $tickets/config.yaml with $tickets/short_trials.yaml laid over it"
overlaid="$(sed -n 's/^\([a-z_][a-z0-9_]*\):.*/\1/p' $tickets/short_trials.yaml | paste -sd'|')"
{ grep -vE "^($overlaid):" $tickets/config.yaml; cat $tickets/short_trials.yaml; } > "$scratch/study_config.yaml"

say "1. whet tune: $trials trials"
study_start=$SECONDS
"$whet" tune "$scratch/study_config.yaml" --space $tickets/space.yaml --trials $trials \
  --metric macro_f1 --pruner none --time "${TUNE_TIME:-4h}" --study "$study"
study_seconds=$(( SECONDS - study_start ))
[ -f "$study/best.yaml" ] || { echo "FAILED: the study has no complete trial (see $study/report.md)" >&2; exit 1; }

say "2. the hand-written values, trained as the trials were"
if [ ! -f "$scratch/hand/adapter/adapter_config.json" ]; then
  "$whet" train "$scratch/study_config.yaml" --set "output_dir=$scratch/hand"
fi
# best.yaml is the best trial's resolved config with output_dir moved; where it
# equals the trial's own, the trial's adapter is the one best.yaml would train.
best_trial="$(sed -n 's/^# whet tune: trial \([0-9]*\) of .*/\1/p' "$study/best.yaml")"
best_run="$study/trials/$best_trial"
same_config() { diff -q <(grep -vE '^(#|output_dir:)' "$1") <(grep -vE '^(#|output_dir:)' "$2") >/dev/null; }
if same_config "$study/best.yaml" "$best_run/config.yaml"; then
  echo "best.yaml is trial $best_trial's config: its adapter is reused ($best_run/adapter)"
  best_adapter="$best_run/adapter"
else
  echo "best.yaml differs from trial $best_trial's config: training it"
  [ -f "$scratch/best/adapter/adapter_config.json" ] ||
    "$whet" train "$study/best.yaml" --set "output_dir=$scratch/best"
  best_adapter="$scratch/best/adapter"
fi

say "3. both on $tickets/test.jsonl (whet eval: intervals and paired bootstrap)"
eval_start=$SECONDS
# Each adapter is compared with those listed before it: best first, so the row
# `hand` against `best` holds p = the share of resamples in which hand is not better.
if [ "$scratch/eval.json" -nt "$best_adapter/adapter_config.json" ] &&
   [ "$scratch/eval.json" -nt "$scratch/hand/adapter/adapter_config.json" ]; then
  echo "kept $scratch/eval.json: newer than both adapters"
else
  "$whet" eval --weights auto --task $tickets/test.jsonl --adapter "best=$best_adapter" \
    --adapter "hand=$scratch/hand/adapter" --forgetting --json-out "$scratch/eval.json" \
    --report "$scratch/eval.md" >/dev/null
fi
eval_seconds=$(( SECONDS - eval_start ))

say "result"
echo "study: $(elapsed $study_seconds) this time ($study/report.md); evaluation: $(elapsed $eval_seconds); total: $(elapsed $(( SECONDS - start )))"
# A section of report.md: its heading and what follows up to the next heading.
section() { awk -v heading="## $1" '$0 == heading { keep = 1; print; next } /^## / { keep = 0 } keep' "$study/report.md"; }
section Trials
section "Parameter importance"
exec /usr/bin/python3 "$here/tune_tickets_verdict.py" "$scratch/eval.json" "$study" "$scratch/hand"
