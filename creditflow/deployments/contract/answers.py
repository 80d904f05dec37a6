"""The contract's answers, read: an error answer as a typed refusal, a success as the value it carries, a chat
completion as a CallResult (docs/contract.md, "Errors" and "LLM calls")."""

from decimal import Decimal
from typing import Any

from creditflow.deployments.base import (
    Allocation,
    CallRequest,
    CallResult,
    Payer,
    Purchase,
    Refusal,
    RefusalKind,
    Reply,
)
from creditflow.deployments.chat import last_usage_event, server_timing, unfinished_stream, unreadable
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

PAYERS = {"user": Payer.OWN_CREDITS, "organization": Payer.ORGANIZATION, "byok": Payer.BYOK}


def payer(billed_to: Any, byok_used: Any) -> Payer | None:
    """Who paid for a call, which a contract answer says twice: `billed_to`, and `byok_used` for the caller's own key.
    An answer that contradicts itself, or leaves one out, does not say who paid."""
    paid_by = PAYERS.get(billed_to)
    return paid_by if byok_used is (paid_by is Payer.BYOK) else None


def refusal(answer: Answer, conflict: RefusalKind = RefusalKind.CONFLICT) -> Refusal:
    """A contract error answer, `{"error", "detail", ...}`, as a typed refusal."""
    if answer.status == 409:
        kind = conflict
    elif answer.status == 429 and answer.field("error") == "quota_exceeded":
        kind = RefusalKind.QUOTA  # the contract's other 429s are rate limits
    elif answer.status in STATUS_KINDS:
        kind = STATUS_KINDS[answer.status]
    elif answer.status in (502, 503, 504) and answer.field("error", "").startswith("provider"):
        kind = RefusalKind.PROVIDER_FAILURE
    else:
        kind = RefusalKind.SERVER_ERROR
    detail = meaning_of(answer.field("detail") or answer.body or "")
    return Refusal(
        kind=kind, status=answer.status, detail=detail,
        required=credits(answer.field("required")), available=credits(answer.field("available")),
        upgrade_offered=bool(answer.field("upgrade_url")) and "upgrade" in detail.lower(),
        no_allocation=answer.field("error") == "no_credit_allocation",
        resets_at=resets_at(answer), calls_left=calls_left(answer), retry_after_s=retry_after(answer),
    )


def reply(answer: Answer, value: Any = None, conflict: RefusalKind = RefusalKind.CONFLICT) -> Reply:
    if answer.ok:
        return Reply(value=value, elapsed_ms=answer.elapsed_ms)
    return Reply(refusal=refusal(answer, conflict), elapsed_ms=answer.elapsed_ms)


def created(answer: Answer, value: Any = None, conflict: RefusalKind = RefusalKind.CONFLICT) -> Reply:
    """The reply to a request that creates something, which the contract answers with 201 Created: another success
    is not the contract's answer, and a client that waits for 201 would not read it as one."""
    if answer.ok and answer.status != 201:
        return Reply(refusal=Refusal(RefusalKind.UNREADABLE, answer.status,
                                     f"a success answered {answer.status}, where the contract answers 201 Created"),
                     elapsed_ms=answer.elapsed_ms)
    return reply(answer, value, conflict)


def purchase(answer: Answer) -> Reply[Purchase]:
    """A purchase's answer: 201 once the credits arrived, 202 while the payment still clears."""
    if answer.ok and answer.status not in (201, 202):
        return created(answer)
    return reply(answer, Purchase(answer.field("payment_id"), answer.status == 201) if answer.ok else None)


def call_result(request: CallRequest, sent_at: float, answer: Answer) -> CallResult:
    """A chat completion answer, with the contract's `cost_credits`, `billed_to` and `request_id`."""
    phases = server_timing(answer)
    if answer.status != 200:
        return CallResult(request, sent_at, answer.elapsed_ms, refusal(answer, RefusalKind.DUPLICATE),
                          phases=phases)
    if request.stream:
        return streamed_result(request, sent_at, answer)
    if (unread := unreadable(request, sent_at, answer)) is not None:
        return unread
    usage = answer.field("usage") or {}
    return CallResult(
        request, sent_at, answer.elapsed_ms,
        cost=credits(answer.field("cost_credits")), paid_by=payer(answer.field("billed_to"), answer.field("byok_used")),
        tokens=usage.get("total_tokens"), request_id=answer.field("request_id"), phases=phases,
        calls_left=calls_left(answer), resets_at=resets_at(answer),
    )


def streamed_result(request: CallRequest, sent_at: float, answer: Answer) -> CallResult:
    """A streamed answer: pieces of text, then a last chunk with the usage and what the call cost."""
    request_id = answer.headers.get("x-request-id")
    if (unfinished := unfinished_stream(request, sent_at, answer, request_id)) is not None:
        return unfinished
    last = last_usage_event(answer)
    return CallResult(
        request, sent_at, answer.elapsed_ms, cost=credits(last.get("cost_credits")),
        paid_by=payer(last.get("billed_to"), last.get("byok_used")),
        tokens=(last.get("usage") or {}).get("total_tokens"),
        request_id=last.get("request_id", request_id), pieces=sum(map(streamed_piece, answer.events)),
        calls_left=calls_left(answer), resets_at=resets_at(answer),  # the quota headers come with a stream's too
    )


def sign_in_reply(answer: Answer) -> Reply[None]:
    """A sign-in's answer: served, refused as unauthorized (Keycloak's 400 invalid_grant, the reference's 401), or
    refused as too many (the reference's 429, with how long the refusal holds)."""
    if answer.status == 400 and answer.field("error") == "invalid_grant":
        return Reply(refusal=Refusal(RefusalKind.UNAUTHORIZED, answer.status,
                                     str(answer.field("error_description", ""))), elapsed_ms=answer.elapsed_ms)
    return reply(answer)


def whole(amount: Any) -> Any:
    """Credits as the contract's JSON carries them: whole numbers as integers, anything else as given."""
    if isinstance(amount, Decimal) and amount == amount.to_integral_value():
        return int(amount)
    if isinstance(amount, Decimal):
        return float(amount)
    return amount


def allocation(answer: Answer) -> Allocation:
    return Allocation(credits(answer.field("allocated")), credits(answer.field("used")),
                      credits(answer.field("remaining")))
