"""The kernel benchmark suite on tiny sizes (``--quick``): JSON fields, validation before
timing, n/a for missing ops, thread settings, and the timing/validation helpers."""
import json
import math
import time

import numpy as np
import pytest

import fastnn
from fastnn.bench import _activation_forms as A
from fastnn.bench import report
from fastnn.bench._case import Target
from fastnn.bench._timing import Schedule, check_bound, check_close, time_blocks
from fastnn.cli import main


def _strict_load(path):
    def no_constants(name):
        raise ValueError(f"non-standard JSON constant {name}")

    with open(path) as f:
        return json.load(f, parse_constant=no_constants)


def _run_quick(tmp_path, *extra):
    path = tmp_path / "bench.json"
    rc = main(["bench", "kernels", "--quick", "--json", str(path), *extra])
    return rc, _strict_load(path)


# --------------------------------------------------------------- stand-in ops
def _gelu_np(x, approximate=False):
    if approximate:
        return A.NUMPY_FWD["gelu_tanh"](x)
    if A.have_erf():
        return A.NUMPY_FWD["gelu"](x)
    erf = np.vectorize(math.erf, otypes=[np.float64])
    return (0.5 * x * (1 + erf(x * A.INV_SQRT2))).astype(x.dtype)


def _grad_np(name, x, dy):
    if name == "gelu" and not A.have_erf():
        return A.REF_BWD["gelu"](x.astype(np.float64), dy.astype(np.float64)).astype(x.dtype)
    return A.NUMPY_BWD[name](x, dy)


def _softmax_np(x, axis=-1, *, out=None):
    e = np.exp(x - x.max(axis, keepdims=True))
    return np.divide(e, e.sum(axis, keepdims=True), out=out)


