"""Nonlinear regression with early stopping and a learning rate that drops on plateaus.

Shows: a synthetic regression problem, ``fit(validation_split=...)`` (the last rows are held
out, as in Keras), ``EarlyStopping(restore_best_weights=True)`` (after training the model
holds the weights of its best validation epoch: evaluating it on the held-out rows gives
the best ``val_loss`` again), ``ReduceLROnPlateau`` (the learning rate recorded per epoch in
``history.history["lr"]``), and optionally a plot of the history with ``fastnn.plot``.

Run::

    python examples/regression_early_stopping.py [--plot history.png]

``--plot`` needs matplotlib. Set ``FASTNN_EXAMPLE_QUICK=1`` for a few-second smoke run.
"""
import argparse
import os

import numpy as np

import fastnn as fnn

QUICK = os.environ.get("FASTNN_EXAMPLE_QUICK", "") not in ("", "0")
SEED = 1


def make_data(rng, n):
    """y = 2 sin(x0) + x1^2 - x2 x3 + 0.5 x4 + noise, 8 features of which 3 are irrelevant."""
    X = rng.uniform(-2, 2, size=(n, 8))
    y = 2 * np.sin(X[:, 0]) + X[:, 1] ** 2 - X[:, 2] * X[:, 3] + 0.5 * X[:, 4]
    y += 0.1 * rng.standard_normal(n)
    return X.astype(np.float32), y.reshape(-1, 1).astype(np.float32)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plot", metavar="PNG", help="write the training history plot here")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(SEED)
    X, y = make_data(rng, 1000 if QUICK else 3000)

    model = fnn.Sequential([
        fnn.Input(X.shape[1]),
        fnn.layers.Dense(64, activation="tanh"),
        fnn.layers.Dense(64, activation="tanh"),
        fnn.layers.Dense(1),
    ], seed=SEED)
    model.compile(optimizer=fnn.optimizers.Adam(1e-2), loss="mse", metrics=["mae"])

    early = fnn.callbacks.EarlyStopping(monitor="val_loss", patience=15, restore_best_weights=True)
    plateau = fnn.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=5, min_lr=1e-4)
    history = model.fit(X, y, batch_size=64, epochs=12 if QUICK else 300, validation_split=0.2,
                        callbacks=[early, plateau], verbose=0, diagnostics=True)

    h = history.history
    print(f"trained {len(history.epoch)} epochs"
          + (f", stopped early at epoch {early.stopped_epoch + 1}" if early.stopped_epoch else ""))
    lrs = h["lr"]
    drops = [i + 1 for i in range(1, len(lrs)) if lrs[i] < lrs[i - 1]]
    print(f"learning rate {lrs[0]:.3g} -> {lrs[-1]:.3g} (lowered from epochs {drops} on)")
    best = int(np.argmin(h["val_loss"]))
    print(f"best val_loss {h['val_loss'][best]:.5f} (val_mae {h['val_mae'][best]:.4f}) at epoch {best + 1}; "
          f"last epoch val_loss {h['val_loss'][-1]:.5f}")

    # validation_split held out the last 20% of the rows: evaluate the restored weights there.
    cut = len(X) - int(len(X) * 0.2)
    val_loss, val_mae = model.evaluate(X[cut:], y[cut:])
    print(f"restored model on the held-out rows: mse {val_loss:.5f}, mae {val_mae:.4f}")
    if not np.isclose(val_loss, h["val_loss"][best], rtol=1e-5):
        raise SystemExit("the restored weights are not those of the best epoch")
    print(f"noise floor (variance of the added noise): {0.1 ** 2:.5f}; variance of y: {float(y.var()):.3f}")

    if args.plot:
        from fastnn import plot

        plot.history(history, path=args.plot)
        print(f"history plot written to {args.plot}")


if __name__ == "__main__":
    main()
