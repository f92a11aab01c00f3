"""Bad input to matmul / gemm / linear (and the native gemm behind them) raises TypeError or
ValueError naming the argument, with its shape and dtype: never a crash, never a huge
allocation, never a partial write."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastnn import _core, _ops_linalg, ops

gemm = getattr(ops, "gemm", _ops_linalg.gemm)
matmul, linear = ops.matmul, ops.linear
as_strided = np.lib.stride_tricks.as_strided

BAD_DTYPES = [np.complex64, np.complex128, object, "U3", "S3", "M8[s]", "m8[s]", "V8"]
GOOD_DTYPES = [np.float32, np.float64]


def describe(a):
    return f"shape {tuple(a.shape)} and dtype {a.dtype}"


def call(api, first, second, out=None):
    """Call ``api`` with operands in the positions of (a, b, out) / (x, w, out)."""
    if api == "matmul":
        return matmul(first, second, out=out)
    if api == "gemm":
        return gemm(first, second, out)
    return linear(first, second, out=out)


NAMES = {"matmul": ("a", "b", "out"), "gemm": ("a", "b", "c"), "linear": ("x", "w", "out")}


# ----------------------------------------------------------------------------- operands

OPERAND_CASES = [
    # (label, bad operand, exception, shape/dtype shown in the message)
    ("0-D float", np.float64(2.0), ValueError, True),
    ("0-D array", np.array(2.0, np.float32), ValueError, True),
    ("python scalar", 3.0, ValueError, True),
    ("1-D", np.ones(3), ValueError, True),
    ("3-D", np.ones((2, 3, 4), np.float32), ValueError, True),
    ("4-D", np.ones((1, 3, 1, 1)), ValueError, True),
    ("empty rows", np.ones((0, 3)), ValueError, True),
    ("empty cols", np.ones((3, 0), np.float32), ValueError, True),
    ("complex", np.ones((3, 3), np.complex128), TypeError, True),
    ("object", np.ones((3, 3), object), TypeError, True),
    ("str array", np.full((3, 3), "1"), TypeError, True),
    ("bytes array", np.full((3, 3), b"1"), TypeError, True),
    ("datetime", np.zeros((3, 3), "M8[s]"), TypeError, True),
    ("void", np.zeros((3, 3), "V4"), TypeError, True),
    ("str", "abc", TypeError, False),
    ("bytes", b"abc", TypeError, False),
    ("None", None, TypeError, False),
    ("ragged list", [[1.0, 2.0, 3.0], [1.0, 2.0]], TypeError, False),
    ("list of str", [["a", "b", "c"]] * 3, TypeError, False),
    ("dict", {"a": 1}, TypeError, False),
]


def _check_message(msg, name, bad, show):
    assert msg.startswith(f"{name}:"), f"message does not start with {name!r}: {msg!r}"
    if show:
        arr = np.asarray(bad)
        assert f"shape {tuple(arr.shape)}" in msg and str(arr.dtype) in msg, msg


@pytest.mark.parametrize("api", ["matmul", "gemm"])
@pytest.mark.parametrize("pos", [0, 1])
@pytest.mark.parametrize("label, bad, exc, show", OPERAND_CASES, ids=[c[0] for c in OPERAND_CASES])
def test_bad_operand(api, pos, label, bad, exc, show):
    good = np.ones((3, 3), np.float32)
    args = (bad, good) if pos == 0 else (good, bad)
    with pytest.raises(exc) as info:
        call(api, *args)
    _check_message(str(info.value), NAMES[api][pos], bad, show)


@pytest.mark.parametrize("pos", [0, 1])
@pytest.mark.parametrize("label, bad, exc, show", OPERAND_CASES, ids=[c[0] for c in OPERAND_CASES])
def test_bad_operand_linear_raises(pos, label, bad, exc, show):
    """linear rejects the same inputs with the same exception types and shows shape and
    dtype (its argument names are checked in test_linear_messages_name_x_and_w)."""
    good = np.ones((3, 3), np.float32)
    args = (bad, good) if pos == 0 else (good, bad)
    with pytest.raises(exc) as info:
        linear(*args)
    if show:
        arr = np.asarray(bad)
        assert f"shape {tuple(arr.shape)}" in str(info.value) and str(arr.dtype) in str(info.value)


LINEAR_NAME_CASES = [
    ("x 1-D", np.ones(3), np.ones((3, 2)), "x"),
    ("x 3-D", np.ones((2, 3, 1)), np.ones((3, 2)), "x"),
    ("x empty", np.ones((0, 3)), np.ones((3, 2)), "x"),
    ("w 1-D", np.ones((2, 3)), np.ones(3), "w"),
    ("w empty", np.ones((2, 3)), np.ones((3, 0)), "w"),
    ("w 0-D", np.ones((2, 3)), np.float64(1), "w"),
]


# Regression test (fixed bug): python/fastnn/_ops_linalg.py _prepare (lines 40-52) hard-codes the names 'a'/'b', so
# linear's ndim/empty errors name 'a' and 'b' ('b' is linear's bias argument!) instead of
# 'x' and 'w'. Fix: a names=("x", "w") parameter used by the checks and by _shapes.
def test_linear_messages_name_x_and_w():
    for label, x, w, name in LINEAR_NAME_CASES:
        with pytest.raises(ValueError) as info:
            linear(x, w)
        _check_message(str(info.value), name, x if name == "x" else w, True)


# Same cause (_shapes, lines 28-37, called with the default names from _prepare).
def test_linear_inner_mismatch_names_x_and_w():
    with pytest.raises(ValueError) as info:
        linear(np.ones((2, 3)), np.ones((4, 5)))
    msg = str(info.value)
    assert "x is" in msg and "w is" in msg and "(2, 3)" in msg and "(4, 5)" in msg, msg


@pytest.mark.parametrize("api", ["matmul", "gemm"])
@pytest.mark.parametrize("ta, tb", [(False, False), (True, False), (False, True), (True, True)])
def test_inner_dimension_mismatch(api, ta, tb):
    a, b = np.ones((2, 3), np.float32), np.ones((4, 5))
    with pytest.raises(ValueError) as info:
        if api == "matmul":
            matmul(a, b, trans_a=ta, trans_b=tb)
        else:
            gemm(a, b, trans_a=ta, trans_b=tb)
    msg = str(info.value)
    assert "inner dimension" in msg and describe(a) in msg and describe(b) in msg, msg
    assert ("a.T is" if ta else "a is") in msg and ("b.T is" if tb else "b is") in msg, msg


def test_bias_errors():
    x, w = np.ones((2, 3), np.float32), np.ones((3, 4), np.float32)
    for b in (np.ones(3, np.float32), np.ones((4, 1)), np.ones((2, 4)), np.ones(5)):
        with pytest.raises(ValueError, match=r"^b: .*\(4,\).*" + rf"shape {tuple(b.shape)}".replace("(", r"\(").replace(")", r"\)")):
            linear(x, w, b)
    for b, exc in ((np.ones(4, complex), TypeError), ("abcd", TypeError), ([[1, 2], [3]], TypeError),
                   (np.ones(4, object), TypeError)):
        with pytest.raises(exc, match=r"^b: "):
            linear(x, w, b)


@pytest.mark.parametrize("api", ["matmul", "gemm"])
@pytest.mark.parametrize("which, value", [("trans_a", 1), ("trans_b", "yes"), ("trans_a", None),
                                          ("trans_b", np.float64(1.0))])
def test_trans_flags_must_be_bool(api, which, value):
    fn = matmul if api == "matmul" else gemm
    with pytest.raises(TypeError, match=rf"^{which}: expected a bool"):
        fn(np.ones((2, 2)), np.ones((2, 2)), **{which: value})


@pytest.mark.parametrize("which, value, exc", [("alpha", float("nan"), ValueError), ("beta", float("inf"), ValueError),
                                               ("alpha", "2", TypeError), ("beta", None, TypeError),
                                               ("alpha", True, TypeError), ("beta", 1j, TypeError),
                                               ("alpha", np.array([1.0]), TypeError)])
def test_alpha_beta_validation(which, value, exc):
    c = np.full((2, 2), 5.0)
    with pytest.raises(exc, match=rf"^{which}: "):
        gemm(np.ones((2, 2)), np.ones((2, 2)), c, **{which: value})
    assert (c == 5.0).all()


# ----------------------------------------------------------------------------- out

OUT_CASES = [
    ("wrong shape", lambda: np.zeros((3, 4), np.float32), ValueError, True),
    ("transposed shape", lambda: np.zeros((2, 3), np.float32), ValueError, True),
    ("1-D", lambda: np.zeros(9, np.float32), ValueError, True),
    ("3-D", lambda: np.zeros((3, 3, 1), np.float32), ValueError, True),
    ("float64", lambda: np.zeros((3, 3)), TypeError, True),
    ("float16", lambda: np.zeros((3, 3), np.float16), TypeError, True),
    ("int32", lambda: np.zeros((3, 3), np.int32), TypeError, True),
    ("complex", lambda: np.zeros((3, 3), np.complex64), TypeError, True),
    ("read-only", lambda: np.broadcast_to(np.float32(0), (3, 3)), ValueError, True),
    ("read-only flag", lambda: _readonly(np.zeros((3, 3), np.float32)), ValueError, True),
    ("list", lambda: [[0.0] * 3] * 3, TypeError, False),
    ("tuple", lambda: ((0.0,) * 3,) * 3, TypeError, False),
    ("scalar", lambda: 0.0, TypeError, False),
    ("str", lambda: "out", TypeError, False),
    ("memoryview", lambda: memoryview(np.zeros((3, 3), np.float32)), TypeError, False),
]


def _readonly(a):
    a.flags.writeable = False
    return a


@pytest.mark.parametrize("api", ["matmul", "linear"])
@pytest.mark.parametrize("label, make, exc, show", OUT_CASES, ids=[c[0] for c in OUT_CASES])
def test_bad_out(api, label, make, exc, show):
    out = make()
    with pytest.raises(exc) as info:
        call(api, np.ones((3, 2), np.float32), np.ones((2, 3), np.float32), out)
    _check_message(str(info.value), "out", out, show)


@pytest.mark.parametrize("label, make, exc, show", OUT_CASES, ids=[c[0] for c in OUT_CASES])
def test_bad_c_raises(label, make, exc, show):
    out = make()
    with pytest.raises(exc) as info:
        gemm(np.ones((3, 2), np.float32), np.ones((2, 3), np.float32), out)
    if show:
        assert describe(out) in str(info.value)


# Regression test (fixed bug): python/fastnn/_ops_linalg.py _resolve_out (line 60) calls check_out(out, "out", ...), so
# gemm's bad c= is reported as "out: ..." although the argument is c. Fix: a name parameter
# ("c" from gemm, "out" from matmul/linear).
def test_bad_c_names_c():
    for label, make, exc, show in OUT_CASES:
        out = make()
        with pytest.raises(exc) as info:
            gemm(np.ones((3, 2), np.float32), np.ones((2, 3), np.float32), out)
        _check_message(str(info.value), "c", out, show)


def test_bad_out_is_not_written():
    """Validation happens before any write: a wrong-dtype or wrong-shape out keeps its
    contents, and so does a good out when another argument is bad."""
    good = np.full((3, 3), 7.0, np.float32)
    with pytest.raises(ValueError):
        matmul(np.ones((3, 2), np.float32), np.ones((3, 3), np.float32), out=good)
    with pytest.raises(TypeError):
        matmul(np.ones((3, 2), np.float32), np.ones((2, 3), complex), out=good)
    with pytest.raises(ValueError):
        linear(np.ones((3, 2), np.float32), np.ones((2, 3), np.float32), np.ones(2), out=good)
    assert (good == 7.0).all()


# ----------------------------------------------------------------------------- huge views


def _zero_strided(shape, dtype=np.float32):
    return as_strided(np.ones(1, dtype), shape=shape, strides=(0,) * len(shape), writeable=False)


@pytest.mark.parametrize("m, k, n", [(2**40, 1, 2**40), (2**31, 1, 2**31), (2**60, 1, 2), (2**31, 2**29, 2**31)])
def test_huge_output_raises_before_allocating(m, k, n):
    """m*n past 64-bit arithmetic (or the output size limit): ValueError naming out."""
    a, b = _zero_strided((m, k)), _zero_strided((k, n))
    with pytest.raises(ValueError, match=r"^out: .*too many elements"):
        matmul(a, b)
    with pytest.raises(ValueError, match=r"^out: .*too many elements"):
        linear(a, b)


@pytest.mark.parametrize("api", ["matmul", "gemm", "linear"])
def test_huge_broadcast_inputs_raise(api):
    """Zero-stride views of 2**60 elements (4-8 EiB if copied): an error, quickly, not a
    crash; the process survives and the next call works."""
    cases = [
        (_zero_strided((1, 2**60)), _zero_strided((2**60, 1))),          # k = 2**60
        (_zero_strided((2**30, 2**30)), _zero_strided((2**30, 1), np.float64)),
        (np.broadcast_to(np.float32(1), (2**40, 2**20)), np.ones((2**20, 1), np.float32)),
    ]
    for a, b in cases:
        with pytest.raises((ValueError, MemoryError)):
            call(api, a, b)
    r = call(api, np.ones((2, 3)), np.ones((3, 4)))
    assert (r == 3).all()


# ----------------------------------------------------------------------------- native


def _g(a, b, out, *args, **kw):
    return _core.gemm(a, b, out, *args, **kw)


NATIVE_CASES = [
    ("a dtype", lambda: _g(np.ones((2, 2), np.float32), np.ones((2, 2)), np.ones((2, 2))), TypeError, "a:"),
    ("b dtype", lambda: _g(np.ones((2, 2)), np.ones((2, 2), np.int64), np.ones((2, 2))), TypeError, "b:"),
    ("out dtype", lambda: _g(np.ones((2, 2)), np.ones((2, 2)), np.ones((2, 2), np.int32)), TypeError, "out:"),
    ("a 1-D", lambda: _g(np.ones(2), np.ones((2, 2)), np.ones((2, 2))), ValueError, "a:"),
    ("b 3-D", lambda: _g(np.ones((2, 2)), np.ones((2, 2, 1)), np.ones((2, 2))), ValueError, "b:"),
    ("out 0-D", lambda: _g(np.ones((2, 2)), np.ones((2, 2)), np.array(1.0)), ValueError, "out:"),
    ("inner", lambda: _g(np.ones((2, 3)), np.ones((2, 2)), np.ones((2, 2))), ValueError, "inner"),
    ("inner trans", lambda: _g(np.ones((2, 3)), np.ones((3, 3)), np.ones((3, 3)), True, True), ValueError, "inner"),
    ("out shape", lambda: _g(np.ones((2, 2)), np.ones((2, 2)), np.ones((2, 3))), ValueError, "out:"),
    ("a column stride", lambda: _g(np.ones((2, 4))[:, ::2], np.ones((2, 2)), np.ones((2, 2))), ValueError, "a:"),
    ("b negative rows", lambda: _g(np.ones((2, 2)), np.ones((2, 2))[::-1], np.ones((2, 2))), ValueError, "b:"),
    ("b zero rows", lambda: _g(np.ones((2, 2)), _zero_strided((2, 2), np.float64), np.ones((2, 2))), ValueError, "b:"),
    ("a overlapping rows", lambda: _g(as_strided(np.ones(8), (3, 4), (8, 8)), np.ones((4, 2)), np.ones((3, 2))),
     ValueError, "a:"),
    ("out read-only", lambda: _g(np.ones((2, 2)), np.ones((2, 2)), _readonly(np.ones((2, 2)))), ValueError, "out:"),
    ("out F-ordered", lambda: _g(np.ones((2, 2)), np.ones((2, 2)), np.ones((3, 2)).T[:, :2].copy("F")), ValueError,
     "out:"),
    ("a list", lambda: _g([[1.0]], np.ones((1, 1)), np.ones((1, 1))), TypeError, "incompatible"),
    ("bias length", lambda: _g(np.ones((2, 2)), np.ones((2, 2)), np.ones((2, 2)), bias=np.ones(3)), ValueError, "b:"),
    ("bias dtype", lambda: _g(np.ones((2, 2)), np.ones((2, 2)), np.ones((2, 2)), bias=np.ones(2, np.float32)),
     TypeError, "b:"),
    ("bias strided", lambda: _g(np.ones((2, 2)), np.ones((2, 2)), np.ones((2, 2)), bias=np.ones(4)[::2]), ValueError,
     "b:"),
    ("z shape", lambda: _g(np.ones((2, 2)), np.ones((2, 2)), np.ones((2, 2)), z=np.ones((3, 2))), ValueError, "z:"),
    ("z dtype", lambda: _g(np.ones((2, 2)), np.ones((2, 2)), np.ones((2, 2)), z=np.ones((2, 2), np.float32)),
     TypeError, "z:"),
    ("z read-only", lambda: _g(np.ones((2, 2)), np.ones((2, 2)), np.ones((2, 2)), z=_readonly(np.ones((2, 2)))),
     ValueError, "z:"),
    ("act id 99", lambda: _g(np.ones((2, 2)), np.ones((2, 2)), np.ones((2, 2)), act=99), ValueError, "activation"),
    ("act id -1", lambda: _g(np.ones((2, 2)), np.ones((2, 2)), np.ones((2, 2)), act=-1), ValueError, "activation"),
]


@pytest.mark.parametrize("label, fn, exc, text", NATIVE_CASES, ids=[c[0] for c in NATIVE_CASES])
def test_native_gemm_checks(label, fn, exc, text):
    """The binding's own checks: the last line before a kernel (never a crash)."""
    with pytest.raises(exc, match=text.replace("(", r"\(")):
        fn()


