"""The kernel benchmark cases: GEMM, MLP-shaped GEMM, activations, softmax, optimizers.

Each case compares ``fastnn.ops`` with NumPy doing the same work in the same run (and
PyTorch when requested and importable). Every side is validated against a float64 NumPy
reference before it is timed. Cases whose fastnn function does not exist (yet) are
reported as "n/a" instead of failing, so the suite runs on any build.

Cases (full sizes; ``quick=True`` shrinks them to tiny sizes for tests):

- ``sgemm`` / ``dgemm`` squares 256..2048: ``fastnn.ops.matmul(a, b, out=c)`` vs
  ``np.matmul(a, b, out=c)``; GFLOP/s = 2mnk/t.
- MLP-shaped float32 GEMMs for batch B in {32, 128, 256} and layers (784, 512),
  (512, 256), (1024, 2048) in the three forms backprop uses: forward ``X @ W`` (NN),
  backward-data ``dY @ W.T`` (NT, ``trans_b=True``), weight gradient ``X.T @ dY`` (TN,
  ``trans_a=True``); the NumPy peer uses ``.T`` views and ``out=``.
- Each activation forward and backward on 8M float32 elements; GB/s counts bytes read and
  written (forward 8 B/element, backward 12 B/element). Both sides allocate their result;
  fastnn is also timed writing into a preallocated ``out=`` (side "fastnn_out", for
  information: it shows the kernel without the cost of fresh memory, and is not used for
  ratios or targets).
- softmax over rows of a 4096x1000 float32 matrix (8 B/element).
- ``adam_update`` and ``sgd_update`` in place on 10M float32 parameters (28 and 20
  B/element: the state read and written).
"""
from __future__ import annotations

import inspect

import numpy as np

import fastnn
from fastnn.bench import _activation_forms as A
from fastnn.bench._case import OUT_SIDE, Built, Case, Side, Target
from fastnn.bench._timing import check_bound, check_close, combine

SQUARES = (256, 512, 1024, 2048)
MLP_BATCHES = (32, 128, 256)
MLP_LAYERS = ((784, 512), (512, 256), (1024, 2048))
ACT_N = 8 * 1024 * 1024
SOFTMAX_SHAPE = (4096, 1000)
OPTIM_N = 10_000_000

QUICK_SQUARES = (64, 96)
QUICK_MLP_BATCHES = (8,)
QUICK_MLP_LAYERS = ((96, 40),)
QUICK_ACT_N = 1 << 16
QUICK_SOFTMAX_SHAPE = (64, 100)
QUICK_OPTIM_N = 1 << 16

# targets (full sizes only)
SGEMM_2048 = Target(min_ratio=1.7, min_rate=430.0)
MLP_TARGET = Target(min_ratio=1.5)
ACT_TARGET = Target(min_ratio=1.7, min_rate=45.0)
SOFTMAX_TARGET = Target(min_ratio=4.0)
ADAM_TARGET = Target(min_ratio=4.0)

ADAM = dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8)
ADAM_STEP = 10
SGD = dict(lr=0.01, momentum=0.9)

SEED = 20240601


def _op(name):
    """``fastnn.ops.<name>`` or None when this build does not have it."""
    return getattr(fastnn.ops, name, None)


def _missing(name):
    return f"fastnn.ops.{name} not available in this build"


def _label(n: int) -> str:
    if n % (1024 * 1024) == 0:
        return f"{n // (1024 * 1024)}M"
    if n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n % 1024 == 0:
        return f"{n // 1024}K"
    return str(n)


def _torch(peers):
    if "torch" not in peers:
        return None
    from fastnn.bench._env import import_torch

    return import_torch()


