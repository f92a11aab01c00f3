"""Interrupt and resume, with a real interruption: a subprocess trains with
ModelCheckpoint, receives SIGINT in the middle of an epoch, and the newest checkpoint,
loaded and trained on with ``fit(initial_epoch=k)``, reproduces the uninterrupted run
bitwise (weights, batch-norm statistics, optimizer state and the per-epoch losses)."""
import json
import sys
import time

import numpy as np
import pytest

import fastnn as fnn
from _child import child, interrupt


SETUP = """
import numpy as np, fastnn as fnn
L = fnn.layers

def data():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(40000, 12)).astype(np.float32)
    return x, (x[:, 0] + x[:, 1] * x[:, 2] > 0).astype(np.int64)

def model():
    m = fnn.Sequential([fnn.Input(12), L.Dense(48, activation="relu"), L.BatchNormalization(),
                        L.Dropout(0.2), L.Dense(24, activation="tanh"), L.Dense(2)], seed=3)
    m.compile(fnn.optimizers.Adam(3e-3), fnn.losses.SparseCategoricalCrossentropy(from_logits=True))
    return m

FIT = dict(batch_size=2, verbose=0, seed=11)
"""

CHILD = SETUP + """
import json, sys
class Report(fnn.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        print(json.dumps({{"epoch": epoch, "loss": logs["loss"]}}), flush=True)

x, y = data()
m = model()
try:
    m.fit(x, y, epochs=1000, callbacks=[fnn.callbacks.ModelCheckpoint({ck!r}, monitor="loss"), Report()], **FIT)
    print("finished", flush=True)
except KeyboardInterrupt:
    print(json.dumps({{"interrupted_at_step": m.optimizer.iterations}}), flush=True)
"""


def test_sigint_mid_epoch_then_resume_from_checkpoint_is_bitwise(tmp_path):
    ck = str(tmp_path / "ck-{epoch}.fnn")
    losses = []
    with child(CHILD.format(ck=ck)) as p:
        while len(losses) < 2:  # two whole epochs checkpointed, the third under way
            line = p.stdout.readline()
            assert line, p.stderr.read()[-2000:]
            losses.append(json.loads(line)["loss"])
        time.sleep(0.02)  # into the third epoch's native loop
        rest, err = interrupt(p)
    assert p.returncode == 0, err[-2000:]
    lines = [json.loads(s) for s in rest.splitlines() if s.startswith("{")]
    for rec in lines[:-1]:
        losses.append(rec["loss"])
    assert "interrupted_at_step" in lines[-1], rest  # it really was interrupted, not finished
    done = len(losses)
    steps_per_epoch = 20000
    assert lines[-1]["interrupted_at_step"] >= done * steps_per_epoch  # past the newest checkpoint

    ns = {}
    exec(SETUP, ns)
    x, y = ns["data"]()
    resumed = fnn.load_model(ck.format(epoch=done))
    assert resumed.optimizer.iterations == done * steps_per_epoch
    h_resumed = resumed.fit(x, y, epochs=done + 2, initial_epoch=done, **ns["FIT"])

    full = ns["model"]()
    h_full = full.fit(x, y, epochs=done + 2, **ns["FIT"])
    assert h_full.history["loss"][:done] == losses  # the child's epochs were the uninterrupted ones
    assert h_resumed.history["loss"] == h_full.history["loss"][done:]
    for a, b in zip(resumed.get_weights(), full.get_weights()):  # includes BN moving statistics
        assert a.dtype == b.dtype and np.array_equal(a, b)
    for a, b in zip(resumed.optimizer.state.values(), full.optimizer.state.values()):
        assert np.array_equal(a, b)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_checkpoint_written_during_interrupt_is_never_half_written(tmp_path):
    # Every checkpoint the interrupted child left behind loads (the writer replaces files
    # atomically), whichever moment the signal hit.
    ck = str(tmp_path / "ck-{epoch}.fnn")
    with child(CHILD.format(ck=ck)) as p:
        assert p.stdout.readline(), p.stderr.read()[-2000:]
        interrupt(p)
    files = sorted(tmp_path.glob("ck-*.fnn"))
    assert files
    for f in files:
        m = fnn.load_model(f)
        assert np.isfinite(m.predict(np.zeros((3, 12), np.float32))).all()
    assert not [f for f in tmp_path.iterdir() if not f.name.endswith(".fnn")]  # no temporaries left
