"""live/html.py: the small pieces every renderer writes."""

import datetime
import zoneinfo

import pytest
from django.utils import formats, timezone, translation

from live import html

MOMENTS = [datetime.datetime(2026, 3, 29, 0, 59, 59, 999999, tzinfo=datetime.UTC),  # Paris goes to summer time
           datetime.datetime(2026, 3, 29, 1, 0, 0, tzinfo=datetime.UTC),
           datetime.datetime(2026, 12, 31, 23, 59, 30, 500000, tzinfo=datetime.UTC)]


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize("zone", ["Europe/Paris", "UTC", "America/New_York"])
@pytest.mark.parametrize("fmt", ["SHORT_DATETIME_FORMAT", "DATETIME_FORMAT", "DATE_FORMAT"])
def test_a_moment_reads_as_date_format_writes_it(lang, zone, fmt):
    with translation.override(lang), timezone.override(zoneinfo.ZoneInfo(zone)):
        for moment in MOMENTS:
            for _ in range(2):  # written, then memoized
                assert html.moment_text(moment, fmt) == formats.date_format(timezone.localtime(moment), fmt)


def test_a_format_showing_seconds_is_not_memoized_to_the_minute(settings, monkeypatch):
    settings.SHORT_DATETIME_FORMAT = "d/m/Y H:i:s"  # the memos are per process: settings never change in a server
    monkeypatch.setattr(html, "_MOMENTS", {})
    monkeypatch.setattr(html, "_SHOWS_SECONDS", {})
    first, second = MOMENTS[0], MOMENTS[0] - datetime.timedelta(seconds=30)
    with translation.override(None), timezone.override(datetime.UTC):
        assert html.moment_text(first).endswith("00:59:59")
        assert html.moment_text(second).endswith("00:59:29")
