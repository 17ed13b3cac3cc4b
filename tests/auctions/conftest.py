from datetime import timedelta

import pytest
from django.utils import timezone

from tests.auctions.factories import funded_buyer, make_auction, make_vertical
from tests.factories import UserFactory


@pytest.fixture
def t0():
    """The auction's opening instant: tests move time by passing now=t0 + …, never by sleeping."""
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def vertical(db):
    return make_vertical()


@pytest.fixture
def seller(db):
    return UserFactory(is_seller=True)


@pytest.fixture
def auction(vertical, seller, t0):
    """An open 60-second auction with a 10 USDC reserve, opened at t0."""
    return make_auction(seller=seller, vertical=vertical, now=t0)


@pytest.fixture
def buyers(db):
    """Three buyers with 1,000 USDC each."""
    return [funded_buyer() for _ in range(3)]


def seconds(t0, n: float):
    return t0 + timedelta(seconds=n)
