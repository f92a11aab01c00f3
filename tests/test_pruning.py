"""fastnn.pruning: magnitude pruning against a NumPy oracle, masks through training,
rewinding, lottery tickets, and mask save/load."""
import json
import zipfile

import numpy as np
import pytest

import fastnn as fnn
from fastnn.pruning import get_masks, lottery_ticket, magnitude_prune, rewind, sparsity

L = fnn.layers


def build():
    m = fnn.Sequential([L.Input(6), L.Dense(10, activation="relu"), L.Dense(8, activation="relu"), L.Dense(1)], seed=3)
    m.compile(optimizer=fnn.optimizers.Adam(1e-2), loss="mse")
    return m


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 6)).astype(np.float32)
    return x, (x[:, :1] * 2 - x[:, 1:2]).astype(np.float32)


def test_layer_scope_prunes_smallest_per_kernel():
    m = build()
    before = m.get_weights()
    masks = magnitude_prune(m, 0.3)
    assert len(masks) == 3 and all(k.endswith("/kernel") for k in masks)
    kernels = [w for w in before if w.ndim == 2]
    after = [w for w in m.get_weights() if w.ndim == 2]
    for k0, k1, mk in zip(kernels, after, masks.values()):
        n = int(round(0.3 * k0.size))
        order = np.argsort(np.abs(k0.ravel()), kind="stable")
        expected = np.ones(k0.size)
        expected[order[:n]] = 0
        assert np.array_equal(mk.ravel(), expected)
        assert np.array_equal(k1, k0 * mk)
    biases = [w for w in m.get_weights() if w.ndim == 1]
    assert all(np.array_equal(a, b) for a, b in zip(biases, [w for w in before if w.ndim == 1]))


def test_global_scope_threshold():
    m = build()
    flat = np.concatenate([w.ravel() for w in m.get_weights() if w.ndim == 2])
    magnitude_prune(m, 0.5, scope="global")
    thr = np.sort(np.abs(flat))[int(round(0.5 * flat.size)) - 1]
    after = np.concatenate([w.ravel() for w in m.get_weights() if w.ndim == 2])
    assert np.all(after[np.abs(flat) > thr] == flat[np.abs(flat) > thr])
    assert np.all(after[np.abs(flat) < thr] == 0)
    assert sparsity(m) == pytest.approx(0.5, abs=1 / flat.size)


def test_include_bias_and_iterative():
    m = build()
    m.set_weights([w + 0.5 for w in m.get_weights()])  # non-zero biases
    magnitude_prune(m, 0.5, include_bias=True)
    masks = get_masks(m)
    assert any(k.endswith("/bias") and (v == 0).any() for k, v in masks.items())
    m2 = build()
    magnitude_prune(m2, 0.5)
    magnitude_prune(m2, 0.5)  # half of the survivors: 75 % in all
    for v in get_masks(m2, include_bias=False).values():
        alive = int(v.size - round(0.5 * v.size))
        assert (v == 0).sum() == v.size - (alive - int(round(0.5 * alive)))


def test_pruned_weights_stay_zero_through_training(data):
    x, y = data
    m = build()
    masks = magnitude_prune(m, 0.6)
    m.fit(x, y, epochs=3, batch_size=8, verbose=0)
    kernels = [w for w in m.get_weights() if w.ndim == 2]
    for k, mk in zip(kernels, masks.values()):
        assert np.all(k[mk == 0] == 0)
        assert np.all(k[mk == 1] != 0)


def test_rewind(data):
    x, y = data
    m = build()
    init = m.get_weights()
    m.fit(x, y, epochs=2, verbose=0)
    masks = magnitude_prune(m, 0.4)
    rewind(m, init)
    assert m._engine.iterations == 0
    kernels = [(w, w0) for w, w0 in zip(m.get_weights(), init) if w.ndim == 2]
    for (k, k0), mk in zip(kernels, masks.values()):
        assert np.array_equal(k, k0 * mk)
    biases = [(w, w0) for w, w0 in zip(m.get_weights(), init) if w.ndim == 1]
    assert all(np.array_equal(a, b) for a, b in biases)
    # after the rewind it trains like a fresh model with the same mask
    fresh = build()
    fresh._engine.set_mask(np.array(m._engine.mask))
    m.fit(x, y, epochs=1, verbose=0)
    fresh.fit(x, y, epochs=1, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(m.get_weights(), fresh.get_weights()))
    with pytest.raises(TypeError, match="initial_weights"):
        rewind(m, np.zeros(3))


