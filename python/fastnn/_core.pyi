"""Type stubs of ``fastnn._core``, the private pybind11 extension (csrc/bindings/*.cpp).

Not a public API: use :mod:`fastnn.ops` and the model API, which validate their arguments
and give friendly errors. The signatures below follow the bindings exactly; the native side
re-checks dtypes, sizes, contiguity and writability and raises TypeError/ValueError.

Float kernels take float32 or float64 arrays; where several arrays go into one call they
must share the dtype (``_F``). Integer arguments accept anything with ``__index__``, float
arguments anything with ``__float__`` (pybind11's conversions).
"""
from collections.abc import Callable, Sequence
from typing import Any, SupportsFloat, SupportsIndex, SupportsInt, TypedDict, TypeVar

import numpy as np
import numpy.typing as npt

_F = TypeVar("_F", np.float32, np.float64)
_Int = SupportsInt | SupportsIndex
_Float = SupportsFloat | SupportsIndex
_FloatArray = npt.NDArray[np.float32] | npt.NDArray[np.float64]

__version__: str

# ------------------------------------------------------------------ config.cpp
def config() -> dict[str, Any]:
    """Build and run-time configuration as a dict: version, compiler, openmp, arch (str);
    available_archs, compiled_archs (list[str]); num_threads, num_procs (int);
    gemm_tile_f32, gemm_tile_f64 (tuple[int, int]: the MR x NR register tiles)."""

def get_arch() -> str:
    """The active kernel table: "generic", "avx2" or "avx512"."""

def set_arch(name: str) -> None:
    """Switch the active kernel table (generic, avx2, avx512); ValueError if unknown or
    not supported by this CPU/build."""

def available_archs() -> list[str]:
    """Kernel tables compiled in and supported by this CPU."""

def get_num_threads() -> int: ...
def _team_threads() -> int: ...
def _note_team_wait(region_s: float, own_s: float) -> None: ...
def _contention_backoffs() -> int: ...
def set_num_threads(n: _Int) -> None:
    """Maximum threads of native kernels (>= 1)."""

# ------------------------------------------------------------------ gemm.cpp
def gemm(
    a: npt.NDArray[_F],
    b: npt.NDArray[_F],
    out: npt.NDArray[_F],
    trans_a: bool = False,
    trans_b: bool = False,
    alpha: _Float = 1.0,
    beta: _Float = 0.0,
    bias: npt.NDArray[_F] | None = None,
    z: npt.NDArray[_F] | None = None,
    act: _Int = 0,
    act_alpha: _Float = 0.0,
) -> None:
    """out = alpha * op(a) @ op(b) + beta * out, then out += bias; z = out; out = act(out).

    2-D arrays with contiguous columns (any row stride); ``bias`` has ``out.shape[1]``
    elements; ``act`` is an elementwise activation id (fastnn._activations)."""

# ------------------------------------------------------------------ act.cpp
def act_forward(
    act: _Int, x: npt.NDArray[_F], out: npt.NDArray[_F] | None = None, alpha: _Float = 0.0
) -> npt.NDArray[_F]:
    """out = f(x) elementwise for activation id ``act``; ``out`` may be ``x`` itself, or
    None for a new array. C-contiguous arrays. Returns out."""

def act_backward(
    act: _Int,
    x: npt.NDArray[_F],
    y: npt.NDArray[_F] | None,
    dy: npt.NDArray[_F],
    out: npt.NDArray[_F] | None = None,
    alpha: _Float = 0.0,
) -> npt.NDArray[_F]:
    """out = dy * f'(x) elementwise (``y = f(x)`` or None; ``out`` may be ``dy`` or ``x``
    itself, or None). Returns out."""

def softmax(x: npt.NDArray[_F], out: npt.NDArray[_F] | None = None, log: bool = False) -> npt.NDArray[_F]:
    """Row-wise softmax (log=True: log_softmax) of a 2-D array with contiguous rows."""

def softmax_backward(
    y: npt.NDArray[_F], dy: npt.NDArray[_F], out: npt.NDArray[_F] | None = None, log: bool = False
) -> npt.NDArray[_F]:
    """Row-wise softmax backward from the forward output y (log=True: y = log_softmax(x))."""

def _buffer_cache_info() -> dict[str, int]:
    """Output-buffer cache statistics: limit_bytes, cached_bytes, cached_buffers, requests, hits."""

def _buffer_cache_clear() -> None: ...
def _buffer_cache_set_limit(mib: _Float) -> None:
    """Set the cache limit in MiB (0 disables and releases the cache)."""

def _vmath(name: str, x: npt.NDArray[_F]) -> npt.NDArray[_F]:
    """Test hook: a vector-math function of the active ISA (exp, exp_ftz, expm1, log,
    log1p, tanh, norm_tail)."""