def test_native_gemm_failed_check_writes_nothing():
    out = np.full((2, 2), 3.0)
    with pytest.raises(ValueError):
        _core.gemm(np.ones((2, 2)), np.ones((2, 2)), out, False, False, 1.0, 0.0, np.ones(5))
    assert (out == 3.0).all()


# ----------------------------------------------------------------------------- hypothesis

small = st.integers(1, 5)


@st.composite
def bad_operand(draw):
    """(array, exception): wrong ndim, empty, or a non-real dtype."""
    kind = draw(st.sampled_from(["ndim", "empty", "dtype"]))
    if kind == "ndim":
        ndim = draw(st.sampled_from([0, 1, 3, 4]))
        shape = tuple(draw(small) for _ in range(ndim))
        return np.ones(shape, draw(st.sampled_from(GOOD_DTYPES + [np.int64]))), ValueError
    if kind == "empty":
        shape = draw(st.sampled_from([(0, draw(small)), (draw(small), 0), (0, 0)]))
        return np.ones(shape, draw(st.sampled_from(GOOD_DTYPES))), ValueError
    shape = (draw(small), draw(small))
    return np.zeros(shape, draw(st.sampled_from(BAD_DTYPES))), TypeError


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(api=st.sampled_from(["matmul", "gemm", "linear"]), pos=st.sampled_from([0, 1]), bad=bad_operand(),
       m=small, k=small, n=small, dtype=st.sampled_from(GOOD_DTYPES))