def _adam_np(p, g, m, v, step, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m *= beta1
    m += (1 - beta1) * g
    v *= beta2
    v += (1 - beta2) * g * g
    p -= lr / (1 - beta1 ** step) * m / (np.sqrt(v / (1 - beta2 ** step)) + eps)


def _sgd_np(p, g, buf, lr=0.01, momentum=0.9):
    buf *= momentum
    buf += g
    p -= lr * buf


def _relu_np(x, *, out=None):
    return np.maximum(x, 0, out=out)


@pytest.fixture
def stand_in_ops(monkeypatch):
    """NumPy stand-ins for every op the suite calls, so each case path runs whether or not
    the native ops exist in this build (relu and softmax take out=, the others do not)."""
    for name in A.NAMES:
        if name not in ("gelu", "gelu_tanh", "relu"):
            monkeypatch.setattr(fastnn.ops, name, (lambda n: lambda x: A.NUMPY_FWD[n](x))(name),
                                raising=False)
    monkeypatch.setattr(fastnn.ops, "relu", _relu_np, raising=False)
    monkeypatch.setattr(fastnn.ops, "gelu", _gelu_np, raising=False)
    monkeypatch.setattr(fastnn.ops, "activation_grad", _grad_np, raising=False)
    monkeypatch.setattr(fastnn.ops, "softmax", _softmax_np, raising=False)
    monkeypatch.setattr(fastnn.ops, "adam_update", _adam_np, raising=False)
    monkeypatch.setattr(fastnn.ops, "sgd_update", _sgd_np, raising=False)


# --------------------------------------------------------------- whole runs
def test_quick_run_real_build(tmp_path, capsys):
    """Whatever this build has must validate; what it lacks is n/a, never an error."""
    rc, doc = _run_quick(tmp_path)
    out = capsys.readouterr().out
    assert rc == 0, out
    assert doc["schema"] == report.SCHEMA
    env = doc["environment"]
    assert env["fastnn"]["version"] == fastnn.__version__
    assert env["fastnn"]["arch"] in env["fastnn"]["available_archs"]
    assert env["cpu"]
    assert env["numpy"]["version"] == np.__version__
    assert "name" in env["numpy"]["blas"]
    assert doc["options"]["quick"] is True
    s = doc["summary"]
    assert s["invalid"] == 0 and s["error"] == 0
    assert s["cases"] == len(doc["cases"]) == 32
    names = [c["name"] for c in doc["cases"]]
    assert "sgemm 64x64x64" in names and "mlp dW TN B=8 96x40" in names
    for c in doc["cases"]:
        assert c["status"] in ("ok", "n/a"), c
        if c["status"] == "n/a":
            assert "not available" in c["reason"]
            assert c["name"] in out and "n/a" in out
    gemms = [c for c in doc["cases"] if c["group"] in ("gemm", "mlp-gemm")]
    assert gemms and all(c["status"] == "ok" for c in gemms)
    for c in gemms:
        assert c["validation"]["fastnn"]["ok"] is True
        assert c["validation"]["numpy"]["ok"] is True
        info = c["info"]
        assert c["work"] == 2.0 * info["m"] * info["n"] * info["k"]
        t = c["timing"]["fastnn"]
        assert t["repeats"] == 1 and 0 < t["min_s"] <= t["median_s"]
        assert c["rate"]["fastnn"] == pytest.approx(c["work"] / t["median_s"] / 1e9)
        assert c["ratio"]["numpy"] == pytest.approx(c["timing"]["numpy"]["median_s"] / t["median_s"])
    # targets are shown but not judged on quick sizes
    mlp = [c for c in gemms if c["group"] == "mlp-gemm"]
    assert all(c["target"]["status"] == "-" for c in mlp)


def test_quick_run_every_case_path(tmp_path, stand_in_ops, capsys):
    rc, doc = _run_quick(tmp_path)
    out = capsys.readouterr().out
    assert rc == 0, out
    assert doc["summary"]["ok"] == 32, [c for c in doc["cases"] if c["status"] != "ok"]
    by_name = {c["name"]: c for c in doc["cases"]}
    n = by_name["relu fwd 64K"]["info"]["n"]
    assert by_name["relu fwd 64K"]["work"] == 8 * n
    assert by_name["mish bwd 64K"]["work"] == 12 * n
    assert by_name["softmax 64x100"]["work"] == 8 * 64 * 100
    assert by_name["adam_update 64K"]["work"] == 28 * by_name["adam_update 64K"]["info"]["n"]
    for c in doc["cases"]:
        assert c["validation"]["fastnn"]["ok"] is True
        assert c["validation"]["fastnn"]["err_over_tol"] <= 1.0
        assert c["unit"] in ("GFLOP/s", "GB/s")
    if not A.have_erf():
        assert "skipped" in by_name["gelu fwd 64K"]["validation"]["numpy"]
    # the informational out= side: timed where the op takes out=, never a ratio
    for nm in ("relu fwd 64K", "softmax 64x100"):
        assert by_name[nm]["validation"]["fastnn_out"]["ok"] is True
        assert by_name[nm]["rate"]["fastnn_out"] > 0
        assert "fastnn_out" not in by_name[nm]["ratio"]
    assert by_name["elu fwd 64K"]["validation"]["fastnn_out"]["skipped"] == "no out= parameter"
    assert "fastnn_out" not in by_name["elu fwd 64K"]["rate"]
    assert "fastnn_out skipped" not in out


def test_out_side_that_ignores_out_is_flagged(tmp_path, stand_in_ops, monkeypatch, capsys):
    def relu_ignoring_out(x, *, out=None):
        return np.maximum(x, 0)

    monkeypatch.setattr(fastnn.ops, "relu", relu_ignoring_out)
    rc, doc = _run_quick(tmp_path, "--filter", "relu fwd")
    assert rc == 1   # a wrong fastnn result is a bug, out= or not
    case = doc["cases"][0]
    assert case["status"] == "invalid"
    assert case["validation"]["fastnn"]["ok"] is True
    assert case["validation"]["fastnn_out"]["ok"] is False
    assert "INVALID: fastnn out=" in capsys.readouterr().out


def test_gelu_without_scipy(tmp_path, stand_in_ops, monkeypatch, capsys):
    """No SciPy: the erf-gelu NumPy peer is skipped (said so), fastnn is still validated
    against a math.erf reference, and the target cannot be judged on the ratio."""
    import fastnn.bench.kernels as K

    monkeypatch.setattr(A, "_scipy_erf", None)
    monkeypatch.setattr(K, "QUICK_ACT_N", 3000)
    rc, doc = _run_quick(tmp_path, "--filter", "gelu fwd,gelu bwd")
    assert rc == 0
    assert [c["name"] for c in doc["cases"]] == ["gelu fwd 3000", "gelu bwd 3000"]
    for c in doc["cases"]:
        assert c["status"] == "ok"
        assert c["validation"]["fastnn"]["ok"] is True
        assert "scipy" in c["validation"]["numpy"]["skipped"].lower()
        assert "numpy" not in c["rate"]
    assert "numpy skipped" in capsys.readouterr().out


def test_wrong_result_is_invalid_and_not_timed(tmp_path, monkeypatch, capsys):
    real = fastnn.ops.matmul

    def off_by_a_bit(a, b, **kw):
        c = real(a, b, **kw)
        c[0, 0] += 1e-2
        return c

    monkeypatch.setattr(fastnn.ops, "matmul", off_by_a_bit)
    rc, doc = _run_quick(tmp_path, "--filter", "sgemm 64x")
    assert rc == 1
    (case,) = doc["cases"]
    assert case["status"] == "invalid"
    assert case["validation"]["fastnn"]["ok"] is False
    assert case["validation"]["numpy"]["ok"] is True
    assert case["timing"] == {}
    assert "INVALID" in capsys.readouterr().out


def test_wrong_inplace_update_is_invalid(tmp_path, stand_in_ops, monkeypatch):
    def adam_without_bias_correction(p, g, m, v, step, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        _adam_np(p, g, m, v, 1, lr, beta1, beta2, eps)

    monkeypatch.setattr(fastnn.ops, "adam_update", adam_without_bias_correction)
    rc, doc = _run_quick(tmp_path, "--filter", "adam")
    assert rc == 1
    assert doc["cases"][0]["status"] == "invalid"


def test_raising_op_is_error_without_traceback_on_screen(tmp_path, monkeypatch, capsys):
    def broken(*a, **k):
        raise RuntimeError("kernel exploded")

    monkeypatch.setattr(fastnn.ops, "softmax", broken, raising=False)
    rc, doc = _run_quick(tmp_path, "--filter", "softmax")
    out = capsys.readouterr()
    assert rc == 1
    assert doc["cases"][0]["status"] == "error"
    assert "kernel exploded" in doc["cases"][0]["reason"]
    assert "Traceback" not in out.out + out.err


def test_missing_op_is_na(tmp_path, stand_in_ops, monkeypatch):
    monkeypatch.delattr(fastnn.ops, "softmax")
    monkeypatch.delattr(fastnn.ops, "activation_grad")
    rc, doc = _run_quick(tmp_path, "--filter", "softmax,elu")
    assert rc == 0
    st = {c["name"]: c["status"] for c in doc["cases"]}
    assert st["softmax 64x100"] == "n/a"
    assert st["elu fwd 64K"] == "ok" and st["elu bwd 64K"] == "n/a"
    assert st["selu fwd 64K"] == "ok"   # 'elu' also matches selu and leaky_relu


def test_threads_option_applied_and_restored(tmp_path):
    before = fastnn.get_num_threads()
    rc, doc = _run_quick(tmp_path, "--filter", "dgemm", "--threads", "1")
    assert rc == 0
    assert doc["environment"]["fastnn"]["num_threads"] == 1
    assert doc["options"]["threads"] == 1
    assert fastnn.get_num_threads() == before


def test_torch_peer_is_optional(tmp_path):
    rc, doc = _run_quick(tmp_path, "--filter", "sgemm", "--peers", "numpy,torch")
    assert rc == 0
    assert doc["options"]["requested_peers"] == ["numpy", "torch"]
    try:
        import torch  # noqa: F401
    except Exception:
        assert doc["options"]["peers"] == ["numpy"]
        assert doc["environment"]["torch"]["version"] is None
    else:
        assert doc["options"]["peers"] == ["numpy", "torch"]
        for c in doc["cases"]:
            assert c["validation"]["torch"]["ok"] is True
            assert c["rate"]["torch"] > 0


# --------------------------------------------------------------- helpers
def test_target_evaluate():
    t = Target(min_ratio=1.7, min_rate=430.0)
    assert t.evaluate(450.0, 1.8)[0] == "pass"
    assert t.evaluate(450.0, 1.5)[0] == "fail"
    assert t.evaluate(400.0, 2.0)[0] == "fail"
    assert t.evaluate(450.0, None)[0] == "n/a"
    assert t.evaluate(400.0, None)[0] == "fail"
    assert t.text("GFLOP/s") == ">=1.7x np, >=430 GFLOP/s"


def test_time_blocks_repeat_policy():
    calls = {"a": 0, "b": 0}

    def inc(k):
        def f():
            calls[k] += 1
        return f

    sched = Schedule(warmup=2, min_repeats=3, max_repeats=7, min_time=10.0, settle=0.0, warmup_time=0.0)
    res = time_blocks({"a": inc("a"), "b": inc("b")}, sched)
    assert len(res["a"].times) == 7 and len(res["b"].times) == 7   # capped by max_repeats
    assert calls == {"a": 9, "b": 9}                                # + warm-up
    # Warm-up also lasts at least warmup_time seconds (more calls, none of them timed).
    def slow():
        calls["a"] += 1
        time.sleep(0.004)
    calls["a"] = 0
    res = time_blocks({"a": slow}, Schedule(warmup=1, min_repeats=2, max_repeats=2, min_time=0.0,
                                            settle=0.0, warmup_time=0.03))
    assert len(res["a"].times) == 2 and calls["a"] >= 2 + 30 // 5
    assert res["a"].warmup_calls == calls["a"] - 2 and res["a"].as_dict()["warmup_calls"] == calls["a"] - 2
    # warmup=0 with a warm-up time (the train suite's re-warm after its pause): one call at
    # least, even when that call alone outlasts the time.
    calls["a"] = 0
    res = time_blocks({"a": slow}, Schedule(warmup=0, min_repeats=1, max_repeats=1, min_time=0.0,
                                            settle=0.0, warmup_time=0.001))
    assert res["a"].warmup_calls == 1 and calls["a"] == 2
    # A block during which the disturbance counter moves is timed once more (and says so).
    events = {"n": 0}

    def disturbing():
        calls["b"] += 1
        if calls["b"] == 2:
            events["n"] += 1  # e.g. a contention backoff started during the first block

    calls["b"] = 0
    sched = Schedule(warmup=0, min_repeats=3, max_repeats=3, min_time=0.0, settle=0.0, warmup_time=0.0)
    res = time_blocks({"b": disturbing, "a": inc("a")}, sched, disturbed=lambda: events["n"])
    assert res["b"].retimed and res["b"].discarded_calls == 3 and calls["b"] == 6
    assert "warmup_calls" not in res["b"].as_dict()
    assert res["b"].as_dict()["retimed"] is True and not res["a"].retimed
    assert "retimed" not in res["a"].as_dict()
    res = time_blocks({"a": inc("a")}, Schedule(1, 4, 50, 0.0, 0.0))
    assert len(res["a"].times) == 4
    assert res["a"].min <= res["a"].median


def test_checks():
    ref = np.array([1.0, -2.0, 3.0])
    assert check_close(ref.astype(np.float32), ref, rtol=1e-6, atol=0).ok
    assert not check_close(ref * 1.01, ref, rtol=1e-4, atol=0).ok
    assert not check_close(np.array([1.0, np.nan, 3.0]), ref, rtol=1, atol=1).ok
    assert not check_close(ref[:2], ref, rtol=1, atol=1).ok
    bound = np.full(3, 1e-3)
    assert check_bound(ref + 5e-4, ref, bound).ok
    assert not check_bound(ref + 2e-3, ref, bound).ok
    assert not check_bound(np.array([np.inf, 0, 0]), ref, bound).ok


def test_json_has_no_nonstandard_numbers(tmp_path):
    path = tmp_path / "x.json"
    report.write_json(str(path), {"a": float("inf"), "b": [float("nan"), 1.5], "c": np.float32(2)})
    assert _strict_load(path) == {"a": None, "b": [None, 1.5], "c": 2.0}