# ------------------------------------------------------------------ optim.cpp
# In-place updates of ``param`` (float32 or float64, C-contiguous, non-empty); every state
# array has param's dtype and size and must not share memory with another argument.
def sgd_update(
    param: npt.NDArray[_F],
    grad: npt.NDArray[_F],
    momentum_buffer: npt.NDArray[_F] | None,
    lr: _Float,
    momentum: _Float,
    dampening: _Float,
    nesterov: bool,
    weight_decay: _Float,
    maximize: bool,
    first_step: bool,
) -> None:
    """torch.optim.SGD step; ``momentum_buffer`` is required when momentum != 0."""

def adam_update(
    param: npt.NDArray[_F],
    grad: npt.NDArray[_F],
    exp_avg: npt.NDArray[_F],
    exp_avg_sq: npt.NDArray[_F],
    max_exp_avg_sq: npt.NDArray[_F] | None,
    step: _Int,
    lr: _Float,
    beta1: _Float,
    beta2: _Float,
    eps: _Float,
    weight_decay: _Float,
    decoupled_weight_decay: bool,
    amsgrad: bool,
    maximize: bool,
) -> None:
    """torch.optim.Adam / AdamW step (step >= 1; ``max_exp_avg_sq`` required with amsgrad)."""

def rmsprop_update(
    param: npt.NDArray[_F],
    grad: npt.NDArray[_F],
    square_avg: npt.NDArray[_F],
    lr: _Float,
    alpha: _Float,
    eps: _Float,
    weight_decay: _Float,
    momentum: _Float,
    centered: bool,
    momentum_buffer: npt.NDArray[_F] | None,
    grad_avg: npt.NDArray[_F] | None,
    maximize: bool,
) -> None:
    """torch.optim.RMSprop step (``momentum_buffer`` required when momentum > 0,
    ``grad_avg`` when centered)."""

def adagrad_update(
    param: npt.NDArray[_F],
    grad: npt.NDArray[_F],
    state_sum: npt.NDArray[_F],
    step: _Int,
    lr: _Float,
    lr_decay: _Float,
    weight_decay: _Float,
    eps: _Float,
    maximize: bool,
) -> None:
    """torch.optim.Adagrad step (step >= 1)."""

def adadelta_update(
    param: npt.NDArray[_F],
    grad: npt.NDArray[_F],
    square_avg: npt.NDArray[_F],
    acc_delta: npt.NDArray[_F],
    lr: _Float,
    rho: _Float,
    eps: _Float,
    weight_decay: _Float,
    maximize: bool,
) -> None:
    """torch.optim.Adadelta step."""

def adamax_update(
    param: npt.NDArray[_F],
    grad: npt.NDArray[_F],
    exp_avg: npt.NDArray[_F],
    exp_inf: npt.NDArray[_F],
    step: _Int,
    lr: _Float,
    beta1: _Float,
    beta2: _Float,
    eps: _Float,
    weight_decay: _Float,
    maximize: bool,
) -> None:
    """torch.optim.Adamax step (step >= 1)."""

def nadam_update(
    param: npt.NDArray[_F],
    grad: npt.NDArray[_F],
    exp_avg: npt.NDArray[_F],
    exp_avg_sq: npt.NDArray[_F],
    step: _Int,
    mu_product: _Float,
    lr: _Float,
    beta1: _Float,
    beta2: _Float,
    eps: _Float,
    weight_decay: _Float,
    momentum_decay: _Float,
    decoupled_weight_decay: bool,
    maximize: bool,
) -> None:
    """torch.optim.NAdam step; ``mu_product`` is the product of the previous steps' mu."""

def global_norm(arrays: Sequence[_FloatArray]) -> float:
    """sqrt of the sum of squares of all elements (float32/float64 arrays, may mix);
    deterministic at any thread count."""

def scale_arrays(arrays: Sequence[_FloatArray], s: _Float) -> None:
    """arrays[i] *= s, in place (the arrays must not share memory)."""

def clip_by_value(grad: _FloatArray, lo: _Float, hi: _Float) -> None:
    """grad = clip(grad, lo, hi), in place."""

# ------------------------------------------------------------------ loss.cpp
LOSS_IDS: dict[str, int]
"""Loss name -> native id (mean_squared_error, ..., sparse_categorical_crossentropy, ...)."""

