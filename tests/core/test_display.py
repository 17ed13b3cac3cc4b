"""Money and moments as people read them (core.display, the `display` template filters)."""

from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest
from django.template import Context, Template

from core.display import bps_text, day_text, moment_text, usdc_text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (D("52.5"), "52.50 USDC"),
        (D("52.500000"), "52.50 USDC"),
        ("12.000000", "12.00 USDC"),
        (D("1234567.25"), "1,234,567.25 USDC"),
        (D("0.000001"), "0.000001 USDC"),
        (D("10.123"), "10.123 USDC"),
        (D("-200"), "-200.00 USDC"),
        (0, "0.00 USDC"),
        (None, "—"),
        ("", "—"),
    ],
)
def test_usdc_has_two_to_six_decimals_grouped_thousands_and_its_unit(value, text):
    assert usdc_text(value) == text


def test_moments_and_days_are_written_in_words_in_the_sites_time_zone():
    moment = datetime(2026, 12, 5, 19, 21, 7, tzinfo=UTC)
    assert moment_text(moment) == "5 Dec 2026, 19:21 UTC"
    assert moment_text(moment, seconds=True) == "5 Dec 2026, 19:21:07 UTC"
    assert moment_text("2026-12-05T19:21:07+00:00") == "5 Dec 2026, 19:21 UTC"  # an ISO string from a payload
    assert day_text(date(2026, 7, 1)) == day_text(moment.replace(month=7, day=1)) == "1 Jul 2026"
    assert moment_text(None) == day_text(None) == "—"


def test_basis_points_are_a_percentage():
    assert (bps_text(200), bps_text(250), bps_text(1000), bps_text(0)) == ("2%", "2.5%", "10%", "0%")


def test_templates_use_one_filter_library():
    rendered = Template('{% load display %}{{ p|usdc }} · {{ t|when:"s" }} · {{ t|day }} · {{ b|bps }}').render(
        Context({"p": D("52.5"), "t": datetime(2026, 12, 5, 19, 21, 7, tzinfo=UTC), "b": 200})
    )
    assert rendered == "52.50 USDC · 5 Dec 2026, 19:21:07 UTC · 5 Dec 2026 · 2%"


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "Europe/Berlin"])
def test_moments_read_as_djangos_date_format_writes_them(zone):
    from datetime import timedelta

    from django.utils import timezone
    from django.utils.dateformat import format as date_format

    from core.display import MOMENT_FORMAT, MOMENT_SECONDS_FORMAT

    start = datetime(2026, 1, 1, 0, 0, 7, tzinfo=UTC)
    with timezone.override(zone):
        for hours in range(0, 24 * 365, 37):  # every month, both sides of daylight saving
            moment = start + timedelta(hours=hours, minutes=hours % 60)
            local = timezone.localtime(moment)
            assert moment_text(moment) == date_format(local, MOMENT_FORMAT)
            assert moment_text(moment, seconds=True) == date_format(local, MOMENT_SECONDS_FORMAT)
        assert moment_text(datetime(812, 3, 4, 5, 6, tzinfo=UTC)) == date_format(
            timezone.localtime(datetime(812, 3, 4, 5, 6, tzinfo=UTC)), MOMENT_FORMAT
        )
