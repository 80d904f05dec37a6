"""An LLM call, as docs/contract.md orders it: six steps, each a method, run in this order.

1. authenticate  2. take_quota  3. choose_payer  4. reserve  5. route (or open_stream)  6. settle

Nothing here knows HTTP: a refusal is a `Refused` naming its reason; routers/llm.py renders it.
"""

import asyncio
import hashlib
import json
import logging
import math
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx

from sandbox.opscenter.auth import Caller
from sandbox.opscenter.ledger import DuplicateRequest, InsufficientCredits, NoAllocation
from sandbox.opscenter.service import OpsCenter, QuotaState, Refused
from sandbox.opscenter.settings import RATES

log = logging.getLogger("ops-center")


def cost_of(model: str, tokens: int) -> int:
    return math.ceil(tokens * RATES[model] / 1000)


@dataclass(frozen=True)
class CallRequest:
    model: str
    max_tokens: int
    body: dict  # the OpenAI chat body, passed on to the provider
    use_byok: bool | None
    request_id: str | None
    org_id: str | None = None  # the organization the request names to pay for it, if any


@dataclass(frozen=True)
class Payer:
    kind: str  # "user", "organization" or "byok"
    caller: Caller
    org_id: str | None = None
    byok_cipher: bytes | None = None


@dataclass(frozen=True)
class Reservation:
    account: str | None  # whose credits are held: "user", "organization", or nobody's
    amount: int


@dataclass
class Receipt:
    completion: dict
    cost: int
    payer: str
    request_id: str
    quota: QuotaState
    timings: dict[str, float] = field(default_factory=dict)


def account_charged(payer: Payer) -> str | None:
    """Whose credits a call moves: the payer's, and nobody's for a call on the caller's own key."""
    return None if payer.kind == "byok" else payer.kind


class Timer:
    """Server-side phases: how long usage tracking, credit movement, the provider and billing took."""

    def __init__(self):
        self.phases: dict[str, float] = {}

    def add(self, phase: str, started: float) -> None:
        self.phases[phase] = self.phases.get(phase, 0.0) + (time.perf_counter() - started) * 1000


@dataclass
class Admission:
    """A call admitted by steps 1 to 4: its id claimed, its API call counted, its worst case reserved."""

    caller: Caller
    request_id: str
    quota: QuotaState
    payer: Payer
    reservation: Reservation
    timer: Timer
    settled: bool = False


@dataclass
class StreamedCall:
    """A call answered as server-sent events; `events` ends with the usage and what the call cost."""

    request_id: str
    quota: QuotaState
    events: AsyncIterator[str]


