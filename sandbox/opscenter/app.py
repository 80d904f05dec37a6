"""The reference Ops-Center: every endpoint, rule and invariant of ../shared/spec/contract.md."""

import calendar
import logging
import math
import time
import uuid
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Literal

import asyncpg
import httpx
import redis.asyncio as redis
from cryptography.fernet import Fernet
from fastapi import Depends, FastAPI, Header
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt
from starlette.exceptions import HTTPException as StarletteHTTPException

from sandbox.opscenter.auth import AuthError, Caller, TokenVerifier
from sandbox.opscenter.ledger import (
    AllocationRejected,
    DuplicateRequest,
    InsufficientCredits,
    Ledger,
    NoAllocation,
)
from sandbox.opscenter.settings import (
    BYOK_PROVIDERS,
    DEFAULT_TOKEN_BUDGET,
    RATES,
    TIER_CALL_LIMITS,
    Settings,
)

log = logging.getLogger("ops-center")
Tier = Literal["trial", "professional", "platform"]
MAX_CREDITS = 1_000_000_000

# Sets a cached balance only when its version is newer, so racing writers never leave a stale value.
SET_IF_NEWER = """
local current = redis.call('HGET', KEYS[1], 'version')
if current == false or tonumber(current) < tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 'credits', ARGV[1], 'version', ARGV[2])
end
return 1
"""


class ApiError(Exception):
    def __init__(self, status: int, code: str, detail: str, **extra):
        super().__init__(detail)
        self.status, self.code, self.detail, self.extra = status, code, detail, extra


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OrgCreate(Body):
    name: str = Field(min_length=1, max_length=200)
    subscription_tier: Tier = "platform"


class Invite(Body):
    email: str = Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    role: Literal["member", "admin"] = "member"


class Purchase(Body):
    amount: StrictInt = Field(gt=0, le=MAX_CREDITS)


class Allocate(Body):
    user_email: str = Field(min_length=3, max_length=254)
    credits: StrictInt = Field(ge=0, le=MAX_CREDITS)


class Grant(Body):
    user_email: str = Field(min_length=3, max_length=254)
    credits: StrictInt = Field(gt=0, le=MAX_CREDITS)


class ByokKey(Body):
    provider: Literal[BYOK_PROVIDERS]
    api_key: str = Field(min_length=8, max_length=512, pattern=r"^\S+$")


class Message(BaseModel):
    role: Literal["system", "user", "assistant", "tool"]
    content: str = Field(max_length=100_000)


class ChatBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: Literal[tuple(RATES)]
    messages: list[Message] = Field(min_length=1, max_length=256)
    max_tokens: StrictInt = Field(default=DEFAULT_TOKEN_BUDGET, gt=0, le=100_000)


def cost_of(model: str, tokens: int) -> int:
    return math.ceil(tokens * RATES[model] / 1000)


def key_hint(api_key: str) -> str:
    return f"{api_key[:6]}...{api_key[-4:]}"


def current_period() -> tuple[str, int]:
    now = datetime.now(UTC)
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return f"{now:%Y-%m}", calendar.timegm((year, month, 1, 0, 0, 0))


class Timings:
    """Server-Timing phases: how long auth, usage tracking, credit movement and the provider took."""

    def __init__(self):
        self.phases: dict[str, float] = {}

    def add(self, phase: str, started: float) -> None:
        self.phases[phase] = self.phases.get(phase, 0.0) + (time.perf_counter() - started) * 1000

    def header(self) -> str:
        return ", ".join(f"{name};dur={ms:.2f}" for name, ms in self.phases.items())


