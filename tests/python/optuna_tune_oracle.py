"""Prints what Optuna computes for the hand-made cases of tests/tune: the log
densities of TPE's Parzen estimators, and which trials the median and
successive-halving pruners stop at which step. The C++ tests hold these
numbers; they do not run this script. Run it with Optuna from PyPI in a
scratch virtualenv under ~/.cache/whet:

    python3 -m venv ~/.cache/whet/venv-optuna && ~/.cache/whet/venv-optuna/bin/pip install optuna
    ~/.cache/whet/venv-optuna/bin/python tests/python/optuna_tune_oracle.py
"""
import json
import math

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.samplers._tpe.parzen_estimator import _ParzenEstimator, _ParzenEstimatorParameters
from optuna.samplers._tpe.sampler import default_weights

optuna.logging.set_verbosity(optuna.logging.ERROR)

PARAMETERS = _ParzenEstimatorParameters(
    prior_weight=1.0, consider_magic_clip=True, consider_endpoints=False, weights=default_weights, multivariate=True
)

# name: (search space, observations by parameter (internal values), points by parameter)
PARZEN_CASES = {
    "float": ({"x": FloatDistribution(0, 1)}, {"x": [0.2, 0.5, 0.6]}, {"x": [0.0, 0.3, 0.55, 0.9]}),
    "float_log": (
        {"x": FloatDistribution(1e-5, 1e-2, log=True)},
        {"x": [1e-4, 3e-4, 5e-3]},
        {"x": [1e-5, 2e-4, 1e-3]},
    ),
    "float_step": ({"x": FloatDistribution(0, 0.2, step=0.05)}, {"x": [0.05, 0.1]}, {"x": [0.0, 0.05, 0.2]}),
    "int": ({"n": IntDistribution(1, 8)}, {"n": [2, 2, 7]}, {"n": [1, 2, 5, 8]}),
    "int_step": ({"n": IntDistribution(4, 32, step=4)}, {"n": [8, 16]}, {"n": [4, 12, 32]}),
    "int_log": ({"n": IntDistribution(1, 64, log=True)}, {"n": [4, 32]}, {"n": [1, 5, 64]}),
    "categorical": ({"c": CategoricalDistribution(["a", "b", "c"])}, {"c": [0, 2, 2]}, {"c": [0, 1, 2]}),
    "joint": (
        {"x": FloatDistribution(-10, 10), "c": CategoricalDistribution(["a", "b"])},
        {"x": [1.0, -3.0, 4.0], "c": [0, 1, 0]},
        {"x": [0.0, 0.0, 5.0], "c": [0, 1, 1]},
    ),
    "ramp": (
        {"x": FloatDistribution(0, 1)},
        {"x": [((7 * i) % 30) / 30 for i in range(30)]},
        {"x": [0.1, 0.5, 0.95]},
    ),
    "prior_only": ({"x": FloatDistribution(0, 1)}, {"x": []}, {"x": [0.0, 0.5]}),
}


def parzen_cases():
    out = {}
    for name, (space, observations, points) in PARZEN_CASES.items():
        estimator = _ParzenEstimator(
            {k: np.asarray(v, dtype=float) for k, v in observations.items()}, space, PARAMETERS
        )
        out[name] = estimator.log_pdf({k: np.asarray(v, dtype=float) for k, v in points.items()}).tolist()
    return out


def prune_table(pruner, table, direction):
    """Runs the trials of `table` (lists of values at steps first_step, first_step + 1, ...) in
    order, each until the pruner stops it; returns {trial: step it was stopped at}."""
    study = optuna.create_study(direction=direction, pruner=pruner)
    stopped = {}
    for number, (first_step, values) in enumerate(table):
        trial = study.ask()
        for step, value in enumerate(values, start=first_step):
            trial.report(value, step)
            if trial.should_prune():
                stopped[number] = step
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                break
        else:
            study.tell(trial, values[-1])
    return stopped


MEDIAN_TABLE = [
    (0, [1.0, 0.9, 0.8, 0.7]),
    (0, [2.0, 1.8, 1.6, 1.4]),
    (0, [1.5, 1.3, 1.1, 0.9]),
    (0, [3.0, 2.5, 2.0, 1.5]),
    (0, [1.2, 1.0, 0.9, 0.8]),
    (0, [1.4, 1.35, 1.0, 0.85]),
    (0, [1.6, 1.0, 1.0, 1.0]),
    (0, [1.5, 1.2, 1.2, 1.2]),
    (0, [0.5, 2.0, 2.0, 2.0]),
    (0, [1.4, 1.0, 1.0, 1.0]),
    (0, [math.nan, 1.0, 1.0, 1.0]),
]

HALVING_TABLE = [
    (1, [1.0, 0.8, 0.6, 0.5]),
    (1, [1.2, 0.1, 0.1, 0.1]),
    (1, [0.9, 0.9, 0.7, 0.6]),
    (1, [1.1, 0.7, 0.55, 0.4]),
    (1, [0.95, 0.75, 0.58, 0.45]),
    (1, [0.92, 0.7, 0.5, 0.47]),
]


def negated(table):
    return [(first, [-v for v in values]) for first, values in table]


if __name__ == "__main__":
    median = optuna.pruners.MedianPruner()
    halving = optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=2)
    print(json.dumps({
        "optuna": optuna.__version__,
        "parzen_log_pdf": parzen_cases(),
        "median_minimize": prune_table(median, MEDIAN_TABLE, "minimize"),
        "median_maximize": prune_table(optuna.pruners.MedianPruner(), negated(MEDIAN_TABLE), "maximize"),
        "halving_minimize": prune_table(halving, HALVING_TABLE, "minimize"),
        "halving_rate_1": prune_table(
            optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=2, min_early_stopping_rate=1),
            HALVING_TABLE, "minimize"),
        "halving_auto": prune_table(
            optuna.pruners.SuccessiveHalvingPruner(reduction_factor=2), HALVING_TABLE, "minimize"),
        "halving_maximize": prune_table(
            optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=2), negated(HALVING_TABLE),
            "maximize"),
    }, indent=1))
