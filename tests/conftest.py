"""Shared fixtures: every kernel test runs under each ISA path this machine supports and
at 1 and 2 threads (``isa`` / ``threads`` / ``isa_threads``)."""
import numpy as np
import pytest

import fastnn
from fastnn import _core

ARCHS = _core.available_archs()
THREADS = [1, 2]


@pytest.fixture(params=ARCHS)
def isa(request):
    """Force one kernel path for the test, restore the default after."""
    before = _core.get_arch()
    _core.set_arch(request.param)
    yield request.param
    _core.set_arch(before)


@pytest.fixture(params=THREADS)
def threads(request):
    before = fastnn.get_num_threads()
    fastnn.set_num_threads(request.param)
    yield request.param
    fastnn.set_num_threads(before)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def tol(dtype):
    """Relative tolerance of a float32/float64 kernel against a float64 reference."""
    return 2e-5 if np.dtype(dtype) == np.float32 else 1e-12