def loss_forward(
    loss_id: _Int,
    y_pred: npt.NDArray[_F],
    y_true: npt.NDArray[_F] | npt.NDArray[np.int64],
    sample_weight: npt.NDArray[_F] | None = None,
    *,
    from_logits: bool = False,
    delta: _Float = 1.0,
    label_smoothing: _Float = 0.0,
    grad_scale: _Float = 1.0,
    want_grad: bool = False,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[_F] | None]:
    """Per-sample losses (float64, shape (n,)) and, with ``want_grad``,
    ``grad_scale * w_r * dloss_r/dy_pred`` (dtype of y_pred), else None.

    ``y_pred``: 2-D with contiguous rows; ``y_true``: y_pred's dtype and shape, or int64
    labels of shape (n,) for sparse_categorical_crossentropy; ``sample_weight``: None or
    (n,) of y_pred's dtype."""

# ------------------------------------------------------------------ train.cpp
class NodeSpec:
    """One node of the native network (a layer applied to its input tensors)."""

    kind: int
    inputs: list[int]
    width: int
    act: int
    alpha: float
    use_bias: bool
    trainable: bool
    w_off: int
    b_off: int
    s_off: int
    rate: float
    stddev: float
    eps: float
    momentum: float
    seed: int
    py_index: int
    def __init__(self) -> None: ...

class ParamSpec:
    """One weight tensor in the flat parameter buffer: offset, size, regularization."""

    off: int
    size: int
    trainable: bool
    l1: float
    l2: float
    node: int
    def __init__(self) -> None: ...

class OutputSpec:
    """One model output: its tensor, loss and loss weight."""

    tensor: int
    weight: float
    sum: bool
    loss_id: int
    from_logits: bool
    delta: float
    label_smoothing: float
    def __init__(self) -> None: ...

class OptSpec:
    """Optimizer kind and hyperparameters of the fused native update."""

    kind: int
    beta1: float
    beta2: float
    eps: float
    weight_decay: float
    momentum: float
    dampening: float
    rho: float
    initial_accumulator_value: float
    lr_decay: float
    momentum_decay: float
    nesterov: bool
    amsgrad: bool
    centered: bool
    decoupled_weight_decay: bool
    clipvalue: float
    clipnorm: float
    global_clipnorm: float
    def __init__(self) -> None: ...

def opt_state_slots(opt: OptSpec) -> int:
    """Number of per-parameter state buffers the optimizer keeps."""

class _EpochStats(TypedDict):
    """What ``Engine*.run_epoch`` returns."""

    batches: int
    samples: int
    loss_sum: float
    weight_sum: float
    output_loss_sum: list[float]
    nan_batch: int
    interrupted: bool
    grad_norm_sum: float
    tensor_grad_norm_sum: list[float]
    update_ratio: list[float]
    dead_fraction: list[float]
    error: BaseException | None

# Engine32 / Engine64: the flat buffers are zero-copy views (1-D, the engine's dtype) that
# keep the engine alive. ``ys``/``labels`` hold one array per output: float targets (n, units)
# for dense losses and int64 labels (n,) for sparse ones, with any placeholder array in the
# unused slot. ``py_layers`` is the list of Python layers, indexed by NodeSpec.py_index;
# ``py_penalty`` (needed when ``py_penalty`` is set on the engine: some weight has a
# regularizer written in Python) is called after each step's backward pass: it adds those
# regularizers' gradients to ``grads`` and returns their penalty.
class Engine32:
    iterations: int
    nadam_mu_product: float
    py_penalty: bool
    @property
    def early_steps(self) -> int: ...
    @property
    def overlapped_products(self) -> int: ...
    def __init__(
        self,
        nodes: Sequence[NodeSpec],
        input_widths: Sequence[_Int],
        params: Sequence[ParamSpec],
        n_params: _Int,
        n_state: _Int,
        outputs: Sequence[OutputSpec],
        opt: OptSpec,
    ) -> None: ...
    @property
    def params(self) -> npt.NDArray[np.float32]: ...
    @property
    def grads(self) -> npt.NDArray[np.float32]: ...
    @property
    def state(self) -> npt.NDArray[np.float32]: ...
    @property
    def opt_state(self) -> list[npt.NDArray[np.float32]]: ...
    def set_opt(self, opt: OptSpec) -> None: ...
    def set_outputs(self, outputs: Sequence[OutputSpec]) -> None: ...
    def reset_opt_state(self) -> None: ...
    def run_epoch(
        self,
        xs: list[npt.NDArray[np.float32]],
        ys: list[npt.NDArray[Any]],
        labels: list[npt.NDArray[Any]],
        sample_weight: npt.NDArray[np.float32] | None,
        order: npt.ArrayLike,
        batch_size: _Int,
        batch_begin: _Int,
        batch_end: _Int,
        lrs: npt.ArrayLike,
        collect: list[npt.NDArray[np.float32] | None],
        stop_on_nan: bool = False,
        diagnostics: bool = False,
        py_layers: Sequence[Any] | None = None,
        augment: tuple[float, float, int, int] | None = None,
        py_penalty: Callable[[], float] | None = None,
    ) -> _EpochStats:
        """Train on batches [batch_begin, batch_end) of the epoch whose row order is
        ``order`` (int64), one learning rate per batch in ``lrs`` (float64), GIL released."""
    def predict(
        self,
        xs: list[npt.NDArray[np.float32]],
        n: _Int,
        batch_size: _Int,
        outs: list[npt.NDArray[np.float32]],
        py_layers: Sequence[Any] | None = None,
        logits: list[npt.NDArray[np.float32] | None] | None = None,
    ) -> None:
        """Inference-mode outputs into ``outs`` (one (n, width) array per output); where
        ``logits[o]`` is an array and output o is fused, its pre-activation too."""
    @property
    def fused_outputs(self) -> list[bool]:
        """Per output: a softmax/sigmoid whose cross-entropy training computes from the logits."""
    def compute_gradients(
        self,
        xs: list[npt.NDArray[np.float32]],
        ys: list[npt.NDArray[Any]],
        labels: list[npt.NDArray[Any]],
        sample_weight: npt.NDArray[np.float32] | None,
        n: _Int,
        step: _Int = 0,
        py_layers: Sequence[Any] | None = None,
        py_penalty: Callable[[], float] | None = None,
    ) -> float:
        """Loss (with penalties) of all n rows as one training-mode batch; fills ``grads``."""

