"""Multi-task learning: one functional model, a shared trunk and two named outputs.

Shows: the functional API (``fastnn.Input``, calling layers on tensors, ``fastnn.Model``
with a dict of named outputs), one loss per output (mean squared error for a regression
head, sparse cross-entropy for a classification head), ``loss_weights`` (the training loss
is ``1.0 * price_loss + 0.5 * kind_loss``), per-output metrics, targets given as a dict,
``evaluate(return_dict=True)`` with its per-output keys, and ``predict`` returning a dict.

Data: synthetic "products" with 12 features; the price depends nonlinearly on the features
and the kind (3 classes) on another direction of the same features, so the shared layers
serve both tasks.

Run::

    python examples/multitask.py

Set ``FASTNN_EXAMPLE_QUICK=1`` for a few-second smoke run.
"""
import os

import numpy as np

import fastnn as fnn

QUICK = os.environ.get("FASTNN_EXAMPLE_QUICK", "") not in ("", "0")
SEED = 2
LOSS_WEIGHTS = {"price": 1.0, "kind": 0.5}


def make_data(rng, n):
    X = rng.standard_normal((n, 12)).astype(np.float32)
    w = rng.standard_normal(12) / np.sqrt(12)
    price = np.tanh(X @ w) * 3.0 + 0.3 * X[:, 0] * X[:, 1] + 0.1 * rng.standard_normal(n)
    logits = X[:, :6] @ rng.standard_normal((6, 3))
    kind = np.argmax(logits, axis=1)
    return X, price.reshape(-1, 1).astype(np.float32), kind.astype(np.int64)


def main():
    rng = np.random.default_rng(SEED)
    X, price, kind = make_data(rng, 1500 if QUICK else 6000)
    n_test = len(X) // 5
    X_test, X_train = X[:n_test], X[n_test:]
    y_test = {"price": price[:n_test], "kind": kind[:n_test]}
    y_train = {"price": price[n_test:], "kind": kind[n_test:]}

    inp = fnn.Input(12, name="features")
    h = fnn.layers.Dense(64, activation="relu", name="shared_1")(inp)
    h = fnn.layers.Dense(32, activation="relu", name="shared_2")(h)
    outputs = {"price": fnn.layers.Dense(1, name="price_head")(h),
               "kind": fnn.layers.Dense(3, name="kind_head")(h)}  # logits
    model = fnn.Model(inp, outputs, name="multitask", seed=SEED)
    model.compile(optimizer=fnn.optimizers.Adam(3e-3),
                  loss={"price": "mse", "kind": fnn.losses.SparseCategoricalCrossentropy(from_logits=True)},
                  loss_weights=LOSS_WEIGHTS,
                  metrics={"price": ["mae"], "kind": ["accuracy"]})
    model.summary()

    history = model.fit(X_train, y_train, batch_size=64, epochs=5 if QUICK else 40, validation_split=0.1,
                        callbacks=[fnn.callbacks.EarlyStopping(patience=5, restore_best_weights=True)], verbose=0)
    print("recorded per epoch:", ", ".join(sorted(history.history)))

    logs = model.evaluate(X_test, y_test, return_dict=True)
    print("test:", ", ".join(f"{k} {v:.4f}" for k, v in logs.items()))
    combined = LOSS_WEIGHTS["price"] * logs["price_loss"] + LOSS_WEIGHTS["kind"] * logs["kind_loss"]
    print(f"loss = 1.0 * price_loss + 0.5 * kind_loss = {combined:.4f}")
    if not np.isclose(logs["loss"], combined, rtol=1e-6):
        raise SystemExit("the total loss is not the weighted sum of the output losses")

    pred = model.predict(X_test[:5])
    for i in range(5):
        print(f"  product {i}: price {pred['price'][i, 0]:+.2f} (true {price[i, 0]:+.2f}), "
              f"kind {int(pred['kind'][i].argmax())} (true {kind[i]})")


if __name__ == "__main__":
    main()
