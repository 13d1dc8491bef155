import pytest
import torch


@pytest.fixture
def one_torch_thread():
    """Many small batched ops: one torch thread avoids OpenMP stalls on a busy 2-core machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
