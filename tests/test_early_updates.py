"""Early updates: on several threads, a network of 256k+ parameters has each layer's
parameters updated as soon as the backward pass is past it, beside the earlier layers'
gradient products.  The result must be the update after the whole backward pass, to the
bit: each case trains at 1 thread (no early updates) and at 2, and compares weights and
optimizer state."""
import time

import numpy as np
import pytest

import fastnn as fnn
from fastnn import _core

L = fnn.layers
O = fnn.optimizers


def _data(n=512, d=300, classes=10):
    rng = np.random.default_rng(7)
    return rng.standard_normal((n, d)).astype(np.float32), rng.integers(0, classes, n)


def _sequential(opt, extra=(), seed=0, dtype="float32", **dense_kw):
    # 300*512 + 512*512 + 512*10 weights: 421k parameters; the second layer's update
    # (262k) is large enough to run beside the first layer's weight gradient.
    layers = [L.Input(300), L.Dense(512, activation="relu", **dense_kw), *extra,
              L.Dense(512, activation="relu"), L.Dense(10)]
    m = fnn.Sequential(layers, seed=seed, dtype=dtype)
    m.compile(optimizer=opt, loss=fnn.losses.SparseCategoricalCrossentropy(from_logits=True))
    return m


def _train_at(threads, build, x, y, batch_size, epochs):
    # A host that keeps a thread off its core makes teams halve for a while (a contention
    # backoff): the step counts asserted below assume full teams, so such a run is repeated.
    before = fnn.get_num_threads()
    try:
        fnn.set_num_threads(threads)
        for _ in range(5):
            while _core._team_threads() < threads:
                time.sleep(0.05)
            started = _core._contention_backoffs()
            m = build()
            m.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0, seed=3)
            if _core._contention_backoffs() == started:
                break
    finally:
        fnn.set_num_threads(before)
    eng = m._engine
    return eng, [np.array(w) for w in m.get_weights()] + [np.array(s) for s in eng.opt_state]


def _assert_same(build, data=None, batch_size=128, epochs=2, early=True):
    # the same training at 1 thread (the whole backward pass first) and at 2
    x, y = data if data is not None else _data()
    steps = epochs * -(-len(x) // batch_size)
    e1, r1 = _train_at(1, build, x, y, batch_size, epochs)
    e2, r2 = _train_at(2, build, x, y, batch_size, epochs)
    assert e1.early_steps == 0 and e1.iterations == e2.iterations == steps
    assert e2.early_steps == (steps if early else 0)
    if early:
        assert e2.overlapped_products > 0
    for a, b in zip(r1, r2):
        np.testing.assert_array_equal(a, b)


OPTIMIZERS = {
    "adam": lambda: O.Adam(1e-3),
    "adam-amsgrad": lambda: O.Adam(1e-3, amsgrad=True),
    "adamw": lambda: O.AdamW(1e-3, weight_decay=0.01),
    "nadam": lambda: O.Nadam(2e-3),
    "adamax": lambda: O.Adamax(2e-3),
    "sgd-nesterov": lambda: O.SGD(0.01, momentum=0.9, nesterov=True),
    "rmsprop-centered": lambda: O.RMSprop(1e-3, momentum=0.5, centered=True),
    "adagrad": lambda: O.Adagrad(0.01),
    "adadelta": lambda: O.Adadelta(1.0),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_early_updates_equal_the_full_step(name):
    _assert_same(lambda: _sequential(OPTIMIZERS[name]()))


@pytest.mark.parametrize("name", ["adam", "nadam", "sgd-nesterov"])
def test_early_updates_of_weight_rows_equal_the_full_step(name):
    # 2 x 256 x 1024 x 1024 flops per product: the input layer's weight gradient runs in
    # row blocks, and the rows' updates are queued block by block (the hidden layers' after
    # their input gradients).
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((1024, 1024)).astype(np.float32), rng.integers(0, 10, 1024)

    def build():
        m = fnn.Sequential([L.Input(1024), L.Dense(1024, activation="relu"), L.Dense(1024, activation="tanh"),
                            L.Dense(10)], seed=1)
        m.compile(optimizer=OPTIMIZERS[name](), loss=fnn.losses.SparseCategoricalCrossentropy(from_logits=True))
        return m

    _assert_same(build, (x, y), batch_size=256, epochs=1)


def test_early_updates_with_a_schedule_float64_batchnorm_and_a_frozen_layer():
    sched = fnn.schedules.ExponentialDecay(1e-2, decay_steps=3, decay_rate=0.5)

    def build():
        m = _sequential(O.Adam(sched), extra=(L.BatchNormalization(),), dtype="float64")
        m.layers[1].trainable = False  # the first Dense: frozen (its update never runs)
        m.compile(optimizer=O.Adam(sched), loss=fnn.losses.SparseCategoricalCrossentropy(from_logits=True))
        return m

    _assert_same(build)


def test_early_updates_in_a_functional_model_with_two_outputs():
    def build():
        inp = L.Input(300)
        h = L.Dense(512, activation="relu")(inp)
        h2 = L.Dense(512, activation="relu")(h)
        a = L.Dense(10, name="a")(h2)
        b = L.Dense(1, name="b")(h)
        m = fnn.Model(inp, {"a": a, "b": b}, seed=0)
        m.compile(optimizer=O.Adam(1e-3),
                  loss={"a": fnn.losses.SparseCategoricalCrossentropy(from_logits=True),
                        "b": fnn.losses.MeanSquaredError()},
                  loss_weights={"a": 1.0, "b": 0.5})
        return m

    x, y = _data()
    _assert_same(build, (x, {"a": y, "b": x[:, :1]}))


@pytest.mark.parametrize("case", ["l2", "clipnorm", "global_clipnorm", "clipvalue"])
def test_steps_that_need_the_whole_gradient_first_do_not_update_early(case):
    if case == "l2":
        build = lambda: _sequential(O.Adam(1e-3), kernel_regularizer=fnn.regularizers.L2(1e-3))  # noqa: E731
    else:
        build = lambda: _sequential(O.Adam(1e-3, **{case: 0.5}))  # noqa: E731
    _assert_same(build, early=False)


def test_small_networks_do_not_update_early():
    x, y = _data(d=20)
    m = fnn.Sequential([L.Input(20), L.Dense(64, activation="relu"), L.Dense(10)], seed=0)
    m.compile(optimizer=O.Adam(1e-3), loss=fnn.losses.SparseCategoricalCrossentropy(from_logits=True))
    before = fnn.get_num_threads()
    try:
        fnn.set_num_threads(2)
        m.fit(x, y, batch_size=128, epochs=1, verbose=0)
    finally:
        fnn.set_num_threads(before)
    assert m._engine.iterations == 4 and m._engine.early_steps == 0
