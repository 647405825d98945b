#!/usr/bin/env python3
"""Opens a study database that Whet wrote with Optuna, and checks what Optuna
reads against what Whet meant to write.

    check_optuna_study.py STUDY_DB EXPECTED.json

EXPECTED.json (tests/tune/study_json.h writes it) holds the study's name,
direction and user attributes, and each trial's number, state, parameters (as
the trial used them: a categorical's choice), distributions (as Optuna's JSON),
value, intermediate values, user attributes and, for a re-run, the trial it
re-runs; numbers JSON cannot hold are the strings "nan", "inf", "-inf".

Checked: the database's tables, columns, indexes and foreign keys equal those of
a database Optuna creates, with the same version_info and alembic revision;
optuna.load_study reads every field above as expected; Optuna's best_trial is
Whet's best; optuna-dashboard's API serves the study (its trials, their states,
parameters and intermediate values, the best trial); Optuna can add a trial to
(a copy of) the study. Prints
"optuna study: ok (N trials)" and exits 0, or prints every difference and exits 1.
"""
import json
import math
import shutil
import sqlite3
import sys
import tempfile
import warnings
from pathlib import Path

from wsgiref.util import setup_testing_defaults

import optuna
import optuna_dashboard
from optuna.storages import RetryFailedTrialCallback
from optuna.trial import TrialState

FINISHED = {TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL}


def decode(value):
    """A number as tests/tune/study_json.h writes it, back to a float."""
    return float(value) if isinstance(value, str) else value


def same(a, b):
    """Equal JSON-like values, NaN equal to NaN, and a boolean never equal to a number."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def schema(db_path):
    """Each table's columns (name, type, not null, primary key), unique and plain
    indexes (by their columns) and foreign keys, as SQLite reports them."""
    connection = sqlite3.connect(db_path)
    tables = {}
    names = [r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in names:
        columns = [(r[1], r[2], r[3], r[5]) for r in connection.execute(f'PRAGMA table_info("{table}")')]
        indexes = []
        for index in connection.execute(f'PRAGMA index_list("{table}")'):
            index_columns = [r[2] for r in connection.execute(f'PRAGMA index_info("{index[1]}")')]
            name = index[1] if not index[1].startswith("sqlite_autoindex") else "(constraint)"
            indexes.append((name, index[2], tuple(index_columns)))
        foreign = sorted((r[2], r[3], r[4]) for r in connection.execute(f'PRAGMA foreign_key_list("{table}")'))
        tables[table] = (columns, sorted(indexes), foreign)
    versions = (
        connection.execute("SELECT version_num FROM alembic_version").fetchall(),
        connection.execute("SELECT version_info_id, schema_version, library_version FROM version_info").fetchall(),
    )
    connection.close()
    return tables, versions


def check_schema(db_path, scratch, problems):
    fresh = scratch / "optuna-made.db"
    optuna.create_study(storage=f"sqlite:///{fresh}", study_name="fresh")
    (tables, versions), (expected_tables, expected_versions) = schema(db_path), schema(fresh)
    for table in sorted(set(tables) | set(expected_tables)):
        if tables.get(table) != expected_tables.get(table):
            problems.append(f"table {table}: {tables.get(table)} where Optuna has {expected_tables.get(table)}")
    if versions != expected_versions:
        problems.append(f"alembic_version, version_info: {versions} where Optuna writes {expected_versions}")


def check_trial(trial, expected, problems):
    where = f"trial {expected['number']}"
    want = {
        "number": expected["number"],
        "state": expected["state"],
        "params": expected["params"],
        "distributions": expected["distributions"],
        "value": decode(expected["value"]),
        "intermediate_values": {int(step): decode(v) for step, v in expected["intermediate_values"].items()},
        "user_attrs": expected["user_attrs"],
    }
    got = {
        "number": trial.number,
        "state": trial.state.name,
        "params": trial.params,
        "distributions": {
            name: json.loads(optuna.distributions.distribution_to_json(d)) for name, d in trial.distributions.items()
        },
        "value": trial.value,
        "intermediate_values": trial.intermediate_values,
        "user_attrs": trial.user_attrs,
    }
    for key in want:
        if not same(got[key], want[key]):
            problems.append(f"{where}: {key} {got[key]!r}, expected {want[key]!r}")
    if (trial.datetime_start is None) != (trial.state == TrialState.WAITING):
        problems.append(f"{where}: datetime_start {trial.datetime_start} in state {trial.state.name}")
    if (trial.datetime_complete is not None) != (trial.state in FINISHED):
        problems.append(f"{where}: datetime_complete {trial.datetime_complete} in state {trial.state.name}")
    retried = RetryFailedTrialCallback.retried_trial_number(trial)
    if retried != expected.get("retried_from"):
        problems.append(f"{where}: Optuna reads it as a re-run of {retried}, expected {expected.get('retried_from')}")


def check_best(study, expected, problems):
    try:
        best = study.best_trial.number
    except ValueError:  # no complete trial
        best = None
    if best != expected["best_trial"]:
        problems.append(f"Optuna's best trial is {best}, Whet's {expected['best_trial']}")


def dashboard_get(app, path):
    """GET `path` from the dashboard's WSGI app: the status line and the JSON body."""
    environ = {"PATH_INFO": path, "REQUEST_METHOD": "GET"}
    setup_testing_defaults(environ)
    status = []
    body = b"".join(app(environ, lambda line, headers, exc_info=None: status.append(line)))
    return status[0], json.loads(body) if status[0].startswith("200") else body


