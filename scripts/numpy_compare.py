#!/usr/bin/env python3
"""The native engine against NumPy on the same problem, timed in one run (`make bench-numpy`).

Breast cancer (www/data/breast_cancer.csv), split here 455 / 114 by a seeded
permutation, standardised with the training statistics, binary logistic regression with
R(θ) = (1/n) Σ l_i + (λ/2)‖w‖², λ = 0.01, bias unregularised (docs/conventions.md).

Three jobs, each timed as the median of several warm runs:
- the fit: Newton from zero to ‖∇R‖∞ < 1e-10;
- exact influence of every training point on every test point at θ̂: the Hessian built
  and factorised, then (1/n) g_tᵀ H⁻¹ g_i for loss and for the prediction of every
  (train, test) pair, and every self-influence (the two products and one factorisation
  of issue 10's target); with the fit, the sum of the two medians;
- the full leave-one-out: 455 refits with w_i = 0, each Newton warm-started from θ̂,
  with the changed loss of every test point.

NumPy side: the plain vectorised code a Python user would write (each Newton step forms
Xᵀ diag(c) X with BLAS and solves). Native side: the CLI as `cargo build --release`
builds it, run with `--repeat` so that it too is timed warm, in one process: its own
phase timings (fit, influence, loo; each the median over the runs) from its JSON. The script also checks that both computed the same numbers.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAMBDA = 0.01
TOL = 1e-10
RUNS = 15


def load():
    with open(os.path.join(ROOT, "www/data/breast_cancer.csv")) as f:
        header = f.readline().strip().split(",")
        rows = [line.strip().split(",") for line in f if line.strip()]
    x = np.array([[float(v) for v in r[:-1]] for r in rows])
    labels = [r[-1] for r in rows]
    return header, x, labels


def design(x):
    return np.hstack([x, np.ones((x.shape[0], 1))])


def newton(xt, y, w, theta, n):
    """Minimise (1/n) Σ w_i l_i + (λ/2)‖w‖² from theta (the last entry is the bias)."""
    reg = np.full(xt.shape[1], LAMBDA)
    reg[-1] = 0.0
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(xt @ theta)))
        grad = xt.T @ (w * (p - y)) / n + reg * theta
        if np.max(np.abs(grad)) < TOL:
            break
        c = w * p * (1.0 - p) / n
        h = (xt * c[:, None]).T @ xt + np.diag(reg)
        theta = theta - np.linalg.solve(h, grad)
    return theta


def losses(xt, y, theta):
    z = xt @ theta
    return np.logaddexp(0.0, z) - y * z


def fit(xt, y):
    n = xt.shape[0]
    return newton(xt, y, np.ones(n), np.zeros(xt.shape[1]), n)


def factorise(xt, y, xs, theta):
    n = xt.shape[0]
    p = 1.0 / (1.0 + np.exp(-(xt @ theta)))
    reg = np.full(xt.shape[1], LAMBDA)
    reg[-1] = 0.0
    h = (xt * (p * (1.0 - p))[:, None]).T @ xt / n + np.diag(reg)
    chol = np.linalg.cholesky(h)
    g_train = xt * (p - y)[:, None]
    # H⁻¹ g_iᵀ for every training point, by the Cholesky factor.
    a = np.linalg.solve(chol.T, np.linalg.solve(chol, g_train.T))
    ps = 1.0 / (1.0 + np.exp(-(xs @ theta)))
    return g_train, a, ps


def scores(xs, ys, ps, g_train, a, n):
    g_test = xs * (ps - ys)[:, None]
    dloss = g_test @ a / n
    dpred = (xs * (ps * (1.0 - ps))[:, None]) @ a / n
    self_influence = np.einsum("ij,ji->i", g_train, a)
    return dloss, dpred, self_influence


def leave_each_out(xt, y, xs, ys, theta):
    n = xt.shape[0]
    base = losses(xs, ys, theta)
    out = np.empty((xs.shape[0], n))
    for i in range(n):
        w = np.ones(n)
        w[i] = 0.0
        out[:, i] = losses(xs, ys, newton(xt, y, w, theta, n)) - base
    return out


def median_ms(job):
    times = []
    for _ in range(RUNS):
        t = time.perf_counter()
        result = job()
        times.append(1e3 * (time.perf_counter() - t))
    return statistics.median(times), result


def main():
    header, x, labels = load()
    order = np.random.default_rng(0).permutation(len(x))
    n_test = round(0.2 * len(x))
    test_rows, train_rows = order[:n_test], order[n_test:]
    classes = sorted(set(labels))
    y_all = np.array([float(classes.index(v)) for v in labels])
    tmp = tempfile.mkdtemp()
    files = {}
    for name, rows in (("train", train_rows), ("test", test_rows)):
        files[name] = os.path.join(tmp, f"{name}.csv")
        with open(files[name], "w") as f:
            f.write(",".join(header) + "\n")
            for r in rows:
                f.write(",".join(repr(float(v)) for v in x[r]) + "," + labels[r] + "\n")
    mean, sd = x[train_rows].mean(axis=0), x[train_rows].std(axis=0)
    xt, xs = design((x[train_rows] - mean) / sd), design((x[test_rows] - mean) / sd)
    y, ys = y_all[train_rows], y_all[test_rows]
    n = len(y)

    def influence_all(theta):
        g_train, a, ps = factorise(xt, y, xs, theta)
        return scores(xs, ys, ps, g_train, a, n)

    np_fit_ms, theta = median_ms(lambda: fit(xt, y))
    np_influence_ms, (dloss, _, _) = median_ms(lambda: influence_all(theta))
    np_loo_ms, actual = median_ms(lambda: leave_each_out(xt, y, xs, ys, theta))

    cli = os.path.join(ROOT, "target/release/attrib")
    out = os.path.join(tmp, "out.json")
    subprocess.run(
        [cli, "influence", "--train", files["train"], "--test", files["test"], "--target",
         "diagnosis", "--model", "logistic", "--l2", str(LAMBDA), "--standardize", "--loo",
         "--repeat", str(RUNS), "--out", out],
        check=True)
    with open(out) as f:
        result = json.load(f)
    t = result["timings_ms"]
    rust_dloss = np.array([t["pred_loo_dloss"] for t in result["test"]])
    rust_actual = np.array([t["actual_loo_dloss"] for t in result["test"]])
    fit_ms, influence_ms, loo_ms = t["fit"], t["influence"], t["loo"]

    # The same numbers: loss changes do not depend on which class is called 1.
    scale = np.max(np.abs(dloss))
    agree_pred = np.max(np.abs(rust_dloss - dloss)) / scale
    agree_actual = np.max(np.abs(rust_actual - actual)) / np.max(np.abs(actual))
    print(f"numpy {np.__version__} (BLAS: {blas_name()}), "
          f"{os.cpu_count()} cores, median of {RUNS} runs")
    print(f"same numbers: predicted LOO loss changes differ by {agree_pred:.1e}, actual by "
          f"{agree_actual:.1e} (relative to the largest)")
    print(f"{'job':<46} {'NumPy':>10} {'CLI':>10} {'NumPy / CLI':>12}")
    for job, a_ms, b_ms in (("fit (Newton to theta)", np_fit_ms, fit_ms),
                            ("exact influence at theta, all 455 x 114 pairs", np_influence_ms, influence_ms),
                            ("fit + exact influence (sum)", np_fit_ms + np_influence_ms, fit_ms + influence_ms),
                            ("full leave-one-out (455 refits)", np_loo_ms, loo_ms)):
        print(f"{job:<46} {a_ms:>8.2f}ms {b_ms:>8.2f}ms {a_ms / b_ms:>11.1f}x")
    if agree_pred > 1e-6 or agree_actual > 1e-4:
        sys.exit("the two computed different numbers")


def blas_name():
    try:
        return np.show_config(mode="dicts")["Build Dependencies"]["blas"]["name"]
    except Exception:  # older NumPy: no dict mode
        return "unknown"


if __name__ == "__main__":
    main()
