"""Training progress display: a live bar per epoch on a terminal, one line per epoch
otherwise (exported as :class:`fastnn.callbacks.ProgressBar`)."""
from __future__ import annotations

import math
import numbers
import sys
import time

from fastnn.callbacks import Callback, _check_int

_now = time.perf_counter  # the clock; tests replace it
_SKIP = frozenset({"batch", "size", "nan_batch", "time"})
_UPDATES_PER_EPOCH = 25
_BAR_WIDTH = 30


def _fmt_value(v) -> str:
    """``0.1234``; tiny or huge values in scientific notation; ints as they are."""
    if isinstance(v, numbers.Integral):
        return str(int(v))
    v = float(v)
    if v != 0 and math.isfinite(v) and not 1e-3 <= abs(v) < 1e5:
        return f"{v:.4e}"
    return f"{v:.4f}"


def _fmt_time(seconds: float) -> str:
    """``0.41s``, ``12.3s``, ``2m05s``, ``1h02m``."""
    if seconds < 10:
        return f"{seconds:.2f}s"
    if seconds < 60:
        return f"{seconds:.1f}s"
    s = int(round(seconds))
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


def _fmt_rate(rate: float) -> str:
    return f"{rate:.0f}" if rate >= 100 else f"{rate:.3g}"


def _ordered(logs) -> list:
    """Numeric entries to show: loss, other training keys, validation keys, then lr."""
    items = [(k, v) for k, v in logs.items() if k not in _SKIP
             and isinstance(v, numbers.Real) and not isinstance(v, bool)]
    def rank(item):
        k = item[0]
        return (0 if k == "loss" else 3 if k == "lr" else 2 if k.startswith("val_") else 1)
    return sorted(items, key=rank)  # stable: keeps the logs' order within a rank


def _metrics_text(logs) -> str:
    return " - ".join(f"{k}: {_fmt_value(v)}" for k, v in _ordered(logs))


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def _in_notebook() -> bool:
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:  # noqa: BLE001 - any failure means "not a notebook"
        return False
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def _load_tqdm(notebook: bool):
    try:
        if notebook:
            from tqdm.auto import tqdm
        else:
            from tqdm import tqdm
    except ImportError:
        return None
    return tqdm