class LlmCalls:
    def __init__(self, service: OpsCenter):
        self.s = service

    async def call(self, credentials: str | None, request: CallRequest) -> Receipt:
        admission = await self.admit(credentials, request)
        try:
            started = time.perf_counter()
            completion = await self.route(admission.payer, request)                    # 5
            admission.timer.add("provider", started)
            tokens = int(completion.get("usage", {}).get("total_tokens", 0))
            charged = await self.settle(admission, request, tokens)                    # 6
        except BaseException as error:
            await self.withdraw(admission, error)
            raise
        return Receipt(completion, charged, admission.payer.kind, admission.request_id, admission.quota,
                       admission.timer.phases)

    async def stream(self, credentials: str | None, request: CallRequest) -> StreamedCall:
        """Steps 1 to 4 and the provider's first answer come before the first byte, so a refusal is a plain
        status; the stream is then read to its end and settled by a task of its own, so a client that
        leaves mid-stream is still charged, once, for what the provider produced (docs/contract.md)."""
        admission = await self.admit(credentials, request)
        try:
            upstream = await self.open_stream(admission.payer, request)                # 5
        except BaseException as error:
            await self.withdraw(admission, error)
            raise
        relay: asyncio.Queue[str | None] = asyncio.Queue()
        self.s.keep(asyncio.create_task(self.relay_stream(admission, request, upstream, relay)))

        async def events() -> AsyncIterator[str]:
            while (event := await relay.get()) is not None:
                yield event

        return StreamedCall(admission.request_id, admission.quota, events())

    async def admit(self, credentials: str | None, request: CallRequest) -> Admission:
        timer = Timer()
        caller = await self.authenticate(credentials)                                  # 1
        request_id = await self.claim_request_id(caller, request)
        started = time.perf_counter()
        try:
            quota = await self.take_quota(caller)                                      # 2
        except BaseException:
            await self.s.release_request_id(caller, request_id)
            raise
        timer.add("usage", started)
        try:
            payer = await self.choose_payer(caller, request)                           # 3
            started = time.perf_counter()
            reservation = await self.reserve(payer, request)                           # 4
            timer.add("credits", started)
        except BaseException as error:
            await self.withdraw(Admission(caller, request_id, quota, Payer("user", caller), Reservation(None, 0),
                                          timer), error)
            raise
        return Admission(caller, request_id, quota, payer, reservation, timer)

    async def withdraw(self, admission: Admission, error: BaseException) -> None:
        """A call that was not served gives back its reservation, its API call and its request id."""
        if not admission.settled:
            await self.release(admission.payer, admission.reservation)
        quota = await self.s.return_call(admission.caller, admission.quota)
        await self.s.release_request_id(admission.caller, admission.request_id)
        if isinstance(error, Refused):
            error.quota = quota

    async def authenticate(self, credentials: str | None) -> Caller:
        return await self.s.caller(credentials)

    async def claim_request_id(self, caller: Caller, request: CallRequest) -> str:
        """A request id is served once: copies sent at once or later are refused before they cost anything,
        and an id reused for another request is refused (docs/contract.md, "Retries")."""
        request_id = request.request_id or f"req_{uuid.uuid4().hex}"
        if len(request_id) > 128:
            raise Refused("invalid_request", "The request id is longer than 128 characters.")
        fingerprint = hashlib.sha256(json.dumps([request.body, request.use_byok], sort_keys=True).encode()).hexdigest()
        claimed_for = await self.s.claim_request_id(caller, request_id, fingerprint)
        if claimed_for is not None and claimed_for != fingerprint:
            raise Refused("request_id_reused", "This request id was used for a different request; a request id "
                          "names one request.")
        if claimed_for is not None or await self.s.ledger.charged_before(caller.user_id, request_id):
            raise Refused("duplicate_request", "This request id was already received; it is served and charged "
                          "once.")
        return request_id

    async def take_quota(self, caller: Caller) -> QuotaState:
        return await self.s.take_call(caller)

    async def choose_payer(self, caller: Caller, request: CallRequest) -> Payer:
        """The caller's own key; else the organization the request names, or the first the caller joined; else the
        caller's own credits (docs/contract.md, "The six steps of an LLM call")."""
        if request.org_id is not None and await self.s.ledger.membership(request.org_id, caller.user_id) is None:
            raise Refused("org_not_found", "No such organization among yours.")
        cipher = await self.s.ledger.stored_key(caller.user_id, "openrouter")
        if request.use_byok is True and cipher is None:
            raise Refused("byok_not_configured", "BYOK was demanded but no OpenRouter key is stored.")
        if cipher is not None and request.use_byok is not False:
            return Payer("byok", caller, byok_cipher=cipher)
        org_id = request.org_id or await self.s.ledger.first_org_of(caller.user_id)
        return Payer("organization", caller, org_id=org_id) if org_id else Payer("user", caller)

    async def reserve(self, payer: Payer, request: CallRequest) -> Reservation:
        """Holds the worst-case cost of the call (its whole token budget) atomically."""
        account = account_charged(payer)
        amount = cost_of(request.model, request.max_tokens) if account else 0
        user_id = payer.caller.user_id
        try:
            if account == "user":
                await self.s.cache_balance(user_id, await self.s.ledger.reserve_own(user_id, amount))
            elif account == "organization":
                await self.s.ledger.reserve_org(payer.org_id, user_id, amount)
        except NoAllocation:
            raise Refused(
                "no_credit_allocation",
                "You are a member of an organization but no credits are allocated to you; "
                "ask an organization admin to allocate credits to you.",
                upgrade_url=self.s.settings.upgrade_url,
            ) from None
        except InsufficientCredits as error:
            who = "your organization allocation" if account == "organization" else "your balance"
            raise Refused(
                "insufficient_credits",
                f"This call needs up to {error.required} credits but {who} has {error.available}. "
                "Buy more credits or upgrade your plan.",
                required=error.required, available=error.available, upgrade_url=self.s.settings.upgrade_url,
            ) from None
        return Reservation(account, amount)

    async def release(self, payer: Payer, reservation: Reservation) -> None:
        user_id = payer.caller.user_id
        if reservation.account == "user":
            await self.s.cache_balance(user_id, await self.s.ledger.release_own(user_id, reservation.amount))
        elif reservation.account == "organization":
            await self.s.ledger.release_org(payer.org_id, user_id, reservation.amount)

    def provider_call(self, payer: Payer, request: CallRequest) -> tuple[str, dict, dict]:
        """Through LiteLLM: the platform's provider, or OpenRouter with the caller's own key."""
        body = dict(request.body)
        body["model"] = f"openrouter/{request.model}" if payer.kind == "byok" else f"openai/{request.model}"
        if payer.kind == "byok":
            body["api_key"] = self.s.fernet.decrypt(payer.byok_cipher).decode()
        settings = self.s.settings
        return (f"{settings.litellm_url}/chat/completions", body,
                {"Authorization": f"Bearer {settings.litellm_key}"})

    async def route(self, payer: Payer, request: CallRequest) -> dict:
        url, body, headers = self.provider_call(payer, request)
        try:
            answer = await self.s.http.post(url, json=body, headers=headers, timeout=60)
        except httpx.HTTPError as error:
            raise unreachable(error) from None
        if answer.status_code != 200:
            raise provider_failed(answer)
        return answer.json()

    async def open_stream(self, payer: Payer, request: CallRequest) -> httpx.Response:
        url, body, headers = self.provider_call(payer, request)
        body["stream_options"] = {"include_usage": True}
        try:
            answer = await self.s.http.send(self.s.http.build_request("POST", url, json=body, headers=headers,
                                                                      timeout=60), stream=True)
        except httpx.HTTPError as error:
            raise unreachable(error) from None
        if answer.status_code != 200:
            await answer.aread()
            await answer.aclose()
            raise provider_failed(answer)
        return answer

    async def relay_stream(self, admission: Admission, request: CallRequest, upstream: httpx.Response,
                           relay: asyncio.Queue) -> None:
        """Reads the provider's stream to its end whether or not the client still listens, then settles once.

        The last event carries the usage and what the call cost; a stream that reported no usage is charged
        by Ops-Center's own count of it; one the provider broke off is charged for what it had sent."""
        usage, pieces, last_chunk = None, 0, {}
        try:
            async for line in upstream.aiter_lines():
                data = line.removeprefix("data:").strip()
                if not line.startswith("data:") or data == "[DONE]":
                    continue
                chunk = json.loads(data)
                last_chunk = chunk
                if chunk.get("usage"):
                    usage = chunk["usage"]
                    continue  # sent last, with what the call cost
                pieces += sum(1 for choice in chunk.get("choices", []) if (choice.get("delta") or {}).get("content"))
                relay.put_nowait(sse(chunk))
        except (httpx.HTTPError, ValueError) as error:
            log.warning("the provider broke off a stream: %s", type(error).__name__)
        finally:
            await upstream.aclose()
        if usage is None:
            usage = own_count(request, pieces)
        try:
            charged = await self.settle(admission, request, int(usage.get("total_tokens", 0)))
        except BaseException as error:
            await self.withdraw(admission, error)
            detail = error.detail if isinstance(error, Refused) else "The call could not be settled."
            relay.put_nowait(sse({"error": {"message": detail, "type": "settlement_failed"}}))
        else:
            relay.put_nowait(sse({
                "id": last_chunk.get("id"), "object": "chat.completion.chunk", "model": last_chunk.get("model"),
                "choices": [], "usage": usage, "cost_credits": charged, "byok_used": admission.payer.kind == "byok",
                "billed_to": admission.payer.kind, "request_id": admission.request_id,
            }))
        relay.put_nowait("data: [DONE]\n\n")
        relay.put_nowait(None)

    async def settle(self, admission: Admission, request: CallRequest, tokens: int) -> int:
        """Charges the actual cost (never above the reservation), records it once, counts and bills the call."""
        payer, reservation, timer = admission.payer, admission.reservation, admission.timer
        cost = min(cost_of(request.model, tokens), reservation.amount)
        user_id, ledger, request_id = payer.caller.user_id, self.s.ledger, admission.request_id
        started = time.perf_counter()
        try:
            if reservation.account == "user":
                row = await ledger.settle_own(user_id, reservation.amount, cost, request_id, request.model, tokens)
                await self.s.cache_balance(user_id, row)
            elif reservation.account == "organization":
                await ledger.settle_org(payer.org_id, user_id, reservation.amount, cost, request_id,
                                        request.model, tokens)
        except DuplicateRequest:
            raise Refused("duplicate_request", "This request id was already charged.") from None
        admission.settled = True
        charged = cost if reservation.account else 0
        timer.add("credits", started)
        started = time.perf_counter()
        await ledger.count_call(user_id, admission.quota.period, byok=payer.kind == "byok")
        timer.add("usage", started)
        started = time.perf_counter()
        await self.s.bill_usage(request_id, payer.org_id or user_id, request.model, tokens, charged,
                                payer.caller.email)
        timer.add("billing", started)
        return charged