def test_lottery_ticket(data):
    x, y = data
    model, hist = lottery_ticket(build, x, y, fraction=0.5, rounds=2, fit_kwargs={"epochs": 2, "batch_size": 16})
    assert [h["round"] for h in hist] == [0, 1, 2]
    assert hist[0]["sparsity"] == 0.0
    assert hist[-1]["sparsity"] == pytest.approx(0.75, abs=0.03)
    assert all(np.isfinite(h["logs"]["loss"]) for h in hist)
    for k, mk in zip([w for w in model.get_weights() if w.ndim == 2], get_masks(model, False).values()):
        assert np.all(k[mk == 0] == 0)


def test_save_load_mask(tmp_path, data):
    x, y = data
    m = build()
    magnitude_prune(m, 0.5)
    p = tmp_path / "m.fnn"
    m.save(p)
    m2 = fnn.load_model(p)
    assert np.array_equal(np.asarray(m2._engine.mask), np.asarray(m._engine.mask))
    m.fit(x, y, epochs=1, verbose=0)
    m2.fit(x, y, epochs=1, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(m.get_weights(), m2.get_weights()))
    plain = build()
    plain.save(tmp_path / "p.fnn")
    assert fnn.load_model(tmp_path / "p.fnn")._engine.mask is None
    # a corrupted mask is refused
    with np.load(p) as z:
        members = {k: z[k] for k in z.files}
    members["mask"] = members["mask"] * 2
    bad = tmp_path / "bad.fnn"
    with open(bad, "wb") as f:
        np.savez(f, **members)
    with pytest.raises(ValueError, match="mask"):
        fnn.load_model(bad)


@pytest.mark.parametrize("kw,match", [({"fraction": 1.0}, "fraction"), ({"fraction": -0.1}, "fraction"),
                                      ({"fraction": 0.2, "scope": "net"}, "scope"), ({"fraction": "a"}, "fraction")])
def test_bad_input(kw, match):
    with pytest.raises(ValueError, match=match):
        magnitude_prune(build(), **kw)
    with pytest.raises(ValueError, match="rounds"):
        lottery_ticket(build, np.zeros((4, 6)), np.zeros((4, 1)), rounds=0)


def test_set_weights_keeps_pruned_weights_zero(tmp_path):
    m = build()
    m.build()
    magnitude_prune(m, 0.5)
    m.set_weights([np.full_like(w, 0.7) for w in m.get_weights()])
    masks = get_masks(m)
    for layer in m.layers:
        k = masks[f"{layer.name}/kernel"]
        w = layer.get_weights()[0]
        assert np.all(w[k == 0] == 0) and np.all(w[k == 1] == np.float32(0.7))
    assert sparsity(m) == pytest.approx(0.5, abs=0.05)
    x = np.random.default_rng(0).normal(size=(5, 6)).astype(np.float32)
    m.save(tmp_path / "m.fnn")
    np.testing.assert_array_equal(fnn.load_model(tmp_path / "m.fnn").predict(x), m.predict(x))


def test_a_rebuilt_engine_keeps_the_mask(data):
    x, y = data
    m = build()
    m.build()
    magnitude_prune(m, 0.5)
    m.layers[-1].trainable = False  # rebuilds the native engine at the next call
    m.fit(x, y, epochs=1, verbose=0)
    assert sparsity(m) == pytest.approx(0.5, abs=0.05)
    masks = get_masks(m)
    for layer in m.layers:
        assert np.all(layer.get_weights()[0][masks[f"{layer.name}/kernel"] == 0] == 0)
