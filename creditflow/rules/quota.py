"""The API-call quota's period: a calendar month in UTC (docs/contract.md, "Units and prices"). A spent quota comes
back when its period ends, at 00:00 UTC on the first of the next month."""

from datetime import UTC, datetime, timedelta

from creditflow.deployments.base import CallResult

# How far apart the server's clock and this machine's may be: a call made this close to the turn of a month may
# be counted in either month.
CLOCKS_APART_S = 2


def next_month_start(at: float) -> int:
    """00:00 UTC on the first of the month after the one `at` falls in; both in Unix seconds."""
    first_of_month = datetime.fromtimestamp(at, UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return int((first_of_month + timedelta(days=32)).replace(day=1).timestamp())


def period_ends_for(call: CallResult) -> list[int]:
    """When the period a call was counted in ends: the start of the month after the call's. A call that straddles
    the turn of a month, give or take the clocks' difference, may have been counted in either month: then the end
    of either, earlier first."""
    answered_at = call.sent_at + call.elapsed_ms / 1000
    return sorted({next_month_start(call.sent_at - CLOCKS_APART_S), next_month_start(answered_at + CLOCKS_APART_S)})


def moment(at: int) -> str:
    """Unix seconds as a reader takes them: "00:00:00 UTC on 1 December 2026"."""
    when = datetime.fromtimestamp(at, UTC)
    return f"{when:%H:%M:%S} UTC on {when.day} {when:%B %Y}"
