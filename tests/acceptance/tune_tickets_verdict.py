#!/usr/bin/env python3
"""The verdict of tests/acceptance/tune_tickets.sh, from what Whet wrote.

    tune_tickets_verdict.py EVAL_JSON STUDY_DIR HAND_RUN_DIR

Prints each trial's time (study.db), the hand run's validation macro-F1 (what
it would have scored as a trial, from its metrics.jsonl), the test macro-F1 of the best and the
hand-written config with their 95% intervals, the paired bootstrap between them
and their general ability against the base, all as `whet eval --json-out` gave
them; nothing is recomputed here.

The rule: the run passes unless the hand-written config is significantly better
than the best one on test macro-F1, i.e. unless whet eval's one-sided paired
bootstrap p-value of "hand is better than best" (the share of resamples in
which hand is not better) is below 0.05. Exit 1 with the reason otherwise.
"""
import datetime
import json
import sqlite3
import sys

SIGNIFICANCE = 0.05  # whet eval's level for "significant"


def trial_seconds(study_dir):
    """(number, state, seconds) of each trial that ran to an end, from Optuna's schema."""
    db = sqlite3.connect(f"file:{study_dir}/study.db?mode=ro", uri=True)
    rows = db.execute(
        "SELECT number, state, datetime_start, datetime_complete FROM trials "
        "WHERE datetime_complete IS NOT NULL AND state != 'FAIL' ORDER BY number").fetchall()
    at = datetime.datetime.fromisoformat
    return [(n, state, (at(end) - at(begin)).total_seconds()) for n, state, begin, end in rows]


def last_validation_f1(run_dir):
    """The run's last evaluation's macro-F1 on eval_task, as its metrics.jsonl logged it."""
    with open(f"{run_dir}/metrics.jsonl") as f:
        values = [json.loads(line).get("eval_macro_f1") for line in f]
    return [v for v in values if v is not None][-1]


def task_runs(report, role):
    return [t for t in report["tasks"] if t["role"] == role]


def metric_text(result, name):
    m = result["metrics"][name]
    return f"{m['value']:.3f} [{m['low']:.3f}, {m['high']:.3f}]"


def print_forgetting(report):
    for task in task_runs(report, "forgetting"):
        cells = [f"{r['model']} {metric_text(r, next(iter(r['metrics'])))}" for r in task["results"]]
        print(f"  {task['path']}: " + "; ".join(cells))
    for r in report["forgetting"]["regressions"]:
        print(f"  flagged: {r['model']} {r['task']} {r['metric']} {r['baseline']:.4g} -> {r['value']:.4g}")


def main(eval_json, study_dir, hand_dir):
    times = trial_seconds(study_dir)
    if times:
        seconds = [s for _, _, s in times]
        print(f"trials: {len(times)}, {sum(seconds) / len(seconds):.0f} s each on average "
              f"({min(seconds):.0f} to {max(seconds):.0f} s)")
    print(f"the hand-written values' validation macro-F1, as a trial would score them: "
          f"{last_validation_f1(hand_dir):.4f}")
    with open(eval_json) as f:
        report = json.load(f)
    [task] = task_runs(report, "task")
    rows = {r["model"]: r for r in task["results"]}
    print(f"{task['path']} ({task['items']} items), 95% bootstrap intervals "
          f"({report['bootstrap']['resamples']} resamples, seed {report['bootstrap']['seed']}):")
    for model in ("base", "best", "hand"):
        print(f"  {model:5} macro_f1 {metric_text(rows[model], 'macro_f1')}  "
              f"accuracy {metric_text(rows[model], 'accuracy')}")
    [paired] = [c for c in task["comparisons"]
                if c["model"] == "hand" and c["baseline"] == "best" and c["metric"] == "macro_f1"]
    print(f"paired bootstrap, macro_f1: hand {paired['value']:.3f} vs best {paired['baseline_value']:.3f}, "
          f"difference best - hand {paired['baseline_value'] - paired['value']:+.3f}; "
          f"p(hand better than best) = {paired['p_value']:.3f}")
    print("general ability (whet eval --forgetting):")
    print_forgetting(report)
    if paired["p_value"] < SIGNIFICANCE:
        print(f"FAILED: the hand-written config is significantly better than the study's best on test macro-F1 "
              f"(p {paired['p_value']:.3f} < {SIGNIFICANCE})", file=sys.stderr)
        return 1
    print(f"PASSED: the study's best is not significantly worse than the hand-written config "
          f"(p {paired['p_value']:.3f} >= {SIGNIFICANCE})")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