class OpsCenter:
    def __init__(self, settings: Settings):
        self.settings = settings

    async def start(self) -> None:
        # Idle connections are dropped before uvicorn's 5 s keep-alive ends, so that a call is never sent
        # on a connection the server is closing at that moment.
        self.http = httpx.AsyncClient(limits=httpx.Limits(max_connections=400, max_keepalive_connections=100,
                                                          keepalive_expiry=2))
        self.pg = await asyncpg.create_pool(self.settings.database_url, min_size=2, max_size=20)
        self.ledger = Ledger(self.pg)
        self.redis = redis.from_url(self.settings.redis_url, decode_responses=True)
        self.set_if_newer = self.redis.register_script(SET_IF_NEWER)
        self.verifier = TokenVerifier(
            self.http, self.settings.keycloak_url, self.settings.realm, self.settings.client_id
        )
        self.fernet = Fernet(self.settings.byok_encryption_key.encode())

    async def stop(self) -> None:
        await self.pg.close()
        await self.redis.aclose()
        await self.http.aclose()

    # -- identity and provisioning -------------------------------------------------------------
    async def caller(self, authorization: str | None) -> Caller:
        try:
            caller = await self.verifier.verify(authorization)
        except AuthError as error:
            raise ApiError(401, "unauthorized", str(error)) from None
        limit = TIER_CALL_LIMITS.get(caller.tier, TIER_CALL_LIMITS["trial"])
        if await self.ledger.ensure_user(caller.user_id, caller.email, caller.tier, limit):
            await self.bill_signup(caller.user_id, caller.email, caller.tier)
        return caller

    # -- balance cache -------------------------------------------------------------------------
    async def cache_balance(self, user_id: str, row) -> None:
        await self.set_if_newer(keys=[f"balance:{user_id}"], args=[row["credits"], row["version"]])

    async def balance(self, user_id: str) -> int:
        cached = await self.redis.hget(f"balance:{user_id}", "credits")
        if cached is not None:
            return int(cached)
        row = await self.ledger.user(user_id)
        await self.cache_balance(user_id, row)
        return row["credits"]

    # -- quota ----------------------------------------------------------------------------------
    async def take_call(self, user_id: str, limit: int) -> tuple[str, int, int]:
        """Counts the call against the period's quota; 429 past the limit. Returns period, reset, used."""
        period, reset = current_period()
        key = f"quota:{user_id}:{period}"
        used = await self.redis.incr(key)
        if used == 1:
            await self.redis.expireat(key, reset + 86_400)
        if used > limit:
            await self.redis.decr(key)
            raise ApiError(
                429, "quota_exceeded",
                f"The {limit:,} API calls of this period are used up; the quota resets at {reset}.",
                headers=self.rate_headers(limit, limit, reset) | {"Retry-After": str(max(reset - int(time.time()), 1))},
            )
        return period, reset, used

    async def calls_used(self, user_id: str) -> int:
        period, _ = current_period()
        used = await self.redis.get(f"quota:{user_id}:{period}")
        return int(used) if used is not None else await self.ledger.calls_in_period(user_id, period)

    @staticmethod
    def rate_headers(limit: int, used: int, reset: int) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(max(limit - used, 0)),
            "X-RateLimit-Reset": str(reset),
        }

    # -- Lago -----------------------------------------------------------------------------------
    async def lago(self, method: str, path: str, json: dict | None = None) -> None:
        """Billing is told, never asked: a Lago outage must not fail a user's call."""
        try:
            answer = await self.http.request(
                method, f"{self.settings.lago_url}/api/v1{path}", json=json, timeout=5,
                headers={"Authorization": f"Bearer {self.settings.lago_key}"},
            )
            if answer.status_code >= 400:
                log.warning("lago %s %s answered %s", method, path, answer.status_code)
        except httpx.HTTPError as error:
            log.warning("lago %s %s failed: %s", method, path, type(error).__name__)

    async def bill_signup(self, external_id: str, email: str, tier: str) -> None:
        await self.lago("POST", "/customers", {"customer": {"external_id": external_id, "email": email, "name": email}})
        await self.lago("POST", "/subscriptions", {"subscription": {
            "external_customer_id": external_id, "plan_code": tier, "external_id": f"sub_{external_id}",
        }})

    async def bill_usage(self, request_id: str, customer_id: str, model: str, tokens: int, credits: int,
                         email: str) -> None:
        await self.lago("POST", "/events", {"event": {
            "transaction_id": request_id, "external_subscription_id": f"sub_{customer_id}", "code": "llm_call",
            "timestamp": int(time.time()),
            "properties": {"model": model, "tokens": tokens, "credits": credits, "user_email": email},
        }})

    # -- organizations --------------------------------------------------------------------------
    async def org_role(self, org_id: str, caller: Caller, admin: bool) -> str:
        role = await self.ledger.membership(org_id, caller.user_id)
        if role is None:
            raise ApiError(404, "org_not_found", "No such organization among yours.")
        if admin and role != "admin":
            raise ApiError(403, "forbidden", "Only an organization admin may do this.")
        return role

    # -- the LLM call ---------------------------------------------------------------------------
    async def chat(self, caller: Caller, body: ChatBody, use_byok: str | None, request_id: str | None) -> Response:
        timings = Timings()
        user = await self.ledger.user(caller.user_id)
        limit = user["api_calls_limit"]
        request_id = request_id or f"req_{uuid.uuid4().hex}"
        if len(request_id) > 128:
            raise ApiError(422, "invalid_request", "The request id is longer than 128 characters.")
        if await self.ledger.charged_before(request_id):
            raise ApiError(409, "duplicate_request", "This request id was already charged; it is not charged again.")
        started = time.perf_counter()
        period, reset, used = await self.take_call(caller.user_id, limit)
        timings.add("usage", started)
        headers = self.rate_headers(limit, used, reset)
        try:
            return await self._charged_call(caller, body, use_byok, request_id, period, headers, timings)
        except BaseException as error:
            await self.redis.decr(f"quota:{caller.user_id}:{period}")
            if isinstance(error, ApiError):
                error.extra.setdefault("headers", {}).update(self.rate_headers(limit, used - 1, reset))
            raise

    async def _charged_call(self, caller, body, use_byok, request_id, period, headers, timings) -> Response:
        byok_cipher = await self.ledger.stored_key(caller.user_id, "openrouter")
        if use_byok == "true" and byok_cipher is None:
            raise ApiError(400, "byok_not_configured", "BYOK was demanded but no OpenRouter key is stored.")
        org_id = None
        if byok_cipher is not None and use_byok != "false":
            payer = "byok"
        else:
            org_id = await self.ledger.first_org_of(caller.user_id)
            payer = "organization" if org_id else "user"

        # Whose credits move: the payer's, except for BYOK (nobody's) and the self-tests' deliberate defects.
        charged_as = "user" if payer == "byok" and self.settings.defect == "byok_charged" else payer
        reserved = cost_of(body.model, body.max_tokens) if charged_as in ("user", "organization") else 0
        started = time.perf_counter()
        try:
            await self._reserve(charged_as, caller, org_id, reserved)
        except ApiError as refusal:
            if refusal.status != 402 or self.settings.defect != "no_payment_check":
                raise
            charged_as, reserved = "nobody", 0
        timings.add("credits", started)

        started = time.perf_counter()
        try:
            completion = await self._route(body, payer, byok_cipher)
        except BaseException:
            await self._release(charged_as, caller, org_id, reserved)
            raise
        timings.add("provider", started)

        tokens = int(completion.get("usage", {}).get("total_tokens", 0))
        cost = cost_of(body.model, tokens)
        started = time.perf_counter()
        try:
            charged = await self._settle(charged_as, caller, org_id, reserved, cost, request_id, body.model, tokens)
        except DuplicateRequest:
            await self._release(charged_as, caller, org_id, reserved)
            raise ApiError(409, "duplicate_request", "This request id was already charged.") from None
        timings.add("credits", started)

        started = time.perf_counter()
        await self.ledger.count_call(caller.user_id, period, byok=payer == "byok")
        timings.add("usage", started)
        started = time.perf_counter()
        await self.bill_usage(request_id, org_id or caller.user_id, body.model, tokens, charged, caller.email)
        timings.add("billing", started)

        completion.update(cost_credits=charged, byok_used=payer == "byok", billed_to=payer, request_id=request_id)
        headers["Server-Timing"] = timings.header()
        headers["X-Request-Id"] = request_id
        return JSONResponse(completion, headers=headers)

    async def _reserve(self, payer, caller, org_id, amount) -> None:
        try:
            if payer == "user":
                await self.cache_balance(caller.user_id, await self.ledger.reserve_own(caller.user_id, amount))
            elif payer == "organization":
                await self.ledger.reserve_org(org_id, caller.user_id, amount)
        except NoAllocation:
            raise ApiError(
                402, "no_credit_allocation",
                "You are a member of an organization but no credits are allocated to you; "
                "ask an organization admin to allocate credits to you.",
                upgrade_url=self.settings.upgrade_url,
            ) from None
        except InsufficientCredits as error:
            who = "your organization allocation" if payer == "organization" else "your balance"
            raise ApiError(
                402, "insufficient_credits",
                f"This call needs up to {error.required} credits but {who} has {error.available}. "
                "Buy more credits or upgrade your plan.",
                required=error.required, available=error.available, upgrade_url=self.settings.upgrade_url,
            ) from None

    async def _release(self, payer, caller, org_id, amount) -> None:
        if payer == "user":
            await self.cache_balance(caller.user_id, await self.ledger.release_own(caller.user_id, amount))
        elif payer == "organization":
            await self.ledger.release_org(org_id, caller.user_id, amount)

    async def _settle(self, payer, caller, org_id, reserved, cost, request_id, model, tokens) -> int:
        if payer == "user":
            charged, row = await self.ledger.settle_own(caller.user_id, reserved, cost, request_id, model, tokens,
                                                        record=self.settings.defect != "unrecorded_charge")
            await self.cache_balance(caller.user_id, row)
            return charged
        if payer == "organization":
            return await self.ledger.settle_org(org_id, caller.user_id, reserved, cost, request_id, model, tokens)
        return 0

    async def _route(self, body: ChatBody, payer: str, byok_cipher: bytes | None) -> dict:
        request = body.model_dump(exclude_none=True)
        request["model"] = f"openrouter/{body.model}" if payer == "byok" else f"openai/{body.model}"
        if payer == "byok":
            request["api_key"] = self.fernet.decrypt(byok_cipher).decode()
        try:
            answer = await self.http.post(
                f"{self.settings.litellm_url}/chat/completions", json=request, timeout=60,
                headers={"Authorization": f"Bearer {self.settings.litellm_key}"},
            )
        except httpx.HTTPError as error:
            log.warning("the LLM router failed a call: %s", type(error).__name__)
            raise ApiError(502, "provider_unavailable",
                           f"The LLM provider could not be reached ({type(error).__name__}); nothing was charged.",
                           ) from None
        if answer.status_code != 200:
            raise ApiError(502, "provider_error", f"The LLM provider failed (router answered {answer.status_code}); "
                           "nothing was charged.")
        return answer.json()


