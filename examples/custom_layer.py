"""A layer written in Python: forward (fprop) and backward (bprop) on numpy arrays.

Shows: subclassing ``fastnn.layers.Layer`` with ``build`` (declaring a trainable weight
with ``add_weight``), ``forward(x, training)`` and ``backward(dy)`` (returning dL/dx and
storing dL/dweight in ``self.grads``); checking the hand-written backward pass against
float64 central differences with ``fastnn.gradient_check``; training a model that mixes
the Python layer with native layers (the native epoch loop calls back into Python for it);
and saving/loading it with ``custom_objects``.

The layer is a Swish with a learned slope per unit, ``y = x * sigmoid(beta * x)``:

- dy/dx    = s + beta * x * s * (1 - s),   with s = sigmoid(beta * x)
- dy/dbeta = x^2 * s * (1 - s)             (summed over the rows of the batch)

Run::

    python examples/custom_layer.py

Set ``FASTNN_EXAMPLE_QUICK=1`` for a few-second smoke run.
"""
import os
import tempfile

import numpy as np

import fastnn as fnn

QUICK = os.environ.get("FASTNN_EXAMPLE_QUICK", "") not in ("", "0")
SEED = 4


class LearnableSwish(fnn.layers.Layer):
    """``y = x * sigmoid(beta * x)`` with one trainable ``beta`` per unit (initially 1)."""

    def build(self, input_width):
        self.add_weight("beta", (input_width,), initializer="ones")
        return input_width  # same width out as in

    def forward(self, x, training=False):
        beta = self.weights_dict["beta"]
        s = 1.0 / (1.0 + np.exp(-beta * x))
        self._x, self._s = x, s  # what backward needs
        return x * s

    def backward(self, dy):
        x, s, beta = self._x, self._s, self.weights_dict["beta"]
        ds = s * (1.0 - s)
        self.grads["beta"] = (dy * x * x * ds).sum(axis=0)
        return dy * (s + beta * x * ds)


def make_model(dtype, seed):
    model = fnn.Sequential([
        fnn.Input(4),
        fnn.layers.Dense(16),
        LearnableSwish(name="swish"),
        fnn.layers.Dense(1),
    ], dtype=dtype, seed=seed)
    model.compile(optimizer=fnn.optimizers.Adam(1e-2), loss="mse")
    return model


def main():
    rng = np.random.default_rng(SEED)
    X = rng.standard_normal((800 if QUICK else 4000, 4))
    y = (np.abs(X[:, :1]) + 0.5 * X[:, 1:2] * X[:, 2:3] - 0.3 * X[:, 3:4]).astype(np.float64)

    # 1. The backward pass against central differences, in float64, on a few rows.
    #    (A float64 model: gradient_check copies a float32 model to float64 through its
    #    configuration, which needs the custom class to be registered.)
    check_model = make_model("float64", SEED)
    errors = fnn.gradient_check(check_model, X[:8], y[:8])
    for name, err in errors.items():
        print(f"gradient check {name:<14} max relative error {err:.2e}")
    worst = max(errors.values())
    if worst > 1e-5:
        raise SystemExit(f"the backward pass disagrees with central differences (error {worst:.2e})")

    # 2. Train a float32 model that contains the Python layer.
    model = make_model("float32", SEED)
    X32, y32 = X.astype(np.float32), y.astype(np.float32)
    swish = model.layers[1]
    beta_before = swish.weights_dict["beta"].copy()
    history = model.fit(X32, y32, batch_size=64, epochs=5 if QUICK else 40, validation_split=0.2, verbose=0)
    print(f"mse: {history.history['loss'][0]:.4f} after the first epoch, {history.history['loss'][-1]:.4f} "
          f"after the last (validation {history.history['val_loss'][-1]:.4f})")
    beta = swish.weights_dict["beta"]
    print(f"beta moved from {beta_before.mean():.2f} (all ones) to range [{beta.min():.2f}, {beta.max():.2f}]")
    if not history.history["loss"][-1] < history.history["loss"][0]:
        raise SystemExit("training did not reduce the loss")

    # 3. Save and load: custom_objects maps the class name in the file to the class.
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "swish.fastnn")
        model.save(path)
        restored = fnn.load_model(path, custom_objects={"LearnableSwish": LearnableSwish})
        same = np.array_equal(restored.predict(X32[:100]), model.predict(X32[:100]))
        print(f"reloaded with custom_objects: predictions identical: {same}")
        if not same:
            raise SystemExit("the reloaded model predicts differently")


if __name__ == "__main__":
    main()
