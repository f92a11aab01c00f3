"""Many-models benchmark: :func:`fastnn.fit_many` against the same models fitted one after
another, and a random search (which batches its trials with fit_many) against its trials
run sequentially.

Setup: x (20000, 20) float32, 2 classes, MLP 20 -> 64 -> 64 -> 2 (ReLU, dropout), batch 32,
Adam. Both sides are validated first: the fit_many models must equal, bitwise, the models
trained alone, and the search's scores must equal the sequential trials' scores. Times are
the best of ``--repeats`` runs (``time.perf_counter``); the load average is reported
before and after, since timings on a shared machine are noisy.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np


def _data(n, d, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(np.float32)
    w = rng.standard_normal(d)
    y = (x @ w + 0.3 * rng.standard_normal(n) > 0).astype(np.int64)
    return x, y


def _build(d, hidden):
    import fastnn as fnn

    L = fnn.layers

    def build(p=None):
        p = p or {}
        reg = fnn.regularizers.L2(p["l2"]) if p.get("l2") else None
        m = fnn.Sequential([L.Input(d), L.Dense(hidden, activation="relu", kernel_regularizer=reg),
                            L.Dropout(p.get("dropout", 0.1)),
                            L.Dense(hidden, activation="relu", kernel_regularizer=reg),
                            L.Dense(2, kernel_regularizer=reg)], seed=p.get("seed", 0))
        m.compile(optimizer=fnn.optimizers.Adam(p.get("learning_rate", 1e-3)),
                  loss=fnn.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
        return m

    return build


def _best(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), times, out


def run(rows=20000, features=20, hidden=64, n_models=16, epochs=1, batch_size=32, repeats=2, threads=None):
    """Run both comparisons; returns a dict of results."""
    import fastnn as fnn
    from fastnn.many import _variant_model
    from fastnn.model_selection import RandomSearch, choice, loguniform, uniform

    if threads:
        fnn.set_num_threads(threads)
    x, y = _data(rows, features)
    build = _build(features, hidden)
    res = {"rows": rows, "features": features, "hidden": hidden, "n_models": n_models, "epochs": epochs,
           "batch_size": batch_size, "threads": fnn.get_num_threads(), "cores": os.cpu_count(),
           "loadavg_before": os.getloadavg()}
    template = build()
    variants = [{"seed": s, "learning_rate": 1e-3 * (1 + s % 4)} for s in range(n_models)]

    def many():
        return fnn.fit_many(template, x, y, variants, batch_size=batch_size, epochs=epochs)

    def seq():
        out = []
        for v in variants:
            m = _variant_model(template, v)
            m.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0)
            out.append(m)
        return out

    t_many, all_many, ms = _best(many, repeats)
    t_seq, all_seq, ss = _best(seq, repeats)
    valid = all(all(np.array_equal(a, b) for a, b in zip(p.get_weights(), q.get_weights())) for p, q in zip(ms, ss))
    nt = fnn.get_num_threads()
    fnn.set_num_threads(1)  # the stronger baseline for tiny nets: one thread per sequential fit
    try:
        t_seq1, all_seq1, _ = _best(seq, repeats)
    finally:
        fnn.set_num_threads(nt)
    res["fit_many"] = {"fit_many_s": t_many, "sequential_s": t_seq, "speedup": t_seq / t_many, "valid": valid,
                       "sequential_1thread_s": t_seq1, "speedup_vs_1thread": t_seq1 / t_many,
                       "all_fit_many_s": all_many, "all_sequential_s": all_seq, "all_sequential_1thread_s": all_seq1}

    space = {"learning_rate": loguniform(1e-4, 1e-2), "l2": choice([0.0, 1e-5, 1e-4, 1e-3]),
             "dropout": uniform(0.0, 0.5)}
    n_val = rows // 5
    xt, yt, xv, yv = x[:-n_val], y[:-n_val], x[-n_val:], y[-n_val:]

    def search():
        return RandomSearch(build, space, n_trials=n_models, seed=0, scoring="val_accuracy",
                            validation_split=0.2).fit(x, y, batch_size=batch_size, epochs=epochs)

    def trials_seq():
        from fastnn._ms_dist import sample

        scores = []
        for p in sample(space, n_models, 0):
            m = build(p)
            m.fit(xt, yt, batch_size=batch_size, epochs=epochs, verbose=0)
            scores.append(m.evaluate(xv, yv, return_dict=True)["accuracy"])
        return scores

    t_search, all_search, s = _best(search, repeats)
    t_trials, all_trials, sc = _best(trials_seq, repeats)
    res["random_search"] = {"search_s": t_search, "sequential_trials_s": t_trials, "speedup": t_trials / t_search,
                            "valid": [r["mean_score"] for r in s.results_] == sc, "best_params": s.best_params_,
                            "all_search_s": all_search, "all_sequential_s": all_trials}
    res["loadavg_after"] = os.getloadavg()
    return res


def _report(r):
    f, s = r["fit_many"], r["random_search"]
    lines = [f"fastnn many-models benchmark: x {r['rows']}x{r['features']}, MLP {r['features']}->{r['hidden']}->"
             f"{r['hidden']}->2, batch {r['batch_size']}, Adam, {r['epochs']} epoch(s), {r['n_models']} models, "
             f"{r['threads']} threads on {r['cores']} cores",
             "load average before: " + " ".join(f"{v:.2f}" for v in r["loadavg_before"]),
             f"fit_many        : {f['fit_many_s']:.3f} s   sequential fits  : {f['sequential_s']:.3f} s   "
             f"speedup {f['speedup']:.2f}x  (target >= 1.6x on 2 cores)  {'valid' if f['valid'] else 'INVALID'}",
             f"                  sequential fits, 1 thread: {f['sequential_1thread_s']:.3f} s   "
             f"speedup {f['speedup_vs_1thread']:.2f}x",
             f"random search   : {s['search_s']:.3f} s   sequential trials: {s['sequential_trials_s']:.3f} s   "
             f"speedup {s['speedup']:.2f}x  {'valid' if s['valid'] else 'INVALID'}",
             "load average after : " + " ".join(f"{v:.2f}" for v in r["loadavg_after"])]
    return "\n".join(lines)


def main(argv=None):
    """Command line: ``python bench/run_many.py [--quick] [--json FILE] [--threads N]``."""
    ap = argparse.ArgumentParser(prog="run_many.py", description=" ".join(__doc__.split("\n\n")[0].split()))
    ap.add_argument("--rows", type=int, default=20000, help="training rows (default 20000)")
    ap.add_argument("--models", type=int, default=16, help="models trained at once, and search trials (default 16)")
    ap.add_argument("--epochs", type=int, default=1, help="epochs per model (default 1)")
    ap.add_argument("--repeats", type=int, default=2, help="timed repeats per side, best reported (default 2)")
    ap.add_argument("--threads", type=int, default=None, help="fastnn.set_num_threads for both sides")
    ap.add_argument("--quick", action="store_true", help="tiny sizes, one repeat (a smoke test)")
    ap.add_argument("--json", default=None, help="also write the results as JSON")
    a = ap.parse_args(argv)
    kw = dict(rows=a.rows, n_models=a.models, epochs=a.epochs, repeats=a.repeats, threads=a.threads)
    if a.quick:
        kw.update(rows=500, n_models=4, repeats=1)
    r = run(**kw)
    print(_report(r))
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(r, fh, indent=1, default=str)
    return 0 if r["fit_many"]["valid"] and r["random_search"]["valid"] else 1


if __name__ == "__main__":
    sys.exit(main())
