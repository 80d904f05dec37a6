"""Ops-Center-OSS's answers, read: an error as a typed refusal, a chat answer with its `_metadata` as a CallResult,
and the amounts its API takes and gives."""

from decimal import Decimal
from typing import Any

from creditflow.deployments.base import Allocation, CallRequest, CallResult, Payer, Refusal, RefusalKind, Reply
from creditflow.deployments.chat import last_usage_event, unfinished_stream, unreadable
from creditflow.deployments.http import (
    STATUS_KINDS,
    Answer,
    calls_left,
    credits,
    meaning_of,
    resets_at,
    retry_after,
    streamed_piece,
)


def detail_of(answer: Answer) -> str:
    body = answer.body
    if isinstance(body, dict):
        return meaning_of(body.get("detail") or body.get("message") or body.get("error") or "")
    return str(body or "")


def refusal(answer: Answer) -> Refusal:
    detail = detail_of(answer)
    if answer.status in STATUS_KINDS:
        kind = STATUS_KINDS[answer.status]
    elif answer.status in (502, 503, 504) or detail.startswith("LLM provider error"):
        kind = RefusalKind.PROVIDER_FAILURE
    else:
        kind = RefusalKind.SERVER_ERROR
    return Refusal(
        kind=kind, status=answer.status, detail=detail,
        upgrade_offered=bool(answer.field("upgrade_url")),
        no_allocation="no credit allocation" in detail.lower(),
        resets_at=resets_at(answer), calls_left=calls_left(answer), retry_after_s=retry_after(answer),
    )


def reply(answer: Answer, value: Any = None) -> Reply:
    if answer.ok:
        return Reply(value=value, elapsed_ms=answer.elapsed_ms)
    return Reply(refusal=refusal(answer), elapsed_ms=answer.elapsed_ms)


def streamed_result(request: CallRequest, sent_at: float, answer: Answer) -> CallResult:
    """A streamed answer: the provider's chunks as relayed, with no `_metadata`: what the call cost and who paid
    are not in it; a failure after the first byte is an `error` event in a 200 answer (litellm_api.py:1291-1304)."""
    if (unfinished := unfinished_stream(request, sent_at, answer)) is not None:
        return unfinished
    usage = last_usage_event(answer).get("usage", {})
    return CallResult(request, sent_at, answer.elapsed_ms, tokens=usage.get("total_tokens"),
                      pieces=sum(map(streamed_piece, answer.events)))


def call_result(request: CallRequest, sent_at: float, answer: Answer) -> CallResult:
    """A chat answer: the provider's completion plus the product's `_metadata`."""
    if request.stream and answer.status == 200:
        return streamed_result(request, sent_at, answer)
    if answer.status != 200:
        return CallResult(request, sent_at, answer.elapsed_ms, refusal(answer))
    if (unread := unreadable(request, sent_at, answer)) is not None:
        return unread
    metadata = answer.field("_metadata") or {}
    cost = credits(metadata.get("cost_incurred")) or Decimal(0)
    transaction = str(metadata.get("transaction_id") or "")
    if metadata.get("using_byok"):
        payer = Payer.BYOK
    elif transaction.startswith("org-"):
        payer = Payer.ORGANIZATION  # "org-<org>-<user>" (litellm_api.py:1535)
    elif transaction:
        payer = Payer.OWN_CREDITS  # an individual debit's transaction id
    else:
        payer = None  # the product names no debit: a credit-exempt tier, or a charge it does not say it made
    usage = answer.field("usage") or {}
    return CallResult(request, sent_at, answer.elapsed_ms, cost=cost, paid_by=payer,
                      tokens=usage.get("total_tokens"), request_id=metadata.get("transaction_id") or answer.field("id"),
                      calls_left=calls_left(answer), resets_at=resets_at(answer))


def plain(amount: Any) -> Any:
    """An amount as the product's API takes it: whole credits as integers, anything else as given."""
    if isinstance(amount, Decimal):
        return int(amount) if amount == amount.to_integral_value() else str(amount)
    return amount


def allocation(row: Any) -> Allocation:
    row = row if isinstance(row, dict) else {}
    return Allocation(credits(row.get("allocated_credits")), credits(row.get("used_credits")),
                      credits(row.get("remaining_credits")))
