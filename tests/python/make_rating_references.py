#!/usr/bin/python3
"""numpy references for src/eval/rating_stats.h, checked by tests/eval/test_rating_stats.cpp.

Writes OUT/rating_stats.json:
  bradley_terry  random win tables of 3 to 6 models (ties added as half wins to both
                 sides) and their maximum-likelihood log-strengths, centred to sum 0,
                 found by Newton's method on the log-likelihood: an independent route
                 from Whet's MM iteration to the same maximum
  kappa          random rater-agreement tables and Cohen's kappa from its definition
"""
import argparse
import json
import os

import numpy as np


def bradley_terry_newton(wins):
    """Maximises sum_ij wins[i,j] * log sigmoid(t_i - t_j) with the last t fixed at 0, then centres t."""
    n = wins.shape[0]
    games = wins + wins.T
    t = np.zeros(n)
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(t[:, None] - t[None, :])))  # p[i, j] = P(i beats j)
        gradient = wins.sum(axis=1) - (games * p).sum(axis=1)
        w = games * p * (1 - p)
        hessian = w - np.diag(w.sum(axis=1))
        step = np.linalg.solve(hessian[:-1, :-1], -gradient[:-1])
        t[:-1] += step
        if np.max(np.abs(step)) < 1e-14:
            break
    return t - t.mean()


def random_wins(rng, n):
    """Every ordered pair met 3 to 12 times; ties split half and half. Every model wins and loses
    somewhere, so the maximum exists."""
    wins = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            games = rng.integers(3, 13)
            strength = rng.uniform(0.2, 0.8)
            outcomes = rng.choice(3, size=games, p=[strength * 0.8, (1 - strength) * 0.8, 0.2])
            wins[i, j] += np.sum(outcomes == 0) + 0.5 * np.sum(outcomes == 2)
            wins[j, i] += np.sum(outcomes == 1) + 0.5 * np.sum(outcomes == 2)
    return wins


def kappa(table):
    total = table.sum()
    observed = np.trace(table) / total
    expected = (table.sum(axis=1) / total) @ (table.sum(axis=0) / total)
    return (observed - expected) / (1 - expected)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    out = parser.parse_args().out
    rng = np.random.default_rng(18)
    cases = []
    while len(cases) < 6:
        wins = random_wins(rng, 3 + len(cases) % 4)
        if (wins.sum(axis=1) == 0).any() or (wins.sum(axis=0) == 0).any():
            continue
        cases.append({"wins": wins.tolist(), "log_scores": bradley_terry_newton(wins).tolist()})
    kappas = []
    for k in (2, 3, 4, 4):
        table = rng.integers(0, 15, size=(k, k)) + np.diag(rng.integers(5, 20, size=k))
        kappas.append({"table": table.tolist(), "kappa": float(kappa(table))})
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "rating_stats.json"), "w") as f:
        json.dump({"bradley_terry": cases, "kappa": kappas}, f, indent=1)


if __name__ == "__main__":
    main()