class Engine64:
    iterations: int
    nadam_mu_product: float
    py_penalty: bool
    @property
    def early_steps(self) -> int: ...
    @property
    def overlapped_products(self) -> int: ...
    def __init__(
        self,
        nodes: Sequence[NodeSpec],
        input_widths: Sequence[_Int],
        params: Sequence[ParamSpec],
        n_params: _Int,
        n_state: _Int,
        outputs: Sequence[OutputSpec],
        opt: OptSpec,
    ) -> None: ...
    @property
    def params(self) -> npt.NDArray[np.float64]: ...
    @property
    def grads(self) -> npt.NDArray[np.float64]: ...
    @property
    def state(self) -> npt.NDArray[np.float64]: ...
    @property
    def opt_state(self) -> list[npt.NDArray[np.float64]]: ...
    def set_opt(self, opt: OptSpec) -> None: ...
    def set_outputs(self, outputs: Sequence[OutputSpec]) -> None: ...
    def reset_opt_state(self) -> None: ...
    def run_epoch(
        self,
        xs: list[npt.NDArray[np.float64]],
        ys: list[npt.NDArray[Any]],
        labels: list[npt.NDArray[Any]],
        sample_weight: npt.NDArray[np.float64] | None,
        order: npt.ArrayLike,
        batch_size: _Int,
        batch_begin: _Int,
        batch_end: _Int,
        lrs: npt.ArrayLike,
        collect: list[npt.NDArray[np.float64] | None],
        stop_on_nan: bool = False,
        diagnostics: bool = False,
        py_layers: Sequence[Any] | None = None,
        augment: tuple[float, float, int, int] | None = None,
        py_penalty: Callable[[], float] | None = None,
    ) -> _EpochStats:
        """As :meth:`Engine32.run_epoch`, in float64."""
    def predict(
        self,
        xs: list[npt.NDArray[np.float64]],
        n: _Int,
        batch_size: _Int,
        outs: list[npt.NDArray[np.float64]],
        py_layers: Sequence[Any] | None = None,
        logits: list[npt.NDArray[np.float64] | None] | None = None,
    ) -> None: ...
    @property
    def fused_outputs(self) -> list[bool]: ...
    def compute_gradients(
        self,
        xs: list[npt.NDArray[np.float64]],
        ys: list[npt.NDArray[Any]],
        labels: list[npt.NDArray[Any]],
        sample_weight: npt.NDArray[np.float64] | None,
        n: _Int,
        step: _Int = 0,
        py_layers: Sequence[Any] | None = None,
        py_penalty: Callable[[], float] | None = None,
    ) -> float: ...

def all_finite(a: npt.NDArray[np.floating[Any]], as_float32: bool = False) -> bool:
    """True when no element is NaN or +-Inf (no temporary array); as_float32: after rounding to float32."""

def _augment_draws(seed: _Int, epoch: _Int, batch: _Int, b: _Int,
                   mixup: float) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """The mixup draws of training batch `batch` (b rows) of `epoch`: (lambdas, partner positions)."""

def _augment_normals(seed: _Int, epoch: _Int, batch: _Int, input: _Int, count: _Int) -> npt.NDArray[np.float64]:
    """The standard normals of the input noise of a training batch: element (r, j) of input
    `input` (width w) is entry r * w + j."""

def shuffle_order(n: _Int, seed: _Int, epoch: _Int) -> npt.NDArray[np.int64]:
    """A permutation of range(n), a pure function of (n, seed, epoch)."""