def error_response(status: int, code: str, detail: str, **extra) -> JSONResponse:
    headers = extra.pop("headers", None)
    return JSONResponse({"error": code, "detail": detail, **extra}, status_code=status, headers=headers)


def create_app(settings: Settings | None = None) -> FastAPI:
    service = OpsCenter(settings or Settings.from_env())

    @asynccontextmanager
    async def lifespan(_app):
        await service.start()
        yield
        await service.stop()

    app = FastAPI(title="Ops-Center (reference)", lifespan=lifespan)

    @app.exception_handler(ApiError)
    async def api_error(_request, error: ApiError):
        return error_response(error.status, error.code, error.detail, **error.extra)

    @app.exception_handler(RequestValidationError)
    async def invalid_body(_request, error: RequestValidationError):
        fields = [".".join(str(part) for part in item["loc"][1:]) or "body" for item in error.errors()]
        return error_response(422, "invalid_request", f"The request is not valid: check {', '.join(fields)}.",
                              fields=fields)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request, error: StarletteHTTPException):
        return error_response(error.status_code, "not_found" if error.status_code == 404 else "http_error",
                              str(error.detail))

    async def authenticated(authorization: Annotated[str | None, Header()] = None) -> Caller:
        return await service.caller(authorization)

    CallerDep = Annotated[Caller, Depends(authenticated)]

    async def probe(url: str, key: str | None = None) -> None:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        answer = await service.http.get(url, headers=headers, timeout=5)
        answer.raise_for_status()

    @app.get("/health")
    async def health():
        settings = service.settings
        probes = {
            "postgres": lambda: service.pg.fetchval("SELECT 1"),
            "redis": service.redis.ping,
            "keycloak": service.verifier.refresh,
            "litellm": lambda: probe(f"{settings.litellm_url}/health/liveliness"),
            "lago": lambda: probe(f"{settings.lago_url}/api/v1/plans", settings.lago_key),
        }
        checks = {}
        for name, check in probes.items():
            try:
                await check()
                checks[name] = "ok"
            except Exception as error:  # a health report names every failure, whatever its kind
                checks[name] = f"{type(error).__name__}: {error}"[:200]
        return checks

    @app.post("/api/v1/org", status_code=201)
    async def create_org(body: OrgCreate, caller: CallerDep):
        org_id = f"org_{uuid.uuid4()}"
        await service.ledger.create_org(org_id, body.name, body.subscription_tier, caller.user_id, caller.email)
        await service.bill_signup(org_id, caller.email, body.subscription_tier)
        return {"id": org_id, "name": body.name, "subscription_tier": body.subscription_tier}

    @app.delete("/api/v1/org/{org_id}", status_code=204)
    async def delete_org(org_id: str, caller: CallerDep):
        await service.org_role(org_id, caller, admin=True)
        await service.ledger.delete_org(org_id)
        await service.lago("DELETE", f"/subscriptions/sub_{org_id}")
        return Response(status_code=204)

    @app.post("/api/v1/org/{org_id}/invite", status_code=201)
    async def invite(org_id: str, body: Invite, caller: CallerDep):
        await service.org_role(org_id, caller, admin=True)
        user = await service.ledger.user_by_email(body.email)
        if user is None:
            raise ApiError(404, "user_not_found", "No Ops-Center user with that e-mail has signed in yet.")
        if not await service.ledger.add_member(org_id, user["user_id"], user["email"], body.role):
            raise ApiError(409, "already_member", "That user is already a member of this organization.")
        return {"org_id": org_id, "email": user["email"], "role": body.role}

    @app.post("/api/v1/credits/organization/{org_id}/purchase", status_code=201)
    async def purchase(org_id: str, body: Purchase, caller: CallerDep):
        await service.org_role(org_id, caller, admin=True)
        total = await service.ledger.purchase(org_id, caller.user_id, body.amount, f"purchase_{uuid.uuid4().hex}")
        return {"total_credits": total}

    @app.post("/api/v1/credits/organization/{org_id}/allocate")
    async def allocate(org_id: str, body: Allocate, caller: CallerDep):
        await service.org_role(org_id, caller, admin=True)
        member = await service.ledger.member_by_email(org_id, body.user_email)
        if member is None:
            raise ApiError(404, "member_not_found", "That e-mail is not a member of this organization.")
        try:
            row = await service.ledger.allocate(org_id, member["user_id"], body.credits)
        except AllocationRejected as error:
            raise ApiError(409, "allocation_rejected", f"The allocation was refused: {error}.") from None
        return {"user_email": member["email"], **dict(row)}

    @app.get("/api/v1/credits/organization/{org_id}")
    async def org_credits(org_id: str, caller: CallerDep):
        await service.org_role(org_id, caller, admin=True)
        return await service.ledger.org_credits(org_id)

    @app.get("/api/v1/credits/organization/{org_id}/my-allocation")
    async def my_allocation(org_id: str, caller: CallerDep):
        await service.org_role(org_id, caller, admin=False)
        return await service.ledger.allocation(org_id, caller.user_id)

    @app.get("/api/v1/credits/organization/{org_id}/usage-attribution")
    async def usage_attribution(org_id: str, caller: CallerDep):
        await service.org_role(org_id, caller, admin=True)
        return await service.ledger.usage_attribution(org_id)

    @app.get("/api/v1/credits/balance")
    async def balance(caller: CallerDep):
        user = await service.ledger.user(caller.user_id)
        return {
            "credits": await service.balance(caller.user_id),
            "api_calls_used": await service.calls_used(caller.user_id),
            "api_calls_limit": user["api_calls_limit"],
            "tier": user["tier"],
        }

    @app.post("/api/v1/admin/credits/grant")
    async def grant(body: Grant, caller: CallerDep):
        if not caller.is_platform_admin:
            raise ApiError(403, "forbidden", "Only a platform administrator may grant credits.")
        user = await service.ledger.user_by_email(body.user_email)
        if user is None:
            raise ApiError(404, "user_not_found", "No Ops-Center user with that e-mail has signed in yet.")
        row = await service.ledger.grant(user["user_id"], body.credits, f"grant_{uuid.uuid4().hex}")
        await service.cache_balance(user["user_id"], row)
        return {"user_email": user["email"], "credits": row["credits"]}

    @app.post("/api/v1/settings/byok-keys", status_code=201)
    async def store_key(body: ByokKey, caller: CallerDep):
        hint = key_hint(body.api_key)
        ciphertext = service.fernet.encrypt(body.api_key.encode())
        await service.ledger.store_key(caller.user_id, body.provider, ciphertext, hint)
        return {"provider": body.provider, "key_hint": hint}

    @app.get("/api/v1/settings/byok-keys")
    async def list_keys(caller: CallerDep):
        keys = await service.ledger.key_hints(caller.user_id)
        return {"openrouter_configured": any(k["provider"] == "openrouter" for k in keys), "keys": keys}

    @app.post("/api/v1/llm/chat/completions")
    async def chat(
        body: ChatBody,
        caller: CallerDep,
        x_use_byok: Annotated[Literal["true", "false"] | None, Header()] = None,
        x_request_id: Annotated[str | None, Header()] = None,
    ):
        return await service.chat(caller, body, x_use_byok, x_request_id)

    return app