def test_property_bad_operand(api, pos, bad, m, k, n, dtype):
    arr, exc = bad
    good = np.ones((m, k) if pos == 1 else (k, n), dtype)
    args = (arr, good) if pos == 0 else (good, arr)
    with pytest.raises(exc) as info:
        call(api, *args)
    msg = str(info.value)
    assert describe(arr) in msg, msg
    if api != "linear":  # linear's names: see test_linear_messages_name_x_and_w
        assert msg.startswith(NAMES[api][pos] + ":"), msg


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(api=st.sampled_from(["matmul", "gemm", "linear"]), m=small, k=small, n=small,
       k2=small, ta=st.booleans(), tb=st.booleans(), dtype=st.sampled_from(GOOD_DTYPES))
def test_property_inner_mismatch(api, m, k, n, k2, ta, tb, dtype):
    if k2 == k:
        k2 = k + 1
    if api == "linear":
        ta = tb = False
    a = np.ones((k, m) if ta else (m, k), dtype)
    b = np.ones((n, k2) if tb else (k2, n), dtype)
    with pytest.raises(ValueError) as info:
        if api == "matmul":
            matmul(a, b, trans_a=ta, trans_b=tb)
        elif api == "gemm":
            gemm(a, b, trans_a=ta, trans_b=tb)
        else:
            linear(a, b)
    msg = str(info.value)
    assert "inner dimension" in msg and describe(a) in msg and describe(b) in msg, msg


