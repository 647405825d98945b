#!/usr/bin/env python3
"""Makes a study with Optuna itself, for Whet to read: a seeded search over the
four kinds of parameter (log float, stepped int, stepped float, categorical of
mixed choices; one conditional), with intermediate values (NaN and infinities
among them), trials complete, pruned, failed, and one left running, user
attributes on the study and its trials.

    make_optuna_study.py STUDY_DB EXPECTED.json

EXPECTED.json describes the study as Optuna reads it back, in the form of
tests/tune/study_json.h (check_optuna_study.py documents it).
"""
import json
import math
import sys
from pathlib import Path

import optuna
from optuna.trial import TrialState

STUDY_NAME = "optuna-made"


def number(value):
    if value is None or math.isfinite(value):
        return value
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


def objective(trial):
    learning_rate = trial.suggest_float("learning_rate", 1e-5, 1e-2, log=True)
    method = trial.suggest_categorical("method", ["lora", "full", None, 3, True])
    if method == "lora":
        trial.suggest_int("lora_r", 4, 32, step=4)
    trial.suggest_float("lora_dropout", 0.0, 0.3, step=0.1)
    trial.set_user_attr("run_dir", f"runs/trial-{trial.number}")
    trial.set_user_attr("config", {"learning_rate": learning_rate, "method": method, "note": "café"})
    loss = 3.0 + math.log10(learning_rate)
    for step in range(3):
        reported = [loss, float("nan"), float("inf"), float("-inf")][(trial.number + step) % 4]
        trial.report(reported, step)
    if trial.number % 5 == 3:
        trial.set_user_attr("note", "pruned by the script")
        raise optuna.TrialPruned()
    if trial.number % 5 == 4:
        raise RuntimeError("a failed trial")
    return loss


def trial_json(trial):
    return {
        "number": trial.number,
        "state": trial.state.name,
        "params": trial.params,
        "distributions": {
            name: json.loads(optuna.distributions.distribution_to_json(d)) for name, d in trial.distributions.items()
        },
        "value": number(trial.value),
        "intermediate_values": {str(step): number(v) for step, v in trial.intermediate_values.items()},
        "note": trial.user_attrs.get("note", ""),
        "user_attrs": trial.user_attrs,
    }


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    db_path, expected_path = sys.argv[1], Path(sys.argv[2])
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(
        storage=f"sqlite:///{db_path}", study_name=STUDY_NAME, direction="maximize",
        sampler=optuna.samplers.RandomSampler(seed=7))
    study.set_user_attr("objective", "eval_macro_f1")
    study.set_user_attr("space", {"learning_rate": {"type": "float", "log": True}})
    study.optimize(objective, n_trials=10, catch=(RuntimeError,))
    running = study.ask()  # left running, as by a process that stopped
    running.suggest_float("learning_rate", 1e-5, 1e-2, log=True)
    running.report(1.25, 0)

    trials = study.get_trials(deepcopy=False)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    expected = {
        "study_name": STUDY_NAME,
        "direction": "maximize",
        "study_user_attrs": study.user_attrs,
        "trials": [trial_json(t) for t in trials],
        "best_trial": study.best_trial.number if complete else None,
    }
    expected_path.write_text(json.dumps(expected, indent=1))
    print(f"make_optuna_study: {len(trials)} trials in {db_path}")


if __name__ == "__main__":
    main()
