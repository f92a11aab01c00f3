"""The GEMM kernels (``fastnn._core.gemm``) against a float64 NumPy reference.

Every kernel test runs under each ISA path this CPU supports (``isa`` fixture) and at 1 and
2 threads (``threads``), in float32 and float64. Sizes derive from the active path's
register tile (``_core.config()['gemm_tile_f*']``) so the edge tiles, the K blocking
(KC = 384 on AVX-512, 256 elsewhere), the in-place B path (B not transposed, M <= 256, B <= 4 MB)
and the M blocking (MC = 4096 rows) are all crossed.
"""
import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastnn
import reference as ref
from fastnn import _core

ARCHS = _core.available_archs()
DTYPES = [np.float32, np.float64]
TRANS = [(False, False), (False, True), (True, False), (True, True)]
# K block (KC) of each path's loop nest (csrc/gemm/ukernels/ukr_*.h).
KC = {"avx512": 384, "avx2": 256, "generic": 256}
ACT_IDENTITY, ACT_RELU, ACT_SIGMOID = 0, 1, 5  # ActId in csrc/include/fastnn/act.h


def tile(dtype):
    """(MR, NR) of the active kernel path for ``dtype``."""
    key = "gemm_tile_f32" if np.dtype(dtype) == np.float32 else "gemm_tile_f64"
    return tuple(_core.config()[key])


def edge_sizes(r):
    """1..3x a register-tile size: around each multiple, plus primes."""
    return sorted({1, 2, r - 1, r, r + 1, 2 * r + 1, 3 * r - 1, 3 * r, 13, 37} - {0})


def operands(rng, m, n, k, dtype, ta=False, tb=False):
    a = rng.uniform(-1, 1, (k, m) if ta else (m, k)).astype(dtype)
    b = rng.uniform(-1, 1, (n, k) if tb else (k, n)).astype(dtype)
    return a, b


def assert_gemm(got, a, b, c0=None, alpha=1.0, beta=0.0, ta=False, tb=False, what=""):
    """``got`` equals alpha*op(a)@op(b) + beta*c0 within the dtype's rounding bound."""
    want = ref.gemm(a, b, c0, alpha, beta, ta, tb)
    k = a.shape[0] if ta else a.shape[1]
    tol = ref.gemm_tolerance(ref.gemm_error_bound(a, b, c0, alpha, beta, ta, tb), k, got.dtype)
    err = np.abs(got.astype(np.float64) - want)
    bad = ~(err <= tol)  # NaN counts as bad
    if bad.any():
        i = tuple(int(v) for v in np.argwhere(bad)[0])
        pytest.fail(
            f"{what} m,n,k={got.shape[0]},{got.shape[1]},{k} trans={ta},{tb} alpha={alpha} beta={beta} "
            f"{got.dtype} arch={_core.get_arch()} threads={fastnn.get_num_threads()}: {int(bad.sum())} of "
            f"{bad.size} wrong; first at {i}: got {got[i]!r}, want {want[i]!r}, tol {tol[i]:.3g}"
        )


def gemm(a, b, out, ta=False, tb=False, alpha=1.0, beta=0.0, **kw):
    _core.gemm(a, b, out, ta, tb, alpha, beta, **kw)
    return out


# ----------------------------------------------------------------------------- shapes


@pytest.mark.parametrize("dtype", DTYPES)
def test_edge_tiles_all_transposes(isa, threads, dtype, rng):
    """Every m, n of 1..3 register tiles (edges, primes), small k, all four op combos."""
    mr, nr = tile(dtype)
    for m in edge_sizes(mr):
        for n in edge_sizes(nr):
            for k in (1, 3, 17):
                for ta, tb in TRANS:
                    a, b = operands(rng, m, n, k, dtype, ta, tb)
                    out = np.full((m, n), np.nan, dtype)
                    assert_gemm(gemm(a, b, out, ta, tb), a, b, ta=ta, tb=tb)


