import pytest

from tests.integrations.receiver import start_receiver, stop_receiver


@pytest.fixture
def receiver():
    r = start_receiver()
    yield r
    stop_receiver(r)
