"""Bad input to the optimizer updates and clipping helpers: TypeError/ValueError naming the
argument (and its shape and dtype), never a crash, and nothing modified."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastnn import _core, ops


def _adam_args(n=5, dtype=np.float32):
    return [np.zeros(n, dtype) for _ in range(4)]


def test_adam_rejects_aliasing():
    p, g, m, v = _adam_args(8)
    with pytest.raises(ValueError, match="exp_avg and exp_avg_sq share memory"):
        ops.adam_update(p, g, m, m, 1)
    with pytest.raises(ValueError, match="param and grad share memory"):
        ops.adam_update(p, p, m, v, 1)
    big = np.zeros(16, np.float32)
    with pytest.raises(ValueError, match="share memory"):
        ops.adam_update(big[:8], g, big[8:], big[4:12], 1)
    with pytest.raises(ValueError, match="share memory"):
        ops.adam_update(p, g, m, v, 1, amsgrad=True, max_exp_avg_sq=v)


def test_rejects_noncontiguous_and_readonly_state():
    p, g, m, v = _adam_args(8)
    strided = np.zeros(16, np.float32)[::2]
    with pytest.raises(ValueError, match="exp_avg: must be C-contiguous"):
        ops.adam_update(p, g, strided, v, 1)
    with pytest.raises(ValueError, match="param: must be C-contiguous"):
        ops.sgd_update(strided, g, lr=0.1)
    v.flags.writeable = False
    with pytest.raises(ValueError, match="exp_avg_sq: array is read-only"):
        ops.adam_update(p, g, m, v, 1)


def test_rejects_dtype_mismatch_with_names():
    p, g, m, v = _adam_args(5)
    with pytest.raises(TypeError, match=r"exp_avg: expected dtype float32.*shape \(5,\) and dtype float64"):
        ops.adam_update(p, g, m.astype(np.float64), v, 1)
    with pytest.raises(TypeError, match=r"grad: expected dtype float32"):
        ops.adam_update(p, g.astype(np.float64), m, v, 1)
    with pytest.raises(TypeError, match=r"param: expected dtype float32 or float64.*float16"):
        ops.sgd_update(p.astype(np.float16), g, lr=0.1)
    with pytest.raises(TypeError, match="param: expected a numpy.ndarray"):
        ops.sgd_update([1.0, 2.0], [1.0, 2.0], lr=0.1)


def test_rejects_missing_state():
    p, g, m, v = _adam_args(5)
    with pytest.raises(ValueError, match="max_exp_avg_sq: an array is required when amsgrad=True"):
        ops.adam_update(p, g, m, v, 1, amsgrad=True)
    with pytest.raises(ValueError, match="momentum_buffer: an array is required when momentum"):
        ops.sgd_update(p, g, lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="momentum_buffer"):
        ops.rmsprop_update(p, g, m, momentum=0.5)
    with pytest.raises(ValueError, match="grad_avg: an array is required when centered=True"):
        ops.rmsprop_update(p, g, m, centered=True)


@pytest.mark.parametrize("fn,kwargs,name", [
    (lambda p, g, m, v, **k: ops.sgd_update(p, g, m, **k), dict(lr=-0.1), "lr"),
    (lambda p, g, m, v, **k: ops.sgd_update(p, g, m, **k), dict(lr=0.1, momentum=-1.0), "momentum"),
    (lambda p, g, m, v, **k: ops.sgd_update(p, g, m, **k), dict(lr=0.1, momentum=0.9, dampening=0.1,
                                                                 nesterov=True), "nesterov"),
    (lambda p, g, m, v, **k: ops.sgd_update(p, g, m, **k), dict(lr=0.1, nesterov=True), "nesterov"),
    (lambda p, g, m, v, **k: ops.adam_update(p, g, m, v, 1, **k), dict(beta1=1.0), "beta1"),
    (lambda p, g, m, v, **k: ops.adam_update(p, g, m, v, 1, **k), dict(beta2=-0.1), "beta2"),
    (lambda p, g, m, v, **k: ops.adam_update(p, g, m, v, 1, **k), dict(eps=0.0), "eps"),
    (lambda p, g, m, v, **k: ops.adam_update(p, g, m, v, 1, **k), dict(lr=float("nan")), "lr"),
    (lambda p, g, m, v, **k: ops.adam_update(p, g, m, v, 1, **k), dict(weight_decay=-1e-3), "weight_decay"),
    (lambda p, g, m, v, **k: ops.adam_update(p, g, m, v, 0, **k), {}, "step"),
    (lambda p, g, m, v, **k: ops.rmsprop_update(p, g, m, **k), dict(alpha=1.5), "alpha"),
    (lambda p, g, m, v, **k: ops.adagrad_update(p, g, m, 1, **k), dict(lr_decay=-1.0), "lr_decay"),
    (lambda p, g, m, v, **k: ops.adadelta_update(p, g, m, v, **k), dict(rho=2.0), "rho"),
    (lambda p, g, m, v, **k: ops.adamax_update(p, g, m, v, 1, **k), dict(eps=-1.0), "eps"),
    (lambda p, g, m, v, **k: ops.nadam_update(p, g, m, v, 1, 0.0, **k), {}, "mu_product"),
    (lambda p, g, m, v, **k: ops.nadam_update(p, g, m, v, 1, 1.0, **k), dict(momentum_decay=-1.0),
     "momentum_decay"),
    (lambda p, g, m, v, **k: ops.clip_by_value_(p, **k), dict(clipvalue=-1.0), "clipvalue"),
    (lambda p, g, m, v, **k: ops.clip_by_global_norm_([p], **k), dict(max_norm=-1.0), "max_norm"),
])
def test_rejects_bad_hyperparameters(fn, kwargs, name):
    p, g, m, v = _adam_args(5)
    before = p.copy()
    with pytest.raises(ValueError, match=name):
        fn(p, g, m, v, **kwargs)
    np.testing.assert_array_equal(p, before)


def test_rejects_bad_types_of_scalars():
    p, g, m, v = _adam_args(5)
    with pytest.raises(TypeError, match="step"):
        ops.adam_update(p, g, m, v, 1.5)
    with pytest.raises(TypeError, match="step"):
        ops.adam_update(p, g, m, v, True)
    with pytest.raises(TypeError, match="amsgrad"):
        ops.adam_update(p, g, m, v, 1, amsgrad="yes")
    with pytest.raises(TypeError, match="lr"):
        ops.sgd_update(p, g, lr="0.1")


def test_empty_arrays_rejected():
    e = np.zeros(0, np.float32)
    with pytest.raises(ValueError, match="param: empty"):
        ops.sgd_update(e, e.copy(), lr=0.1)
    with pytest.raises(ValueError, match="empty"):
        ops.global_norm(e)
    with pytest.raises(ValueError, match="at least one"):
        ops.global_norm()
    with pytest.raises(ValueError, match="at least one"):
        ops.clip_by_global_norm_([], 1.0)
    with pytest.raises(ValueError, match="empty"):
        ops.clip_by_value_(e, 1.0)


def test_clip_rejects_bad_arrays():
    a = np.zeros(4, np.float32)
    with pytest.raises(ValueError, match="share memory"):
        ops.clip_by_global_norm_([a, a], 1.0)
    with pytest.raises(TypeError, match=r"arrays\[1\]: expected dtype float32 or float64"):
        ops.clip_by_global_norm_([a, np.zeros(3, np.int32)], 1.0)
    with pytest.raises(TypeError, match="grad: expected a numpy.ndarray"):
        ops.clip_by_value_([1.0], 1.0)
    with pytest.raises(ValueError, match="contiguous"):
        ops.clip_by_value_(np.zeros(8)[::2], 1.0)


def test_native_checks_are_a_last_line():
    # The private binding never crashes on bad input, even without the Python checks.
    p, g, m, v = _adam_args(5)
    args = (1, 1e-3, 0.9, 0.999, 1e-8, 0.0, False, False, False)
    with pytest.raises(TypeError, match="exp_avg"):
        _core.adam_update(p, g, m.astype(np.float64), v, None, *args)
    with pytest.raises(ValueError, match="exp_avg_sq"):
        _core.adam_update(p, g, m, np.zeros(4, np.float32), None, *args)
    with pytest.raises(ValueError, match="share memory"):
        _core.adam_update(p, g, m, m, None, *args)
    with pytest.raises(ValueError, match="max_exp_avg_sq"):
        _core.adam_update(p, g, m, v, None, 1, 1e-3, 0.9, 0.999, 1e-8, 0.0, False, True, False)
    with pytest.raises(ValueError, match="step"):
        _core.adam_update(p, g, m, v, None, 0, *args[1:])
    with pytest.raises(TypeError, match="param: expected a numpy.ndarray"):
        _core.sgd_update([0.0] * 5, g, None, 0.1, 0.0, 0.0, False, 0.0, False, False)
    with pytest.raises(TypeError, match="param"):
        _core.sgd_update(p.astype(np.int32), g, None, 0.1, 0.0, 0.0, False, 0.0, False, False)
    with pytest.raises(ValueError, match="contiguous"):
        _core.sgd_update(np.zeros(10, np.float32)[::2], g, None, 0.1, 0.0, 0.0, False, 0.0, False, False)
    with pytest.raises(TypeError, match="grad"):
        _core.sgd_update(p, [0.0] * 5, None, 0.1, 0.0, 0.0, False, 0.0, False, False)
    with pytest.raises(ValueError, match="empty"):
        _core.global_norm([np.zeros(0)])
    with pytest.raises(ValueError, match="share memory"):
        _core.scale_arrays([p, p], 0.5)


_DT = st.sampled_from([np.float32, np.float64, np.float16, np.int32, np.complex64])
_SHAPE = st.lists(st.integers(0, 4), min_size=0, max_size=3).map(tuple)


@settings(deadline=None, max_examples=80, suppress_health_check=[HealthCheck.too_slow])
@given(pshape=_SHAPE, gshape=_SHAPE, sshape=_SHAPE, pdt=_DT, gdt=_DT, sdt=_DT)
def test_adam_bad_shapes_and_dtypes(pshape, gshape, sshape, pdt, gdt, sdt):
    p = np.ones(pshape, pdt)
    g = np.ones(gshape, gdt)
    m = np.zeros(sshape, sdt)
    v = np.zeros(pshape, pdt)
    psize = int(np.prod(pshape))
    if np.dtype(pdt) not in (np.float32, np.float64):
        err, name = TypeError, "param"
    elif psize == 0:
        err, name = ValueError, "param"
    elif gdt != pdt:
        err, name = TypeError, "grad"
    elif gshape != pshape:
        err, name = ValueError, "grad"
    elif sdt != pdt:
        err, name = TypeError, "exp_avg"
    elif sshape != pshape:
        err, name = ValueError, "exp_avg"
    else:
        err = None
    if err is None:
        ops.adam_update(p, g, m, v, 1, lr=0.1)
        assert np.all(p < 1.0)
    else:
        with pytest.raises(err, match=rf"^{name}: .*shape"):
            ops.adam_update(p, g, m, v, 1, lr=0.1)


@settings(deadline=None, max_examples=40)
@given(n=st.integers(1, 40), offset=st.integers(-10, 10), which=st.sampled_from(["grad", "buf"]))
def test_sgd_overlapping_views_rejected(n, offset, which):
    base = np.zeros(100, np.float64)
    p = base[30:30 + n]
    other = base[30 + offset:30 + offset + n]
    overlaps = offset < n and offset > -n
    buf = np.zeros(n)
    g = np.zeros(n)
    if which == "grad":
        g = other
    else:
        buf = other
    if overlaps:
        with pytest.raises(ValueError, match="share memory"):
            ops.sgd_update(p, g, buf, lr=0.1, momentum=0.9)
    else:
        ops.sgd_update(p, g, buf, lr=0.1, momentum=0.9)