@pytest.mark.parametrize("dtype", DTYPES)
def test_k_blocking_and_direct_b(isa, threads, dtype, rng):
    """k below / at / above KC and past 2*KC; m on both sides of the in-place-B row limit
    (256, B untransposed and at most 4 MB); n spanning several register tiles (big enough
    to run on 2 threads)."""
    mr, nr = tile(dtype)
    kc = KC[isa]
    for k in (kc - 1, kc, kc + 1, 2 * kc + 33):
        for m in (mr + 1, 4 * mr, 4 * mr + 1, 256, 257):
            for n in (nr - 1, 3 * nr + 5):
                for ta, tb in TRANS:
                    a, b = operands(rng, m, n, k, dtype, ta, tb)
                    out = np.empty((m, n), dtype)
                    assert_gemm(gemm(a, b, out, ta, tb), a, b, ta=ta, tb=tb)


@pytest.mark.parametrize("dtype", DTYPES)
def test_many_n_blocks(isa, threads, dtype, rng):
    """n beyond the NC cache block (several N blocks per call) with m above and below the
    in-place-B limit; (40, 2100, 800) and (61, ...) pack each thread's A panels once per K
    block (several B blocks per share) across two K blocks."""
    mr, nr = tile(dtype)
    for m, n, k in ((4 * mr, 1001, 129), (4 * mr + 3, 1001, 129), (61, 2 * 480 + 7, 385), (1, 3001, 40),
                    (40, 2100, 800)):
        for ta, tb in TRANS:
            a, b = operands(rng, m, n, k, dtype, ta, tb)
            assert_gemm(gemm(a, b, np.empty((m, n), dtype), ta, tb), a, b, ta=ta, tb=tb)


@pytest.mark.parametrize("dtype", DTYPES)
def test_alpha_beta(isa, threads, dtype, rng):
    mr, nr = tile(dtype)
    shapes = [(1, 1, 1), (mr + 1, nr - 1, 7), (4 * mr, 2 * nr + 3, 385), (3 * mr + 2, 3 * nr + 1, 800)]
    for m, n, k in shapes:
        for alpha, beta in ((2.0, 0.5), (-0.75, 1.0), (1.0, -1.5), (0.0, 2.0), (-3.0, 0.0)):
            for ta, tb in TRANS:
                a, b = operands(rng, m, n, k, dtype, ta, tb)
                c0 = rng.uniform(-1, 1, (m, n)).astype(dtype)
                out = gemm(a, b, c0.copy(), ta, tb, alpha, beta)
                assert_gemm(out, a, b, c0, alpha, beta, ta, tb)


@pytest.mark.parametrize("dtype", DTYPES)
def test_beta_zero_never_reads_out(isa, threads, dtype, rng):
    """beta == 0: NaN / inf already in out must not leak into the result (also across
    several K blocks, where later blocks accumulate onto the first)."""
    mr, nr = tile(dtype)
    for m, n, k in ((mr - 1, nr + 1, 3), (4 * mr, 2 * nr, 800), (4 * mr + 1, 3 * nr - 1, 385), (37, 13, 1)):
        for fill in (np.nan, np.inf, -np.inf):
            for ta, tb in TRANS:
                a, b = operands(rng, m, n, k, dtype, ta, tb)
                out = gemm(a, b, np.full((m, n), fill, dtype), ta, tb, 1.5, 0.0)
                assert np.isfinite(out).all()
                assert_gemm(out, a, b, alpha=1.5, ta=ta, tb=tb)


@pytest.mark.parametrize("dtype", DTYPES)
def test_strided_views_and_no_stray_writes(isa, threads, dtype, rng):
    """a, b and out as row-strided views with column offsets (a[::2, 1:k+1] of a wider
    array ...); nothing outside the out view is written, rows or padding."""
    mr, nr = tile(dtype)
    for m, n, k in ((1, 1, 1), (mr + 1, nr + 3, 5), (4 * mr, nr - 1, 385), (3 * mr + 1, 2 * nr + 1, 800)):
        for ta, tb in TRANS:
            for beta in (0.0, 0.5):
                ar, ac = (k, m) if ta else (m, k)
                br, bc = (n, k) if tb else (k, n)
                a_buf = rng.uniform(-1, 1, (2 * ar, ac + 3)).astype(dtype)
                b_buf = rng.uniform(-1, 1, (br + 2, bc + 7)).astype(dtype)
                a = a_buf[::2, 1 : ac + 1]
                b = b_buf[2:, 5 : bc + 5]
                out_buf = np.full((3 * m + 2, n + 9), np.nan if beta == 0 else 7.0, dtype)
                out = out_buf[1 : 3 * m : 3, 4 : n + 4]
                c0 = None
                if beta:
                    out[...] = rng.uniform(-1, 1, (m, n))
                    c0 = out.copy()
                before = out_buf.copy()
                gemm(a, b, out, ta, tb, 1.0, beta)
                assert_gemm(out, a, b, c0, 1.0, beta, ta, tb)
                mask = np.ones(out_buf.shape, bool)
                mask[1 : 3 * m : 3, 4 : n + 4] = False
                np.testing.assert_array_equal(out_buf[mask], before[mask], err_msg="wrote outside the out view")


