"""``fastnn.ops.matmul`` / ``gemm`` / ``linear``: layouts (views, transposes, out=,
aliasing), dtype rules and the fused dense forward, against the float64 reference."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastnn
import reference as ref
from fastnn import _core, _ops_linalg, ops

# fastnn.ops.gemm where it is exported, else the implementation it would export.
gemm = getattr(ops, "gemm", _ops_linalg.gemm)
matmul, linear = ops.matmul, ops.linear

ARCHS = _core.available_archs()
DTYPES = [np.float32, np.float64]
TRANS = [(False, False), (False, True), (True, False), (True, True)]


def assert_close(got, a, b, c0=None, alpha=1.0, beta=0.0, ta=False, tb=False, dtype=None):
    """``got`` is alpha*op(a)@op(b) + beta*c0 (float64 reference) within rounding."""
    dtype = np.dtype(dtype or got.dtype)
    assert got.dtype == dtype, f"dtype {got.dtype}, expected {dtype}"
    a64, b64 = np.asarray(a, np.float64), np.asarray(b, np.float64)
    want = ref.gemm(a64, b64, c0, alpha, beta, ta, tb)
    k = a64.shape[0] if ta else a64.shape[1]
    tol = ref.gemm_tolerance(ref.gemm_error_bound(a64, b64, c0, alpha, beta, ta, tb), k, dtype)
    assert got.shape == want.shape
    err = np.abs(np.asarray(got, np.float64) - want)
    assert (err <= tol).all(), f"max err {np.nanmax(err):.3g} (tol {tol.max():.3g}); NaN: {np.isnan(err).any()}"


def rand(rng, shape, dtype):
    return rng.uniform(-1, 1, shape).astype(dtype)


# ----------------------------------------------------------------------------- matmul


@pytest.mark.parametrize("dtype", DTYPES)
def test_matmul_shapes_and_flags(isa, threads, dtype, rng):
    for m, n, k in ((1, 1, 1), (7, 5, 3), (1, 97, 385), (33, 1, 800), (61, 149, 257)):
        for ta, tb in TRANS:
            a = rand(rng, (k, m) if ta else (m, k), dtype)
            b = rand(rng, (n, k) if tb else (k, n), dtype)
            r = matmul(a, b, trans_a=ta, trans_b=tb)
            assert r.flags.c_contiguous and r.shape == (m, n)
            assert_close(r, a, b, ta=ta, tb=tb, dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_matmul_fortran_ordered_inputs(isa, threads, dtype, rng):
    """Transposed (F-ordered) arrays, with and without the trans_* flags."""
    for m, n, k in ((5, 3, 2), (41, 67, 385)):
        for ta, tb in TRANS:
            a = np.asfortranarray(rand(rng, (k, m) if ta else (m, k), dtype))
            b = np.asfortranarray(rand(rng, (n, k) if tb else (k, n), dtype))
            assert_close(matmul(a, b, trans_a=ta, trans_b=tb), a, b, ta=ta, tb=tb, dtype=dtype)
            at = rand(rng, (m, k) if ta else (k, m), dtype).T  # a transposed view
            assert_close(matmul(at, b, trans_a=ta, trans_b=tb), at, b, ta=ta, tb=tb, dtype=dtype)


def _views(rng, rows, cols, dtype):
    """Many layouts of a rows x cols operand (row strided, column slices, negative and
    zero strides, transposed views)."""
    base = rand(rng, (2 * rows + 1, 2 * cols + 6), dtype)
    yield "c", np.ascontiguousarray(base[:rows, :cols])
    yield "rows[::2]", base[: 2 * rows : 2, :cols]
    yield "cols[1:]", base[:rows, 1 : cols + 1]
    yield "both", base[1 : 2 * rows : 2, 3 : cols + 3]
    yield "reversed rows", base[:rows, :cols][::-1]
    yield "reversed cols", base[:rows, :cols][:, ::-1]
    yield "cols[::2]", base[:rows, : 2 * cols : 2]
    yield "transposed strided", rand(rng, (2 * cols, rows + 2), dtype)[::2, 1 : rows + 1].T
    yield "broadcast row", np.broadcast_to(rand(rng, (1, cols), dtype), (rows, cols))
    yield "broadcast col", np.broadcast_to(rand(rng, (rows, 1), dtype), (rows, cols))
    ro = np.array(base[:rows, :cols])
    ro.flags.writeable = False
    yield "read-only", ro


@pytest.mark.parametrize("dtype", DTYPES)
def test_matmul_views(isa, threads, dtype, rng):
    m, n, k = 19, 53, 390
    for an, a in _views(rng, m, k, dtype):
        for bn, b in _views(rng, k, n, dtype):
            a0, b0 = a.copy(), b.copy()
            r = matmul(a, b)
            assert_close(r, a0, b0, dtype=dtype)
            np.testing.assert_array_equal(a, a0, err_msg=f"a ({an}) modified")
            np.testing.assert_array_equal(b, b0, err_msg=f"b ({bn}) modified")


def _out_layouts(m, n, dtype):
    """(name, out, buffer, index of out in buffer) for several writable out layouts."""
    buf = np.full((m, n), np.nan, dtype)
    yield "c", buf, buf, np.s_[:, :]
    buf = np.full((3 * m + 1, n + 5), np.nan, dtype)
    yield "rows[::3] cols[2:]", buf[1 : 3 * m : 3, 2 : n + 2], buf, np.s_[1 : 3 * m : 3, 2 : n + 2]
    buf = np.full((n, m), np.nan, dtype)
    yield "F-ordered", buf.T, buf, np.s_[:, :]
    buf = np.full((m, 2 * n + 1), np.nan, dtype)
    yield "cols[::2]", buf[:, 1 : 2 * n : 2], buf, np.s_[:, 1 : 2 * n : 2]
    buf = np.full((m, n), np.nan, dtype)
    yield "reversed rows", buf[::-1], buf, np.s_[:, :]


@pytest.mark.parametrize("dtype", DTYPES)
def test_matmul_out_layouts(isa, threads, dtype, rng):
    """out= is filled in place and returned (the same object), whatever its layout;
    nothing outside it is written."""
    for m, n, k in ((1, 1, 1), (9, 50, 3), (37, 130, 300)):
        a, b = rand(rng, (m, k), dtype), rand(rng, (k, n), dtype)
        for name, out, buf, idx in _out_layouts(m, n, dtype):
            r = matmul(a, b, out=out)
            assert r is out, name
            assert_close(out, a, b, dtype=dtype)
            rest = np.ones(buf.shape, bool)
            rest[idx] = False
            assert np.isnan(buf[rest]).all(), f"{name}: wrote outside out"


def test_matmul_out_unaligned_and_record_fields(rng):
    """out views numpy allows but the kernel cannot write directly (unaligned data, byte
    strides that are not a multiple of the item size) still get the right result."""
    a, b = rand(rng, (5, 3), np.float32), rand(rng, (3, 4), np.float32)
    raw = bytearray(4 * 20 + 1)
    out = np.frombuffer(raw, np.float32, count=20, offset=1).reshape(5, 4)
    assert matmul(a, b, out=out) is out
    assert_close(out, a, b)
    rec = np.zeros((5, 4), dtype=[("x", "f4"), ("y", "i2")])
    assert np.shares_memory(matmul(a, b, out=rec["x"]), rec)
    assert_close(rec["x"], a, b)
    assert (rec["y"] == 0).all()


# Regression test (fixed bug): python/fastnn/_ops_linalg.py _resolve_out (lines 61-63): an out whose row stride is
# not a multiple of the item size (an (m, 1) field of a structured array: strides (6, 6)) is
# passed to the kernel, whose as_mat check rejects it ("rows must have a positive stride"),
# instead of going through the temporary. Use the layout test of _validate.as_float(rows_ok).
def test_matmul_out_record_field_column(rng):
    a, b = rand(rng, (5, 3), np.float32), rand(rng, (3, 1), np.float32)
    rec = np.zeros((5, 1), dtype=[("x", "f4"), ("y", "i2")])
    out = rec["x"]
    assert matmul(a, b, out=out) is out
    assert_close(rec["x"], a, b)


@pytest.mark.parametrize("dtype", DTYPES)
def test_matmul_out_aliasing_inputs(isa, threads, dtype, rng):
    """out may be (or overlap) an input: the result is as if the inputs were copied."""
    n = 70
    for case in ("out=a", "out=b", "out=a.T", "overlap rows", "a=b=out"):
        buf = rand(rng, (n + 1, n), dtype)
        a, b = buf[:n], rand(rng, (n, n), dtype)
        if case == "out=a":
            out = a
        elif case == "out=b":
            out = b
        elif case == "out=a.T":
            out = a.T
        elif case == "overlap rows":
            out = buf[1:]
        else:
            b = out = a
        a0, b0 = a.copy(), b.copy()
        r = matmul(a, b, out=out)
        assert r is out
        assert_close(out, a0, b0, dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_matmul_out_wrong_checks_before_writing(dtype, rng):
    a, b = rand(rng, (4, 3), dtype), rand(rng, (3, 5), dtype)
    out = np.full((5, 4), 7, dtype)
    with pytest.raises(ValueError):
        matmul(a, b, out=out)
    assert (out == 7).all()


# ----------------------------------------------------------------------------- gemm


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_alpha_beta_in_place(isa, threads, dtype, rng):
    for m, n, k in ((3, 4, 5), (40, 100, 385)):
        for ta, tb in TRANS:
            a = rand(rng, (k, m) if ta else (m, k), dtype)
            b = rand(rng, (n, k) if tb else (k, n), dtype)
            for alpha, beta in ((1.0, 1.0), (-2.0, 0.5), (1.5, 0.0)):
                c = rand(rng, (m, n), dtype)
                c0 = c.copy()
                r = gemm(a, b, c, alpha=alpha, beta=beta, trans_a=ta, trans_b=tb)
                assert r is c
                assert_close(c, a, b, c0, alpha, beta, ta, tb, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_without_c_ignores_beta(isa, dtype, rng):
    a, b = rand(rng, (9, 30), dtype), rand(rng, (30, 11), dtype)
    r = gemm(a, b, alpha=2.0, beta=5.0)
    assert r.shape == (9, 11)
    assert_close(r, a, b, alpha=2.0, dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_beta_zero_ignores_nan_in_c(isa, threads, dtype, rng):
    for m, n, k in ((5, 7, 3), (40, 150, 800)):
        a, b = rand(rng, (m, k), dtype), rand(rng, (k, n), dtype)
        for c in (np.full((m, n), np.nan, dtype), np.full((n, m), np.inf, dtype).T,
                  np.full((m, 2 * n), np.nan, dtype)[:, ::2]):
            gemm(a, b, c, alpha=-1.0, beta=0.0)
            assert np.isfinite(c).all()
            assert_close(c, a, b, alpha=-1.0, dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_c_layouts_and_aliasing_with_beta(isa, threads, dtype, rng):
    """beta != 0 with c in a layout the kernel cannot write (computed via a temporary)
    or aliasing an input: the old c still enters the result exactly once."""
    n = 45
    for case in ("F-ordered", "cols[::2]", "c=a", "c=b.T"):
        a, b = rand(rng, (n, n), dtype), rand(rng, (n, n), dtype)
        if case == "F-ordered":
            c = np.asfortranarray(rand(rng, (n, n), dtype))
        elif case == "cols[::2]":
            c = rand(rng, (n, 2 * n), dtype)[:, ::2]
        elif case == "c=a":
            c = a
        else:
            c = b.T
        a0, b0, c0 = a.copy(), b.copy(), c.copy()
        r = gemm(a, b, c, alpha=0.5, beta=-1.25)
        assert r is c
        assert_close(c, a0, b0, c0, 0.5, -1.25, dtype=dtype)


# ----------------------------------------------------------------------------- dtypes

DTYPE_RULES = [
    (np.float32, np.float32, np.float32),
    (np.float64, np.float64, np.float64),
    (np.float32, np.float64, np.float64),
    (np.float64, np.float32, np.float64),
    (np.int64, np.float32, np.float32),
    (np.float32, np.int32, np.float32),
    (np.int32, np.int64, np.float64),
    (np.uint8, np.uint8, np.float64),
    (np.bool_, np.float32, np.float32),
    (np.bool_, np.bool_, np.float64),
    (np.float16, np.float16, np.float32),
    (np.float16, np.float32, np.float32),
    (np.float16, np.float64, np.float64),
    (np.int64, np.float64, np.float64),
]


@pytest.mark.parametrize("da, db, want", DTYPE_RULES)
def test_result_dtype_rules(da, db, want, rng):
    """The rules in fastnn._validate: float32 stays float32, float64 wins, integers and
    bools compute in float64 unless mixed with float32, float16 alone -> float32."""
    a = (rng.uniform(-4, 4, (6, 5)) if np.dtype(da).kind == "f" else rng.integers(0, 3, (6, 5))).astype(da)
    b = (rng.uniform(-4, 4, (5, 7)) if np.dtype(db).kind == "f" else rng.integers(0, 3, (5, 7))).astype(db)
    r = matmul(a, b)
    assert r.dtype == want
    assert_close(r, a, b, dtype=want)
    # a float32 bias keeps integer/bool/float16 products in float32; float64 still wins
    y = linear(a, b, np.ones(7, np.float32))
    assert y.dtype == (np.float64 if np.float64 in (da, db) else np.float32)
    c = np.zeros((6, 7), want)
    assert gemm(a, b, c) is c


def test_mixed_dtype_out_must_be_result_dtype(rng):
    a, b = rand(rng, (3, 4), np.float32), rand(rng, (4, 2), np.float64)
    with pytest.raises(TypeError, match=r"out: expected dtype float64.*float32"):
        matmul(a, b, out=np.empty((3, 2), np.float32))
    assert_close(matmul(a, b, out=np.empty((3, 2), np.float64)), a, b, dtype=np.float64)


def test_nested_lists():
    r = matmul([[1, 2], [3, 4]], [[1.5], [-2]])
    assert r.dtype == np.float64
    np.testing.assert_array_equal(r, [[-2.5], [-3.5]])


def test_non_native_byte_order_values():
    a = np.array([[1, 2, 3], [4, 5, 6]], ">f4")
    b = np.array([[1], [0.5], [-1]], ">f8")
    np.testing.assert_array_equal(matmul(a, b), [[-1.0], [0.5]])
    np.testing.assert_array_equal(matmul(a, a.T), [[14, 32], [32, 77]])


# Regression test (fixed bug): python/fastnn/_validate.py result_dtype (lines 53-54): `a.dtype == np.float64` is
# byte-order sensitive, so '>f8' counts as neither float32 nor float64: '>f4' @ '>f4'
# computes in float64 and '>f8' @ '<f4' in float32 (precision loss). Compare kind and
# itemsize instead (a.dtype.kind == "f" and a.dtype.itemsize == 8).
def test_non_native_byte_order_dtype_rules():
    assert matmul(np.ones((2, 3), ">f4"), np.ones((3, 2), ">f4")).dtype == np.float32
    assert matmul(np.ones((2, 3), ">f8"), np.ones((3, 2), "<f4")).dtype == np.float64


# ----------------------------------------------------------------------------- linear


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", [None, "identity", "linear", "relu", "ReLU"])
def test_linear(isa, threads, dtype, activation, rng):
    act = "relu" if activation in ("relu", "ReLU") else None
    for batch, fin, fout in ((1, 1, 1), (7, 13, 5), (33, 800, 97), (70, 130, 61)):
        x, w = rand(rng, (batch, fin), dtype), rand(rng, (fin, fout), dtype)
        for b in (None, rand(rng, fout, dtype), rand(rng, (1, fout), dtype)):
            y, z = linear(x, w, b, activation, return_preactivation=True)
            assert y.dtype == z.dtype == dtype and y.shape == z.shape == (batch, fout)
            want_y, want_z = ref.linear(x, w, b, act)
            bound = ref.gemm_error_bound(x, w) + (0 if b is None else np.abs(b.astype(np.float64)).reshape(-1))
            tol = ref.gemm_tolerance(bound, fin, dtype)
            assert (np.abs(z - want_z) <= tol).all()
            np.testing.assert_array_equal(y, np.maximum(z, 0) if act else z)
            y2 = linear(x, w, b, activation)
            np.testing.assert_array_equal(y2, y)
            assert (np.abs(y2 - want_y) <= tol).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_linear_layouts_out_and_aliasing(isa, threads, dtype, rng):
    batch, fin, fout = 40, 40, 40
    x = rand(rng, (2 * batch, fin + 3), dtype)[::2, 3:]          # strided rows
    w = np.asfortranarray(rand(rng, (fin, fout), dtype))        # transposed layout
    b = list(rand(rng, fout, np.float64).astype(dtype))          # a plain list
    want, _ = ref.linear(x, w, b, "relu")
    tol = ref.gemm_tolerance(ref.gemm_error_bound(x, w) + np.abs(np.asarray(b, np.float64)), fin, dtype)
    out = np.full((batch, fout), np.nan, dtype)
    assert linear(x, w, b, "relu", out=out) is out
    assert (np.abs(out - want) <= tol).all()
    out = np.full((fout, batch), np.nan, dtype).T
    y, z = linear(x, w, b, "relu", out=out, return_preactivation=True)
    assert y is out and (np.abs(out - want) <= tol).all()
    np.testing.assert_array_equal(y, np.maximum(z, 0))
    # out aliasing x and w (square shapes)
    xs, ws = np.ascontiguousarray(x), np.ascontiguousarray(w)
    want, _ = ref.linear(xs, ws, b, "relu")
    assert linear(xs, ws, b, "relu", out=xs) is xs
    assert (np.abs(xs - want) <= tol).all()
    x2 = rand(rng, (batch, fin), dtype)
    want, _ = ref.linear(x2, ws, b, "relu")
    linear(x2, ws, b, "relu", out=ws)
    assert (np.abs(ws - want) <= ref.gemm_tolerance(ref.gemm_error_bound(x2, w) + 1, fin, dtype)).all()


def test_linear_bias_promotes_dtype(rng):
    x, w = rand(rng, (3, 4), np.float32), rand(rng, (4, 2), np.float32)
    assert linear(x, w, np.ones(2, np.float64)).dtype == np.float64
    assert linear(x, w, np.ones(2, np.float32)).dtype == np.float32
    assert linear(x, w, np.ones(2, np.int64)).dtype == np.float32


def test_linear_activation_errors(rng):
    x, w = rand(rng, (3, 4), np.float32), rand(rng, (4, 2), np.float32)
    with pytest.raises(ValueError, match="bogus"):
        linear(x, w, None, "bogus")
    with pytest.raises(TypeError, match="activation"):
        linear(x, w, None, 3)
    with pytest.raises(TypeError, match="alpha"):
        linear(x, w, None, "relu", alpha=0.5)


# ----------------------------------------------------------------------------- property


@st.composite
def operand(draw, rows, cols, dtype):
    """A rows x cols array in a random layout: C, F, row-strided, column-offset, reversed."""
    kind = draw(st.sampled_from(["c", "f", "rows", "cols", "rev", "colstep"]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if kind == "c":
        return rand(rng, (rows, cols), dtype)
    if kind == "f":
        return np.asfortranarray(rand(rng, (rows, cols), dtype))
    if kind == "rows":
        step = draw(st.integers(2, 3))
        return rand(rng, (step * rows, cols), dtype)[::step]
    if kind == "cols":
        off = draw(st.integers(1, 4))
        return rand(rng, (rows, cols + off), dtype)[:, off:]
    if kind == "rev":
        return rand(rng, (rows, cols), dtype)[::-1]
    return rand(rng, (rows, 2 * cols), dtype)[:, ::2]


@st.composite
def matmul_case(draw):
    m, n, k = draw(st.integers(1, 60)), draw(st.integers(1, 120)), draw(st.integers(1, 500))
    ta, tb = draw(st.booleans()), draw(st.booleans())
    da, db = draw(st.sampled_from(DTYPES)), draw(st.sampled_from(DTYPES))
    a = draw(operand(*((k, m) if ta else (m, k)), da))
    b = draw(operand(*((n, k) if tb else (k, n)), db))
    return a, b, ta, tb


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=matmul_case(), arch=st.sampled_from(ARCHS), threads=st.sampled_from([1, 2]),
       with_out=st.booleans())
def test_matmul_property(case, arch, threads, with_out):
    a, b, ta, tb = case
    want_dtype = np.float64 if np.float64 in (a.dtype, b.dtype) else np.float32
    m = a.shape[1] if ta else a.shape[0]
    n = b.shape[0] if tb else b.shape[1]
    out = np.full((m, n), np.nan, want_dtype) if with_out else None
    before = (_core.get_arch(), fastnn.get_num_threads())
    try:
        _core.set_arch(arch)
        fastnn.set_num_threads(threads)
        r = matmul(a, b, trans_a=ta, trans_b=tb, out=out)
    finally:
        _core.set_arch(before[0])
        fastnn.set_num_threads(before[1])
    if with_out:
        assert r is out
    assert_close(r, a, b, ta=ta, tb=tb, dtype=want_dtype)