def check_dashboard(db_path, expected, problems):
    """What optuna-dashboard shows of the study, through the JSON API its pages read."""
    app = optuna_dashboard.wsgi(f"sqlite:///{db_path}")
    status, studies = dashboard_get(app, "/api/studies")
    names = {s["study_name"]: s["study_id"] for s in studies["study_summaries"]} if status.startswith("200") else {}
    if expected["study_name"] not in names:
        problems.append(f"optuna-dashboard lists no study {expected['study_name']}: {status} {studies}")
        return
    status, detail = dashboard_get(app, f"/api/studies/{names[expected['study_name']]}")
    if not status.startswith("200"):
        problems.append(f"optuna-dashboard cannot show the study: {status} {detail}")
        return
    shown = [(t["number"], t["state"].upper(), len(t["params"]), len(t["intermediate_values"])) for t in detail["trials"]]
    meant = [(t["number"], t["state"], len(t["params"]), len(t["intermediate_values"])) for t in expected["trials"]]
    if shown != meant:
        problems.append(f"optuna-dashboard shows the trials (number, state, params, reports) {shown}, not {meant}")
    best = [t["number"] for t in detail["best_trials"]]
    if best != ([] if expected["best_trial"] is None else [expected["best_trial"]]):
        problems.append(f"optuna-dashboard shows the best trials {best}, Whet's best is {expected['best_trial']}")


def check_optuna_adds_a_trial(db_path, expected, scratch, problems):
    """Optuna writes into the study as into its own: a trial with the first
    trial's parameters and distributions (which Optuna checks against the
    study's), numbered after the others."""
    with_params = [t for t in expected["trials"] if t["params"]]
    if not with_params:
        return
    copy = scratch / "continued.db"
    shutil.copy(db_path, copy)
    study = optuna.load_study(study_name=expected["study_name"], storage=f"sqlite:///{copy}")
    template = study.get_trials(deepcopy=False)[with_params[0]["number"]]
    study.add_trial(optuna.trial.create_trial(params=template.params, distributions=template.distributions, value=0.5))
    added = study.get_trials(deepcopy=False)[-1]
    if added.number != len(expected["trials"]) or added.state != TrialState.COMPLETE or added.value != 0.5:
        problems.append(f"the trial Optuna added reads back as {added.number} {added.state.name} {added.value}")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    db_path, expected = Path(sys.argv[1]), json.loads(Path(sys.argv[2]).read_text())
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)  # retried_trial_number
    problems = []
    with tempfile.TemporaryDirectory() as scratch:
        check_schema(db_path, Path(scratch), problems)
        study = optuna.load_study(study_name=expected["study_name"], storage=f"sqlite:///{db_path}")
        if study.direction.name.lower() != expected["direction"]:
            problems.append(f"direction {study.direction.name}, expected {expected['direction']}")
        if not same(study.user_attrs, expected["study_user_attrs"]):
            problems.append(f"study user attributes {study.user_attrs}, expected {expected['study_user_attrs']}")
        trials = study.get_trials(deepcopy=False)
        if len(trials) != len(expected["trials"]):
            problems.append(f"{len(trials)} trials, expected {len(expected['trials'])}")
        for trial, want in zip(trials, expected["trials"]):
            check_trial(trial, want, problems)
        check_best(study, expected, problems)
        check_dashboard(db_path, expected, problems)
        check_optuna_adds_a_trial(db_path, expected, Path(scratch), problems)
    for problem in problems:
        print(f"check_optuna_study: {problem}")
    if problems:
        sys.exit(1)
    print(f"optuna study: ok ({len(expected['trials'])} trials, Optuna {optuna.__version__}, "
          f"optuna-dashboard {optuna_dashboard.__version__})")


if __name__ == "__main__":
    main()