@st.composite
def bad_out(draw, m, n, dtype):
    kind = draw(st.sampled_from(["shape", "dtype", "readonly", "notarray"]))
    if kind == "shape":
        shape = draw(st.sampled_from([(m + 1, n), (m, n + 1), (n, m) if m != n else (m, n + 2), (m * n,),
                                      (m, n, 1), (1, m, n)]))
        return np.zeros(shape, dtype), ValueError
    if kind == "dtype":
        other = draw(st.sampled_from([d for d in [np.float32, np.float64, np.float16, np.int32, np.int64,
                                                  np.complex128, np.bool_] if d != dtype]))
        return np.zeros((m, n), other), TypeError
    if kind == "readonly":
        return _readonly(np.zeros((m, n), dtype)), ValueError
    return draw(st.sampled_from([[[0.0] * n] * m, 0.0, "out", (1, 2), b"x"])), TypeError


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), api=st.sampled_from(["matmul", "gemm", "linear"]), m=small, k=small, n=small,
       dtype=st.sampled_from(GOOD_DTYPES))
def test_property_bad_out(data, api, m, k, n, dtype):
    out, exc = data.draw(bad_out(m, n, dtype))
    with pytest.raises(exc) as info:
        call(api, np.ones((m, k), dtype), np.ones((k, n), dtype), out)
    msg = str(info.value)
    if api != "gemm":  # gemm names it 'c': see test_bad_c_names_c
        assert msg.startswith("out:"), msg
    if isinstance(out, np.ndarray):
        assert describe(out) in msg, msg


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), api=st.sampled_from(["matmul", "gemm", "linear"]))
def test_property_huge_shapes(data, api):
    """Zero-stride operands of 2**dm x 2**dk and 2**dk x 2**dn whose product has at least
    2**48 elements (>= 1 PiB, more than any address space can back): the size check's
    ValueError or numpy's MemoryError, never a crash or a partly written result."""
    dm = data.draw(st.integers(0, 60), "log2 m")
    dn = data.draw(st.integers(max(0, 48 - dm), 60), "log2 n")
    dk = data.draw(st.integers(0, 60 - max(dm, dn)), "log2 k")  # numpy can build the views
    a, b = _zero_strided((2**dm, 2**dk)), _zero_strided((2**dk, 2**dn))
    with pytest.raises((ValueError, MemoryError)) as info:
        call(api, a, b)
    if dm + dn >= 60:
        assert info.type is ValueError and str(info.value).startswith("out:"), str(info.value)