def sse(event: dict) -> str:
    return f"data: {json.dumps(event)}\n\n"


def own_count(request: CallRequest, pieces: int) -> dict:
    """Tokens of a stream that reported none: each streamed piece is one token, the prompt four characters
    a token (rounded up)."""
    prompt = math.ceil(sum(len(str(message.get("content", ""))) for message in request.body["messages"]) / 4)
    return {"prompt_tokens": prompt, "completion_tokens": pieces, "total_tokens": prompt + pieces}


def unreachable(error: httpx.HTTPError) -> Refused:
    log.warning("the LLM router failed a call: %s", type(error).__name__)
    return Refused("provider_unavailable", f"The LLM provider could not be reached ({type(error).__name__}); "
                   "nothing was charged.")


def provider_failed(answer: httpx.Response) -> Refused:
    """The router's 400 is the request's fault (a parameter the provider rejects): a 422 naming why; anything
    else is the provider's failure."""
    if answer.status_code in (400, 422):
        try:
            reason = str(answer.json()["error"]["message"])
        except (ValueError, KeyError, TypeError):
            reason = answer.text
        return Refused("invalid_request", f"The LLM provider refused the request as invalid: {reason[:300]}; "
                       "nothing was charged.")
    return Refused("provider_error", f"The LLM provider failed (router answered {answer.status_code}); nothing was "
                   "charged.")
