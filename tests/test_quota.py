"""The quota's period as the driver expects it: a calendar month in UTC, ending at the start of the next one."""

import calendar

import pytest

from creditflow.deployments.base import CallRequest, CallResult
from creditflow.rules.quota import moment, next_month_start, period_ends_for


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    return calendar.timegm((year, month, day, hour, minute, second))


def call(sent_at: float, elapsed_ms: float) -> CallResult:
    return CallResult(CallRequest("gpt-3.5-turbo", 100), sent_at, elapsed_ms)


@pytest.mark.parametrize(("now", "ends"), [
    (at(2026, 11, 28, 16, 44), at(2026, 12, 1)),
    (at(2026, 12, 31, 23, 59, 59), at(2027, 1, 1)),  # the year turns with December
    (at(2026, 12, 1), at(2027, 1, 1)),  # the first second of a month belongs to it
    (at(2028, 2, 29, 12), at(2028, 3, 1)),  # a leap day
    (at(2027, 1, 31, 12), at(2027, 2, 1)),  # a long month: the next is not skipped
])
def test_a_period_ends_at_the_start_of_the_next_calendar_month_in_utc(now, ends):
    assert next_month_start(now) == ends
    assert next_month_start(now + 0.999) == ends


def test_a_call_well_inside_a_month_ends_its_period_at_one_moment():
    assert period_ends_for(call(at(2026, 11, 28, 16, 44), 250)) == [at(2026, 12, 1)]


def test_a_call_that_straddles_the_turn_of_a_month_may_be_counted_in_either():
    sent = at(2026, 11, 30, 23, 59, 59) + 0.5
    assert period_ends_for(call(sent, 800)) == [at(2026, 12, 1), at(2027, 1, 1)]


def test_a_call_a_moment_before_the_turn_of_a_month_allows_for_the_servers_clock():
    """The server's clock may be a little ahead of this machine's: its now may already be in the next month."""
    assert period_ends_for(call(at(2026, 11, 30, 23, 59, 59), 10)) == [at(2026, 12, 1), at(2027, 1, 1)]
    assert period_ends_for(call(at(2026, 11, 30, 23, 59, 50), 10)) == [at(2026, 12, 1)]


def test_a_moment_reads_as_a_date_and_time_in_utc():
    assert moment(at(2026, 12, 1)) == "00:00:00 UTC on 1 December 2026"
    assert moment(at(2027, 1, 1, 0, 0, 1)) == "00:00:01 UTC on 1 January 2027"
