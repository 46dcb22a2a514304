"""Fixtures shared by the whole test suite."""

import pytest
import torch


@pytest.fixture
def one_thread():
    """Run a test on one torch thread: tests made of many tiny operations are faster and
    steadier without thread synchronisation."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
