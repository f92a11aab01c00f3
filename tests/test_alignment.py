"""Arrays whose data is not aligned to their item size (numpy allows them: a buffer offset by
one byte, a packed record field) never reach native code, which reads typed values: inputs
are copied, an ``out=`` goes through a temporary, in-place optimizer state is refused with a
ValueError. Results equal those of the aligned arrays (the sanitizer run checks the rest)."""
import numpy as np
import pytest

import fastnn as fnn
from fastnn import ops


def misaligned(a):
    """A copy of ``a`` whose data starts one byte into a buffer (flags.aligned is False)."""
    a = np.ascontiguousarray(a)
    raw = bytearray(a.nbytes + 1)
    m = np.frombuffer(raw, a.dtype, count=a.size, offset=1).reshape(a.shape)
    m[...] = a
    assert not m.flags.aligned
    return m


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_algebra_with_misaligned_inputs_and_out(dtype, rng):
    a = rng.standard_normal((37, 5)).astype(dtype)
    b = rng.standard_normal((5, 3)).astype(dtype)
    bias = rng.standard_normal(3).astype(dtype)
    want = ops.matmul(a, b)
    np.testing.assert_array_equal(ops.matmul(misaligned(a), misaligned(b)), want)
    out = misaligned(np.zeros((37, 3), dtype))
    assert ops.matmul(a, b, out=out) is out
    np.testing.assert_array_equal(out, want)
    np.testing.assert_array_equal(ops.matmul(misaligned(a.T), b, trans_a=True), want)
    c = misaligned(np.ones((37, 3), dtype))
    np.testing.assert_array_equal(ops.gemm(a, b, c, alpha=2.0, beta=1.0), ops.gemm(a, b, np.ones((37, 3), dtype),
                                                                              alpha=2.0, beta=1.0))
    np.testing.assert_array_equal(ops.linear(misaligned(a), misaligned(b), misaligned(bias), activation="relu"),
                                  ops.linear(a, b, bias, activation="relu"))


def test_activations_with_misaligned_input_and_out(rng):
    x = rng.standard_normal((33, 7)).astype(np.float32)
    for name in ("relu", "gelu", "softmax"):
        fn = getattr(ops, name)
        want = fn(x)
        np.testing.assert_array_equal(fn(misaligned(x)), want)
        out = misaligned(np.zeros_like(x))
        assert fn(x, out=out) is out
        np.testing.assert_array_equal(out, want)


def test_optimizer_update_misaligned_grad_copied_state_refused(rng):
    p = rng.standard_normal(100).astype(np.float32)
    g = rng.standard_normal(100).astype(np.float32)
    m, v = np.zeros_like(p), np.zeros_like(p)
    p2, m2, v2 = p.copy(), m.copy(), v.copy()
    ops.adam_update(p, g, m, v, 1)
    ops.adam_update(p2, misaligned(g), m2, v2, 1)
    np.testing.assert_array_equal(p2, p)
    for name, args in (("param", (misaligned(p), g, m, v)), ("exp_avg", (p, g, misaligned(m), v))):
        with pytest.raises(ValueError, match=f"{name}: its data is not aligned"):
            ops.adam_update(*args, 2)


def test_fit_and_predict_with_misaligned_data(rng):
    x = rng.standard_normal((200, 6)).astype(np.float32)
    y = rng.integers(0, 3, 200)

    def trained(xs):
        m = fnn.Sequential([fnn.layers.Input(6), fnn.layers.Dense(8, activation="relu"), fnn.layers.Dense(3)], seed=1)
        m.compile(optimizer="adam", loss=fnn.losses.SparseCategoricalCrossentropy(from_logits=True))
        m.fit(xs, y, batch_size=32, epochs=2, verbose=0)
        return m

    a, b = trained(x), trained(misaligned(x))
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wb, wa)
    np.testing.assert_array_equal(b.predict(misaligned(x)), a.predict(x))
    np.testing.assert_array_equal(a.predict(misaligned(x.astype(np.float64))), a.predict(x.astype(np.float64)))


def test_losses_and_fit_with_misaligned_labels_and_weights(rng):
    p = rng.standard_normal((50, 3)).astype(np.float32)
    y = rng.integers(0, 3, 50)
    w = rng.uniform(0.5, 2.0, 50).astype(np.float32)
    loss = fnn.losses.SparseCategoricalCrossentropy(from_logits=True)
    np.testing.assert_array_equal(loss.gradient(misaligned(y), misaligned(p), misaligned(w)), loss.gradient(y, p, w))
    x = rng.standard_normal((50, 4)).astype(np.float32)

    def trained(ys, ws):
        m = fnn.Sequential([fnn.layers.Input(4), fnn.layers.Dense(3)], seed=2)
        m.compile(optimizer="sgd", loss=fnn.losses.SparseCategoricalCrossentropy(from_logits=True))
        m.fit(x, ys, sample_weight=ws, batch_size=16, epochs=2, verbose=0)
        return m.get_weights()

    for wa, wb in zip(trained(y, w), trained(misaligned(y), misaligned(w))):
        np.testing.assert_array_equal(wb, wa)