@pytest.mark.parametrize("dtype", DTYPES)
def test_inputs_not_modified(isa, threads, dtype, rng):
    mr, nr = tile(dtype)
    for ta, tb in TRANS:
        a, b = operands(rng, 4 * mr + 1, 2 * nr + 1, 385, dtype, ta, tb)
        a0, b0 = a.copy(), b.copy()
        gemm(a, b, np.empty((4 * mr + 1, 2 * nr + 1), dtype), ta, tb, 2.0, 0.0)
        np.testing.assert_array_equal(a, a0)
        np.testing.assert_array_equal(b, b0)


# ----------------------------------------------------------------------------- epilogue


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", [ACT_IDENTITY, ACT_RELU])
def test_epilogue_bias_z_act(isa, threads, dtype, act, rng):
    """out = act(alpha*op(a)@op(b) + beta*out + bias), z = the value before act; applied
    once, after the last K block, on every tile (edges included)."""
    mr, nr = tile(dtype)
    for m, n, k in ((1, 1, 1), (mr + 1, nr - 1, 3), (4 * mr, 2 * nr + 1, 385), (3 * mr + 5, 3 * nr + 2, 800)):
        for ta, tb in TRANS:
            for alpha, beta in ((1.0, 0.0), (0.5, -2.0)):
                a, b = operands(rng, m, n, k, dtype, ta, tb)
                bias = rng.uniform(-1, 1, n).astype(dtype)
                c0 = rng.uniform(-1, 1, (m, n)).astype(dtype)
                out = c0.copy() if beta else np.full((m, n), np.nan, dtype)
                z = np.full((m, n), np.nan, dtype)
                gemm(a, b, out, ta, tb, alpha, beta, bias=bias, z=z, act=act)
                pre = ref.gemm(a, b, c0, alpha, beta, ta, tb) + bias
                bound = ref.gemm_error_bound(a, b, c0, alpha, beta, ta, tb) + np.abs(bias)
                tol = ref.gemm_tolerance(bound, k, dtype)
                assert (np.abs(z - pre) <= tol).all(), "pre-activation z"
                want = np.maximum(z, 0) if act == ACT_RELU else z
                np.testing.assert_array_equal(out, want.astype(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", [ACT_IDENTITY, ACT_RELU, ACT_SIGMOID])
def test_epilogue_bitwise_equals_separate_passes(isa, threads, dtype, act, rng):
    """The fused epilogue (bias, z and identity/relu in the micro-kernel's registers; other
    activations in a pass over each finished tile) gives bitwise what the separate steps
    give: the plain product, then + bias in the dtype, then the activation (relu is
    x < 0 ? 0 : x: a NaN pre-activation stays NaN)."""
    mr, nr = tile(dtype)
    for m, n, k in ((1, 1, 1), (mr - 1, nr + 3, 5), (4 * mr + 3, 3 * nr - 1, 385), (257, 2 * nr + 1, 64)):
        for ta, tb in TRANS:
            for alpha, beta in ((1.0, 0.0), (0.5, -2.0)):
                a, b = operands(rng, m, n, k, dtype, ta, tb)
                bias = rng.uniform(-1, 1, n).astype(dtype)
                bias[n // 2] = np.nan
                c0 = rng.uniform(-1, 1, (m, n)).astype(dtype)
                pre = gemm(a, b, c0.copy(), ta, tb, alpha, beta) + bias
                out = c0.copy() if beta else np.full((m, n), np.nan, dtype)
                z = np.full((m, n), np.nan, dtype)
                gemm(a, b, out, ta, tb, alpha, beta, bias=bias, z=z, act=act)
                assert z.tobytes() == pre.tobytes(), "pre-activation z"
                if act == ACT_IDENTITY:
                    want = pre
                elif act == ACT_RELU:
                    want = np.where(pre < 0, dtype(0), pre)
                else:
                    want = fastnn.ops.sigmoid(pre)
                assert out.tobytes() == np.ascontiguousarray(want, dtype).tobytes()


@pytest.mark.parametrize("dtype", DTYPES)
def test_epilogue_without_z(isa, threads, dtype, rng):
    mr, nr = tile(dtype)
    m, n, k = 2 * mr + 1, 2 * nr + 3, 400
    a, b = operands(rng, m, n, k, dtype)
    bias = rng.uniform(-1, 1, n).astype(dtype)
    out = gemm(a, b, np.empty((m, n), dtype), bias=bias, act=ACT_RELU)
    pre = ref.gemm(a, b) + bias
    tol = ref.gemm_tolerance(ref.gemm_error_bound(a, b) + np.abs(bias), k, dtype)
    assert (np.abs(out - np.maximum(pre, 0)) <= tol).all()


# ----------------------------------------------------------------------------- determinism


def _det_shapes(dtype):
    mr, nr = tile(dtype)
    return [
        (300, 700, 900, False, False),
        (300, 700, 900, True, True),
        (4 * mr, 1001, 385, False, False),  # in-place B, several N blocks
        (4 * mr + 1, 1001, 385, False, True),
        (1, 2000, 800, False, False),
        (517, 97, 1200, True, False),
        (2 * mr + 1, 3 * nr + 1, 2000, False, True),
        # Column shares split evenly in narrow-tile units: each share's last panel runs on
        # a narrower tile (2048 = 2 x (21 x 48 + 16) on AVX-512), in place and packed.
        (64, 2048, 300, False, False),
        (64, 2048, 300, False, True),
        (48, 1040, 70, True, False),
    ]


@pytest.mark.parametrize("dtype", DTYPES)
def test_few_columns_transposed_a_bitwise_the_direct_product(isa, threads, dtype, rng):
    """op(A) transposed and C with more rows than columns, no more than the narrowest tile's
    (a weight gradient x^T dz of a layer with a few units), runs as C^T = op(B)^T op(A)^T;
    the same product with a pre-activation copy requested (z=) runs directly.  Both give
    bitwise the same C (K blocking, alpha and beta included) and the reference's values."""
    mr, nr = tile(dtype)
    for m, n, k in ((64, 2, 32), (2 * mr + 3, 1, 7), (37, nr, 2 * KC[_core.get_arch()] + 5), (300, nr - 1, 50)):
        for tb in (False, True):
            for alpha, beta in ((1.0, 0.0), (0.75, 0.5), (-2.0, 1.0)):
                a, b = operands(rng, m, n, k, dtype, True, tb)
                c0 = rng.uniform(-1, 1, (m, n)).astype(dtype)
                swapped = gemm(a, b, c0.copy(), True, tb, alpha, beta)
                z = np.empty((m, n), dtype)
                direct = gemm(a, b, c0.copy(), True, tb, alpha, beta, z=z, act=ACT_IDENTITY)
                assert swapped.tobytes() == direct.tobytes(), f"{m}x{n}x{k} tb={tb} alpha={alpha} beta={beta}"
                assert z.tobytes() == direct.tobytes()
                assert_gemm(swapped, a, b, c0, alpha, beta, True, tb)


@pytest.mark.parametrize("dtype", DTYPES)
def test_few_columns_untransposed_a_bitwise_the_wider_product(isa, threads, dtype, rng):
    """op(A) untransposed and C with one to four columns and more rows (the forward pass of
    an output layer with a few units, bias and pre-activation copy included) runs as
    C^T = op(B)^T op(A)^T.  Its columns are bitwise those of the same product with B (and
    the bias) widened to 9 columns, which runs directly (each element of C gets the same
    operations whatever the tile), and match the reference."""
    mr, _ = tile(dtype)
    for m, n, k in ((32, 2, 64), (2 * mr + 3, 1, 7), (37, 4, 2 * KC[_core.get_arch()] + 5), (300, 3, 50)):
        for tb in (False, True):
            for alpha, beta in ((1.0, 0.0), (0.75, 0.5), (-2.0, 1.0)):
                a, bw = operands(rng, m, 9, k, dtype, False, tb)
                b = np.ascontiguousarray(bw[:n] if tb else bw[:, :n])
                c0 = rng.uniform(-1, 1, (m, 9)).astype(dtype)
                biasw = rng.uniform(-1, 1, 9).astype(dtype)
                wide, zw = gemm(a, bw, c0.copy(), False, tb, alpha, beta), np.empty((m, 9), dtype)
                wide_b = gemm(a, bw, c0.copy(), False, tb, alpha, beta, bias=biasw, z=zw)
                few = gemm(a, b, np.ascontiguousarray(c0[:, :n]), False, tb, alpha, beta)
                z = np.empty((m, n), dtype)
                few_b = gemm(a, b, np.ascontiguousarray(c0[:, :n]), False, tb, alpha, beta,
                             bias=np.ascontiguousarray(biasw[:n]), z=z)
                what = f"{m}x{n}x{k} tb={tb} alpha={alpha} beta={beta}"
                assert few.tobytes() == np.ascontiguousarray(wide[:, :n]).tobytes(), what
                assert few_b.tobytes() == np.ascontiguousarray(wide_b[:, :n]).tobytes(), what
                assert z.tobytes() == np.ascontiguousarray(zw[:, :n]).tobytes(), what
                assert_gemm(few, a, b, c0[:, :n], alpha, beta, False, tb)


@pytest.mark.parametrize("dtype", DTYPES)
def test_bitwise_identical_at_1_and_2_threads(isa, dtype, rng):
    """Threads split M/N, never K: the result is bitwise the same at any thread count
    (3 threads too: other column shares, other tiles for their last panels)."""
    before = fastnn.get_num_threads()
    try:
        for m, n, k, ta, tb in _det_shapes(dtype):
            a, b = operands(rng, m, n, k, dtype, ta, tb)
            bias = rng.uniform(-1, 1, n).astype(dtype)
            c0 = rng.uniform(-1, 1, (m, n)).astype(dtype)
            outs = []
            for t in (1, 2, 3, 1, 2):
                fastnn.set_num_threads(t)
                plain = gemm(a, b, c0.copy(), ta, tb, 0.75, 0.5)
                z = np.empty((m, n), dtype)
                fused = gemm(a, b, np.empty((m, n), dtype), ta, tb, bias=bias, z=z, act=ACT_RELU)
                outs.append((plain, fused, z))
            for other in outs[1:]:
                for x, y in zip(outs[0], other):
                    assert x.tobytes() == y.tobytes(), f"differs across thread counts: {m}x{n}x{k} {ta},{tb}"
            assert_gemm(outs[0][0], a, b, c0, 0.75, 0.5, ta, tb)
    finally:
        fastnn.set_num_threads(before)


def test_python_threads_concurrently(rng):
    """Calls from several Python threads at once (GIL released, per-thread scratch) give
    the same bits as the same calls made one after another."""
    jobs = []
    for i in range(6):
        dtype = DTYPES[i % 2]
        m, n, k = 40 + 37 * i, 300 + 11 * i, 200 + 97 * i
        jobs.append((*operands(rng, m, n, k, dtype, i % 3 == 0, i % 2 == 1), i % 3 == 0, i % 2 == 1))
    serial = [gemm(a, b, np.empty(((a.shape[1] if ta else a.shape[0]), (b.shape[0] if tb else b.shape[1])), a.dtype), ta, tb)
              for a, b, ta, tb in jobs]
    results = [[None] * len(jobs) for _ in range(3)]
    errors = []

    def worker(r):
        try:
            for j, (a, b, ta, tb) in enumerate(jobs):
                results[r][j] = gemm(a, b, np.empty_like(serial[j]), ta, tb)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    pool = [threading.Thread(target=worker, args=(r,)) for r in range(3)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert not errors
    for r in results:
        for got, want in zip(r, serial):
            assert got.tobytes() == want.tobytes()


# ----------------------------------------------------------------------------- M blocking

_MC_SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    import fastnn
    from fastnn import _core
    sys.path.insert(0, sys.argv[1])
    import reference as ref
    rng = np.random.default_rng(3)
    assert _core.get_arch() == sys.argv[2], _core.get_arch()
    failures = []
    for threads in (1, 2):
        fastnn.set_num_threads(threads)
        for dtype in (np.float32, np.float64):
            for m, n, k, ta, beta, epi in ((4097, 7, 5, False, 0.5, False), (4100, 30, 70, True, 0.5, False),
                                           (8200, 3, 2, False, -2.0, False), (4100, 9, 3, False, 0.0, True)):
                a = rng.uniform(-1, 1, (k, m) if ta else (m, k)).astype(dtype)
                b = rng.uniform(-1, 1, (k, n)).astype(dtype)
                c0 = rng.uniform(-1, 1, (m, n)).astype(dtype)
                out = c0.copy()
                bias = rng.uniform(-1, 1, n).astype(dtype) if epi else None
                _core.gemm(a, b, out, ta, False, 1.5, beta, bias=bias, act=1 if epi else 0)
                want = ref.gemm(a, b, c0, 1.5, beta, ta, False)
                bound = ref.gemm_error_bound(a, b, c0, 1.5, beta, ta, False)
                if epi:
                    want = np.maximum(want + bias, 0)
                    bound = bound + np.abs(bias)
                bad = ~(np.abs(out - want) <= ref.gemm_tolerance(bound, k, dtype))
                if bad.any():
                    failures.append(f"threads={threads} {dtype.__name__} m={m} n={n} k={k} ta={ta} "
                                    f"beta={beta}: wrong rows {sorted(set(np.nonzero(bad)[0].tolist()))[:8]}")
    print("\\n".join(failures) or "OK")
    sys.exit(1 if failures else 0)
    """
)


@pytest.mark.parametrize("arch", ARCHS)
def test_m_beyond_one_mc_block(arch):
    """M > MC = 4096 rows (several M blocks), with beta != 0 and a fused epilogue. Runs in
    a subprocess under FASTNN_ARCH: a kernel that writes past its packing buffer must
    not take the test run down with it."""
    env = dict(os.environ, FASTNN_ARCH=arch)
    pkg_parent = os.path.dirname(os.path.dirname(fastnn.__file__))
    env["PYTHONPATH"] = os.pathsep.join([pkg_parent] + [p for p in [env.get("PYTHONPATH")] if p])
    tests_dir = os.path.dirname(os.path.abspath(__file__))
    proc = subprocess.run([sys.executable, "-c", _MC_SCRIPT, tests_dir, arch], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "OK", (
        f"rc={proc.returncode}\nstdout:\n{proc.stdout[-2000:]}\nstderr:\n{proc.stderr[-2000:]}")


# ----------------------------------------------------------------------------- property


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    arch=st.sampled_from(ARCHS),
    threads=st.sampled_from([1, 2]),
    dtype=st.sampled_from(DTYPES),
    m=st.integers(1, 70),
    n=st.integers(1, 150),
    k=st.integers(1, 420),
    ta=st.booleans(),
    tb=st.booleans(),
    pads=st.tuples(st.integers(0, 5), st.integers(0, 5), st.integers(0, 5)),
    alpha=st.sampled_from([1.0, -0.5, 3.0]),
    beta=st.sampled_from([0.0, 1.0, -0.25]),
    seed=st.integers(0, 2**32 - 1),
)
def test_random_shapes_strides_transposes(arch, threads, dtype, m, n, k, ta, tb, pads, alpha, beta, seed):
    rng = np.random.default_rng(seed)
    ar, ac = (k, m) if ta else (m, k)
    br, bc = (n, k) if tb else (k, n)
    a = rng.uniform(-1, 1, (ar, ac + pads[0])).astype(dtype)[:, pads[0]:]
    b = rng.uniform(-1, 1, (br, bc + pads[1])).astype(dtype)[:, : bc]
    out_buf = rng.uniform(-1, 1, (m, n + pads[2])).astype(dtype)
    out = out_buf[:, pads[2]:]
    c0 = out.copy()
    pad0 = out_buf[:, : pads[2]].copy()
    before_arch, before_threads = _core.get_arch(), fastnn.get_num_threads()
    try:
        _core.set_arch(arch)
        fastnn.set_num_threads(threads)
        gemm(a, b, out, ta, tb, alpha, beta)
    finally:
        _core.set_arch(before_arch)
        fastnn.set_num_threads(before_threads)
    assert_gemm(out, a, b, c0, alpha, beta, ta, tb)
    np.testing.assert_array_equal(out_buf[:, : pads[2]], pad0, err_msg="wrote outside the out view")
