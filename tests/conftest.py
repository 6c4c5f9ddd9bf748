import os
import sys

import pytest
import torch

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "generate"))


@pytest.fixture(params=["numba", "torch"])
def backend(request) -> str:
    """Both renderer back ends; every reference test runs on each."""
    return request.param


@pytest.fixture
def device() -> torch.device:
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    return torch.device("cuda")