# ---------------------------------------------------------------- GEMM
def _gemm_build(m, n, k, dtype, trans_a, trans_b):
    """Builder for ``op(A) @ op(B)`` with A stored (k, m) if trans_a, B stored (n, k) if
    trans_b; the NumPy and torch peers use ``.T`` views."""

    def build(peers):
        matmul = _op("matmul")
        if matmul is None:
            return Built(missing={"fastnn": _missing("matmul")})
        rng = np.random.default_rng(SEED)
        a = rng.uniform(-1, 1, (k, m) if trans_a else (m, k)).astype(dtype)
        b = rng.uniform(-1, 1, (n, k) if trans_b else (k, n)).astype(dtype)
        a_op = a.T if trans_a else a
        b_op = b.T if trans_b else b
        a64, b64 = a_op.astype(np.float64), b_op.astype(np.float64)
        ref = a64 @ b64
        # componentwise bound for a length-k dot product, doubled to cover the
        # reference's own rounding error
        bound = 2.0 * k * np.finfo(dtype).eps * (np.abs(a64) @ np.abs(b64)) + np.finfo(dtype).tiny
        del a64, b64

        def side(fn, c=None):
            c = np.empty((m, n), dtype=dtype) if c is None else c

            def run():
                return fn(c)

            def validate():
                c.fill(np.nan)
                return check_bound(run(), ref, bound)

            return Side(run, validate)

        sides = {
            "fastnn": side(lambda c: matmul(a, b, trans_a=trans_a, trans_b=trans_b, out=c)),
            "numpy": side(lambda c: np.matmul(a_op, b_op, out=c)),
        }
        torch = _torch(peers)
        if torch is not None:
            ta, tb = torch.from_numpy(a), torch.from_numpy(b)
            ta_op = ta.T if trans_a else ta
            tb_op = tb.T if trans_b else tb

            c_torch = np.empty((m, n), dtype=dtype)
            tc = torch.from_numpy(c_torch)

            def torch_mm(c):
                torch.matmul(ta_op, tb_op, out=tc)
                return c

            sides["torch"] = side(torch_mm, c_torch)
        return Built(sides)

    return build


def gemm_cases(quick=False):
    out = []
    for dtype, prefix in ((np.float32, "sgemm"), (np.float64, "dgemm")):
        for s in QUICK_SQUARES if quick else SQUARES:
            tgt = SGEMM_2048 if (prefix == "sgemm" and s == 2048) else None
            out.append(Case(
                name=f"{prefix} {s}x{s}x{s}", group="gemm", unit="GFLOP/s",
                work=2.0 * s * s * s, build=_gemm_build(s, s, s, dtype, False, False),
                info={"m": s, "n": s, "k": s, "dtype": np.dtype(dtype).name},
                target=tgt, min_repeats=3 if s >= 1024 else None,
            ))
    return out


def mlp_cases(quick=False):
    out = []
    batches = QUICK_MLP_BATCHES if quick else MLP_BATCHES
    layers = QUICK_MLP_LAYERS if quick else MLP_LAYERS
    for fan_in, fan_out in layers:
        for bsz in batches:
            forms = (
                # label, (m, n, k), trans_a, trans_b, expression
                ("fwd NN", (bsz, fan_out, fan_in), False, False, "X@W"),
                ("dX NT", (bsz, fan_in, fan_out), False, True, "dY@W.T"),
                ("dW TN", (fan_in, fan_out, bsz), True, False, "X.T@dY"),
            )
            for label, (m, n, k), ta, tb, expr in forms:
                out.append(Case(
                    name=f"mlp {label} B={bsz} {fan_in}x{fan_out}", group="mlp-gemm",
                    unit="GFLOP/s", work=2.0 * m * n * k,
                    build=_gemm_build(m, n, k, np.float32, ta, tb),
                    info={"m": m, "n": n, "k": k, "dtype": "float32", "expr": expr,
                          "batch": bsz, "layer": [fan_in, fan_out]},
                    target=MLP_TARGET,
                ))
    return out


# ---------------------------------------------------------------- activations
def _act_inputs(n):
    rng = np.random.default_rng(SEED)
    x = (rng.standard_normal(n, dtype=np.float32) * 3).astype(np.float32)
    dy = rng.standard_normal(n, dtype=np.float32)
    return x, dy


