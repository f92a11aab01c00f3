"""Classify 8x8 handwritten digits with a Sequential MLP.

Shows: a ``fastnn.Sequential`` model (Dense + Dropout, L2 weight decay), ``compile`` with
Adam and a from-logits sparse cross-entropy, ``fit`` with a validation split and the
``EarlyStopping`` callback (best weights restored), ``evaluate`` on held-out test rows,
``predict``, and ``save`` / ``fastnn.load_model`` (the reloaded model predicts bitwise the
same).

Data: scikit-learn's bundled ``load_digits`` (1797 images, no download) when scikit-learn is
installed, else a synthetic 10-class problem of the same shape.

Run::

    python examples/digits_classification.py

Set ``FASTNN_EXAMPLE_QUICK=1`` for a few-second smoke run (fewer epochs).
"""
import os
import tempfile

import numpy as np

import fastnn as fnn

QUICK = os.environ.get("FASTNN_EXAMPLE_QUICK", "") not in ("", "0")
SEED = 0


def load_data(rng):
    """(X, y): float32 features scaled to [0, 1] (or standardized) and int64 labels."""
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


def main():
    rng = np.random.default_rng(SEED)
    X, y = load_data(rng)
    perm = rng.permutation(len(X))
    n_test = len(X) // 5
    test, train = perm[:n_test], perm[n_test:]
    X_train, y_train, X_test, y_test = X[train], y[train], X[test], y[test]

    model = fnn.Sequential([
        fnn.Input(X.shape[1]),
        fnn.layers.Dense(128, activation="relu", kernel_initializer="he_normal",
                         kernel_regularizer=fnn.regularizers.L2(1e-4)),
        fnn.layers.Dropout(0.2),
        fnn.layers.Dense(64, activation="relu", kernel_initializer="he_normal"),
        fnn.layers.Dense(10),  # logits
    ], seed=SEED)
    model.compile(optimizer=fnn.optimizers.Adam(1e-3),
                  loss=fnn.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.summary()

    early = fnn.callbacks.EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True)
    history = model.fit(X_train, y_train, batch_size=32, epochs=8 if QUICK else 100,
                        validation_split=0.15, callbacks=[early], verbose=0 if QUICK else 2)
    epochs = len(history.epoch)
    print(f"trained {epochs} epochs; best val_loss {early.best:.4f} at epoch {early.best_epoch + 1}"
          + (f" (stopped early at epoch {early.stopped_epoch + 1})" if early.stopped_epoch else ""))

    test_loss, test_acc = model.evaluate(X_test, y_test)
    print(f"test loss {test_loss:.4f}, test accuracy {test_acc:.4f}")

    logits = model.predict(X_test)
    pred = logits.argmax(axis=1)
    print(f"first test digits: predicted {pred[:10].tolist()}, true {y_test[:10].tolist()}")

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "digits.fastnn")
        model.save(path)
        restored = fnn.load_model(path)
        same = np.array_equal(restored.predict(X_test), logits)
        print(f"saved to and reloaded from {os.path.basename(path)}: predictions identical: {same}")
        if not same:
            raise SystemExit("the reloaded model predicts differently")
    if not QUICK and test_acc < 0.85:
        raise SystemExit(f"unexpectedly low test accuracy {test_acc:.3f}")


if __name__ == "__main__":
    main()