class ProgressBar(Callback):
    """Show training progress: loss, metrics, samples per second and ETA.

    Parameters
    ----------
    verbose : {0, 1, 2}, default 1
        0 shows nothing. 1 shows a live bar per epoch when writing to a terminal (or a
        Jupyter notebook): with tqdm when it is installed (``pip install
        fastnn[progress]``), else a plain bar redrawn in place; the bar is replaced by
        the epoch line when the epoch ends. When the output is not a terminal, 1 prints
        one line per epoch, like 2. 2 always prints one line per epoch.
    file : file-like, optional
        Where to write; ``None`` means ``sys.stdout`` at the time of writing.
    update_every : int or "auto", default "auto"
        Batches between live updates; "auto" updates about 25 times per epoch.

    Notes
    -----
    An epoch line reads ``Epoch 3/10 - 0.41s - 146000 samples/s - loss: 0.1234 -
    accuracy: 0.9700 - val_loss: 0.1500 - val_accuracy: 0.9600 - lr: 0.0010``: the
    time is the epoch's wall time including validation. Live updates need the engine to
    stop every few batches, so :attr:`batch_frequency` is None (whole epochs run
    natively) unless the bar is live.
    """

    def __init__(self, verbose=1, file=None, update_every="auto"):
        super().__init__()
        self.verbose = _check_int("verbose", verbose)
        if self.verbose > 2:
            raise ValueError(f"verbose: expected 0, 1 or 2, got {self.verbose}")
        if file is not None and not callable(getattr(file, "write", None)):
            raise TypeError(f"file: expected a writable file-like object, "
                            f"got {type(file).__name__}")
        self.file = file
        if update_every != "auto":
            if isinstance(update_every, str):
                raise ValueError(f"update_every: expected 'auto' or an int >= 1, "
                                 f"got {update_every!r}")
            update_every = _check_int("update_every", update_every, low=1)
        self.update_every = update_every
        self._bar = None
        self._live = False
        self._tqdm = None
        self._done = 0
        self._live_line = 0
        self._epoch = 0
        self._t0 = 0.0

    @property
    def _stream(self):
        """The output stream."""
        return self.file if self.file is not None else sys.stdout

    def _notebook(self):
        return self.file is None and _in_notebook()

    @property
    def _live_wanted(self):
        """Whether a live bar is shown (verbose 1 writing to a terminal or notebook)."""
        return self.verbose == 1 and (_isatty(self._stream) or self._notebook())

    @property
    def batch_frequency(self):
        """Batches between live updates, or None when the bar is not live."""
        if not self._live_wanted:
            return None
        if self.update_every != "auto":
            return self.update_every
        steps = (self.params or {}).get("steps")
        return max(1, math.ceil(steps / _UPDATES_PER_EPOCH)) if steps else 10

    def _header(self, epoch):
        epochs = (self.params or {}).get("epochs")
        return f"Epoch {epoch + 1}/{epochs}" if epochs else f"Epoch {epoch + 1}"

    def on_train_begin(self, logs=None):
        """Decide once whether the bar is live and which renderer draws it."""
        self._live = self._live_wanted
        self._tqdm = _load_tqdm(self._notebook()) if self._live else None

    def on_epoch_begin(self, epoch, logs=None):
        """Start the epoch's clock (and bar)."""
        self._epoch = epoch
        self._t0 = _now()
        self._done = 0
        if self._live and self._tqdm is not None:
            self._bar = self._tqdm(total=(self.params or {}).get("samples"),
                                   desc=self._header(epoch), unit="sample", unit_scale=True,
                                   file=self._stream, leave=True, dynamic_ncols=True)

    def on_train_batch_end(self, batch, logs=None):
        """Redraw the live bar."""
        if not self._live or not logs:
            return
        size = int(logs.get("size", self._done))
        if self._bar is not None:
            self._bar.set_postfix_str(_metrics_text(logs), refresh=False)
            self._bar.update(size - self._done)
        else:
            self._draw(self._plain_bar(size, logs))
        self._done = size

    def _plain_bar(self, size, logs):
        samples = (self.params or {}).get("samples")
        elapsed = _now() - self._t0
        parts = [self._header(self._epoch)]
        if samples:
            filled = min(_BAR_WIDTH, _BAR_WIDTH * size // samples)
            arrow = ">" if filled < _BAR_WIDTH else ""
            bar = "=" * filled + arrow
            parts[0] += f" [{bar:<{_BAR_WIDTH}}] {size}/{samples}"
            if 0 < size and elapsed > 0:
                parts.append(f"ETA: {_fmt_time(elapsed * (samples - size) / size)}")
        if size and elapsed > 0:
            parts.append(f"{_fmt_rate(size / elapsed)} samples/s")
        text = _metrics_text(logs)
        return " - ".join(parts + ([text] if text else []))

    def _draw(self, line, end=""):
        pad = max(0, self._live_line - len(line))
        self._stream.write("\r" + line + " " * pad + end)
        self._stream.flush()
        self._live_line = 0 if end else len(line)

    def _epoch_line(self, epoch, logs, elapsed, samples=None):
        """The one-line summary of an epoch (``epoch`` 0-based, shown 1-based)."""
        parts = [self._header(epoch), _fmt_time(elapsed)]
        if samples and elapsed > 0:
            parts.append(f"{_fmt_rate(samples / elapsed)} samples/s")
        text = _metrics_text(logs or {})
        return " - ".join(parts + ([text] if text else []))

    def on_epoch_end(self, epoch, logs=None):
        """Finish the live bar or print the epoch line."""
        if self.verbose == 0:
            return
        logs = logs or {}
        elapsed = _now() - self._t0
        samples = (self.params or {}).get("samples") or logs.get("size") or self._done
        line = self._epoch_line(epoch, logs, elapsed, samples)
        if self._bar is not None:
            self._bar.set_postfix_str(_metrics_text(logs), refresh=False)
            if samples and samples > self._done:
                self._bar.update(samples - self._done)
            self._bar.close()
            self._bar = None
        elif self._live:
            self._draw(line, end="\n")
        else:
            print(line, file=self._stream, flush=True)

    def on_train_end(self, logs=None):
        """Close a bar left open (training interrupted mid-epoch)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif self._live_line:
            self._draw("", end="\n")