def _act_check(ref_fn, args32, sub):
    """Validator factory: compare a float32 result with the float64 reference, on the
    leading ``sub`` elements when ``sub`` is set (erf without SciPy)."""
    args64 = [a[:sub].astype(np.float64) if sub else a.astype(np.float64) for a in args32]
    ref = ref_fn(*args64)
    atol = 1e-5 * max(1.0, float(np.max(np.abs(ref))))

    def check(result):
        r = np.asarray(result)
        if sub:
            r = r[:sub]
        return check_close(r, ref, rtol=1e-4, atol=atol)

    return check


def _accepts_out(fn) -> bool:
    try:
        return "out" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


NO_OUT = "no out= parameter"


def _out_side(run, o, check):
    """The fastnn out= side: validation checks what landed in ``o``."""

    def validate():
        o.fill(np.nan)
        run()
        return check(o)

    return Side(run, validate)


def _act_build(name, backward, n):
    fwd_attr, fwd_kw, grad_name = A.fastnn_call(name)

    def build(peers):
        fn = _op(fwd_attr) if not backward else _op("activation_grad")
        if fn is None:
            return Built(missing={"fastnn": _missing(fwd_attr if not backward else "activation_grad")})
        x, dy = _act_inputs(n)
        sub = None if A.have_erf() or name != "gelu" else A.ERF_SUBSET
        o = np.empty_like(x)
        if backward:
            check = _act_check(A.REF_BWD[name], (x, dy), sub)
            fastnn_run = lambda: fn(grad_name, x, dy)  # noqa: E731
            out_run = lambda: fn(grad_name, x, dy, out=o)  # noqa: E731
            np_fn = A.NUMPY_BWD[name]
            numpy_run = lambda: np_fn(x, dy)  # noqa: E731
        else:
            check = _act_check(A.REF_FWD[name], (x,), sub)
            fastnn_run = lambda: fn(x, **fwd_kw)  # noqa: E731
            out_run = lambda: fn(x, out=o, **fwd_kw)  # noqa: E731
            np_fn = A.NUMPY_FWD[name]
            numpy_run = lambda: np_fn(x)  # noqa: E731

        def side(run):
            return Side(run, lambda: check(run()))

        built = Built({"fastnn": side(fastnn_run)})
        if _accepts_out(fn):
            built.sides[OUT_SIDE] = _out_side(out_run, o, check)
        else:
            built.missing[OUT_SIDE] = NO_OUT
        if A.numpy_missing(name):
            built.missing["numpy"] = A.numpy_missing(name)
        else:
            built.sides["numpy"] = side(numpy_run)
        torch = _torch(peers)
        if torch is not None:
            tfwd, tbwd, uses_out = A.torch_forms(torch)
            tx, tdy = torch.from_numpy(x), torch.from_numpy(dy)
            if backward:
                first = tfwd[name](tx) if uses_out[name] else tx
                tb = tbwd[name]
                built.sides["torch"] = side(lambda: tb(first, tdy).numpy())
            else:
                tf = tfwd[name]
                built.sides["torch"] = side(lambda: tf(tx).numpy())
        return built

    return build


def activation_cases(quick=False):
    n = QUICK_ACT_N if quick else ACT_N
    out = []
    for name in A.NAMES:
        for backward in (False, True):
            fwd_attr, fwd_kw, grad_name = A.fastnn_call(name)
            if backward:
                call = f"activation_grad({grad_name!r}, x, dy)"
            else:
                kw = "".join(f", {k}={v!r}" for k, v in fwd_kw.items())
                call = f"{fwd_attr}(x{kw})"
            out.append(Case(
                name=f"{name} {'bwd' if backward else 'fwd'} {_label(n)}", group="activation",
                unit="GB/s", work=float((12 if backward else 8) * n),
                build=_act_build(name, backward, n),
                info={"n": n, "dtype": "float32", "fastnn": f"fastnn.ops.{call}",
                      "bytes_per_element": 12 if backward else 8},
                target=ACT_TARGET,
            ))
    return out


