"""PSI, Jensen-Shannon divergence and the 95th percentile by numpy, for tests/eval/test_drift_stats.cpp.

Writes OUT/drift_stats.json: random count vectors p (the reference) and q (the
window), some with empty bins, and
  psi = sum((a - e) * ln(a / e)) over proportions e of p and a of q, each floored at 1e-4
  js  = Jensen-Shannon divergence in bits, 0.5 KL(P||M) + 0.5 KL(Q||M), M = (P + Q) / 2
  p95 = numpy.percentile(sample, 95) (linear interpolation)
scipy is not among Debian's set-up packages here, so JS is written from its
definition with numpy's own logarithms, independently of the C++.
"""
import json
import sys

import numpy as np

EPSILON = 1e-4


def psi(p, q):
    e = np.maximum(p / p.sum(), EPSILON)
    a = np.maximum(q / q.sum(), EPSILON)
    return float(np.sum((a - e) * np.log(a / e)))


def kl_bits(x, m):
    mask = x > 0
    return float(np.sum(x[mask] * np.log2(x[mask] / m[mask])))


def js(p, q):
    pp, qq = p / p.sum(), q / q.sum()
    m = (pp + qq) / 2
    return 0.5 * kl_bits(pp, m) + 0.5 * kl_bits(qq, m)


def main(out):
    rng = np.random.default_rng(20261205)
    cases = []
    for i in range(24):
        size = int(rng.integers(2, 40))
        p = rng.integers(0, 50, size).astype(float)
        q = rng.integers(0, 50, size).astype(float)
        if i % 3 == 0:  # empty bins on one side only
            p[rng.integers(0, size)] = 0
            q[rng.integers(0, size)] = 0
        p[0] += 1  # never all empty
        q[-1] += 1
        sample = rng.lognormal(2.0, 0.7, int(rng.integers(1, 300)))
        cases.append({"p": p.tolist(), "q": q.tolist(), "psi": psi(p, q), "js": js(p, q),
                      "sample": sample.tolist(), "p95": float(np.percentile(sample, 95))})
    with open(f"{out}/drift_stats.json", "w") as f:
        json.dump(cases, f)


if __name__ == "__main__":
    main(sys.argv[1])
