"""A small random search over learning rate, L2 strength and dropout, done by hand.

Shows: splitting the data into training, validation and test rows once; sampling
hyperparameters (learning rate and L2 log-uniformly, dropout uniformly); training one model
per trial on the training rows with early stopping on the validation rows
(``validation_data=``); scoring each trial on the validation rows; picking the best; and
reporting its accuracy on the test rows, which the search never saw. The results have the
shape ``fastnn.plot.search_results`` takes (one dict per trial with ``"params"`` and
``"mean_score"``); ``--plot`` draws validation accuracy against the learning rate.

Data: scikit-learn's bundled ``load_digits`` when scikit-learn is installed, else a
synthetic 10-class problem of the same shape.

Run::

    python examples/hyperparameter_search.py [--trials 12] [--plot search.png]

``--plot`` needs matplotlib. Set ``FASTNN_EXAMPLE_QUICK=1`` for a few-second smoke run.
"""
import argparse
import os

import numpy as np

import fastnn as fnn

QUICK = os.environ.get("FASTNN_EXAMPLE_QUICK", "") not in ("", "0")
SEED = 3


def load_data(rng):
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        print("scikit-learn not installed: using synthetic digits-like data")
        centers = rng.standard_normal((10, 64)) * 0.5
        y = rng.integers(0, 10, size=1800)
        X = centers[y] + rng.standard_normal((1800, 64))
        return X.astype(np.float32), y.astype(np.int64)
    digits = load_digits()
    return (digits.data / 16.0).astype(np.float32), digits.target.astype(np.int64)


def sample_params(rng):
    """One draw: log-uniform learning rate and L2 strength, uniform dropout rate."""
    return {"learning_rate": float(10 ** rng.uniform(-4, -1.5)),
            "l2": float(10 ** rng.uniform(-6, -2)),
            "dropout": float(rng.uniform(0.0, 0.5))}


def build(params, n_features, seed):
    reg = fnn.regularizers.L2(params["l2"])
    model = fnn.Sequential([
        fnn.Input(n_features),
        fnn.layers.Dense(64, activation="relu", kernel_regularizer=reg),
        fnn.layers.Dropout(params["dropout"]),
        fnn.layers.Dense(10, kernel_regularizer=reg),
    ], seed=seed)
    model.compile(optimizer=fnn.optimizers.Adam(params["learning_rate"]),
                  loss=fnn.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=3 if QUICK else 12)
    parser.add_argument("--plot", metavar="PNG", help="write validation accuracy vs learning rate here")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(SEED)
    X, y = load_data(rng)
    perm = rng.permutation(len(X))
    n_val = n_test = len(X) // 5
    test, val, train = perm[:n_test], perm[n_test:n_test + n_val], perm[n_test + n_val:]
    print(f"{len(train)} training, {len(val)} validation, {len(test)} test rows")

    results = []
    for trial in range(args.trials):
        params = sample_params(rng)
        model = build(params, X.shape[1], seed=SEED + trial)
        stop = fnn.callbacks.EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True)
        model.fit(X[train], y[train], batch_size=32, epochs=6 if QUICK else 60,
                  validation_data=(X[val], y[val]), callbacks=[stop], verbose=0)
        _, val_acc = model.evaluate(X[val], y[val])
        results.append({"params": params, "mean_score": float(val_acc), "model": model})
        print(f"trial {trial + 1:2d}: lr {params['learning_rate']:.2e}  l2 {params['l2']:.1e}  "
              f"dropout {params['dropout']:.2f}  -> val accuracy {val_acc:.4f}")

    best = max(results, key=lambda r: r["mean_score"])
    p = best["params"]
    _, test_acc = best["model"].evaluate(X[test], y[test])
    print(f"best: lr {p['learning_rate']:.2e}, l2 {p['l2']:.1e}, dropout {p['dropout']:.2f}: "
          f"val accuracy {best['mean_score']:.4f}, test accuracy {test_acc:.4f}")

    if args.plot:
        from fastnn import plot

        plot.search_results([{k: v for k, v in r.items() if k != "model"} for r in results], "learning_rate",
                            path=args.plot)
        print(f"search plot written to {args.plot}")


if __name__ == "__main__":
    main()