# ---------------------------------------------------------------- softmax
def _softmax_build(rows, cols):
    def build(peers):
        fn = _op("softmax")
        if fn is None:
            return Built(missing={"fastnn": _missing("softmax")})
        rng = np.random.default_rng(SEED)
        x = (rng.standard_normal((rows, cols), dtype=np.float32) * 3).astype(np.float32)
        x64 = x.astype(np.float64)
        e = np.exp(x64 - x64.max(1, keepdims=True))
        ref = e / e.sum(1, keepdims=True)
        del e, x64

        def check(r):
            return check_close(r, ref, rtol=1e-4, atol=1e-7)

        def numpy_softmax():
            e = np.exp(x - x.max(1, keepdims=True))
            return e / e.sum(1, keepdims=True)

        sides = {"fastnn": Side(lambda: fn(x), lambda: check(fn(x)))}
        missing = {}
        if _accepts_out(fn):
            o = np.empty_like(x)
            sides[OUT_SIDE] = _out_side(lambda: fn(x, out=o), o, check)
        else:
            missing[OUT_SIDE] = NO_OUT
        sides["numpy"] = Side(numpy_softmax, lambda: check(numpy_softmax()))
        torch = _torch(peers)
        if torch is not None:
            tx = torch.from_numpy(x)
            run = lambda: torch.softmax(tx, dim=1).numpy()  # noqa: E731
            sides["torch"] = Side(run, lambda: check(run()))
        return Built(sides, missing)

    return build


def softmax_cases(quick=False):
    rows, cols = QUICK_SOFTMAX_SHAPE if quick else SOFTMAX_SHAPE
    return [Case(
        name=f"softmax {rows}x{cols}", group="softmax", unit="GB/s",
        work=8.0 * rows * cols, build=_softmax_build(rows, cols),
        info={"shape": [rows, cols], "dtype": "float32", "axis": -1, "bytes_per_element": 8},
        target=SOFTMAX_TARGET,
    )]


# ---------------------------------------------------------------- optimizers
def _adam_reference(p, g, m, v, step):
    p, g, m, v = (a.astype(np.float64) for a in (p, g, m, v))
    b1, b2 = ADAM["beta1"], ADAM["beta2"]
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    bc1, bc2 = 1 - b1 ** step, 1 - b2 ** step
    p = p - ADAM["lr"] / bc1 * m / (np.sqrt(v / bc2) + ADAM["eps"])
    return p, m, v


def _sgd_reference(p, g, buf):
    p, g, buf = (a.astype(np.float64) for a in (p, g, buf))
    buf = SGD["momentum"] * buf + g
    return p - SGD["lr"] * buf, buf


def _state_check(refs):
    def check(arrays):
        return combine(
            check_close(a, r, rtol=1e-5, atol=1e-6 * float(np.max(np.abs(r))), name=nm)
            for nm, a, r in zip(("param", "state1", "state2"), arrays, refs)
        )

    return check


def _inplace_side(init, update):
    """A Side for an in-place update: ``update(*state)`` mutates ``state``. Timing runs on
    the side's own copy of the initial state; validation on a fresh copy, one step."""
    state = [a.copy() for a in init]

    def run():
        update(*state)

    def validate(check):
        fresh = [a.copy() for a in init]
        update(*fresh)
        return check(fresh)

    return run, validate


