"""Analyses tests run many tiny operator products: one thread avoids oversubscription."""

import pytest


@pytest.fixture(autouse=True)
def _analyses_on_one_thread(one_thread):
    yield