def _adam_build(n):
    def build(peers):
        fn = _op("adam_update")
        if fn is None:
            return Built(missing={"fastnn": _missing("adam_update")})
        rng = np.random.default_rng(SEED)
        g = rng.standard_normal(n, dtype=np.float32)
        init = (rng.standard_normal(n, dtype=np.float32),               # param
                (rng.standard_normal(n, dtype=np.float32) * 0.1),       # exp_avg
                (np.abs(rng.standard_normal(n, dtype=np.float32)) * 0.01))  # exp_avg_sq
        check = _state_check(_adam_reference(init[0], g, init[1], init[2], ADAM_STEP))
        lr, b1, b2, eps = ADAM["lr"], ADAM["beta1"], ADAM["beta2"], ADAM["eps"]
        bc1, bc2 = 1 - b1 ** ADAM_STEP, 1 - b2 ** ADAM_STEP

        def fastnn_update(p, m, v):
            fn(p, g, m, v, ADAM_STEP, lr=lr, beta1=b1, beta2=b2, eps=eps)

        def numpy_update(p, m, v):
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            p -= lr / bc1 * m / (np.sqrt(v / bc2) + eps)

        sides = {}
        for name, upd in (("fastnn", fastnn_update), ("numpy", numpy_update)):
            run, validate = _inplace_side(init, upd)
            sides[name] = Side(run, lambda v=validate: v(check))
        torch = _torch(peers)
        if torch is not None:
            sides["torch"] = _torch_optim_side(torch, "adam", init, g, check)
        return Built(sides)

    return build


def _sgd_build(n):
    def build(peers):
        fn = _op("sgd_update")
        if fn is None:
            return Built(missing={"fastnn": _missing("sgd_update")})
        rng = np.random.default_rng(SEED)
        g = rng.standard_normal(n, dtype=np.float32)
        init = (rng.standard_normal(n, dtype=np.float32),
                rng.standard_normal(n, dtype=np.float32) * 0.1)
        check = _state_check(_sgd_reference(init[0], g, init[1]))
        lr, mom = SGD["lr"], SGD["momentum"]

        def fastnn_update(p, buf):
            fn(p, g, buf, lr=lr, momentum=mom)

        def numpy_update(p, buf):
            buf *= mom
            buf += g
            p -= lr * buf

        sides = {}
        for name, upd in (("fastnn", fastnn_update), ("numpy", numpy_update)):
            run, validate = _inplace_side(init, upd)
            sides[name] = Side(run, lambda v=validate: v(check))
        torch = _torch(peers)
        if torch is not None:
            sides["torch"] = _torch_optim_side(torch, "sgd", init, g, check)
        return Built(sides)

    return build


def _torch_optim_side(torch, kind, init, g, check):
    """torch.optim.Adam / SGD (default implementation) stepping the same state."""

    def make(arrays):
        p = torch.nn.Parameter(torch.from_numpy(arrays[0]))
        p.grad = torch.from_numpy(g)
        if kind == "adam":
            opt = torch.optim.Adam([p], lr=ADAM["lr"], betas=(ADAM["beta1"], ADAM["beta2"]),
                                   eps=ADAM["eps"])
            opt.state[p] = {"step": torch.tensor(float(ADAM_STEP - 1)),
                            "exp_avg": torch.from_numpy(arrays[1]),
                            "exp_avg_sq": torch.from_numpy(arrays[2])}
        else:
            opt = torch.optim.SGD([p], lr=SGD["lr"], momentum=SGD["momentum"])
            opt.state[p] = {"momentum_buffer": torch.from_numpy(arrays[1])}
        return opt

    state = [a.copy() for a in init]
    opt = make(state)

    def validate():
        fresh = [a.copy() for a in init]
        make(fresh).step()
        return check(fresh)

    return Side(opt.step, validate)


def optimizer_cases(quick=False):
    n = QUICK_OPTIM_N if quick else OPTIM_N
    return [
        Case(name=f"adam_update {_label(n)}", group="optimizer", unit="GB/s", work=28.0 * n,
             build=_adam_build(n),
             info={"n": n, "dtype": "float32", "step": ADAM_STEP, **ADAM, "bytes_per_element": 28},
             target=ADAM_TARGET),
        Case(name=f"sgd_update {_label(n)}", group="optimizer", unit="GB/s", work=20.0 * n,
             build=_sgd_build(n),
             info={"n": n, "dtype": "float32", **SGD, "bytes_per_element": 20}),
    ]


def all_cases(quick=False):
    """Every kernel case, in report order."""
    return (gemm_cases(quick) + mlp_cases(quick) + activation_cases(quick)
            + softmax_cases(quick) + optimizer_cases(quick))
