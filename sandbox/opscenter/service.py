"""The reference Ops-Center's business: identity, quota, balances, organizations, keys and billing.

Nothing here knows HTTP. Every refusal is a `Refused` with a reason code from docs/contract.md;
app.py maps reason codes to statuses, and routers/ hold one router per resource.
"""

import asyncio
import calendar
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import httpx
import redis.asyncio as redis
from cryptography.fernet import Fernet

from sandbox.opscenter.auth import AuthError, Caller, TokenVerifier
from sandbox.opscenter.ledger import AllocationRejected, Ledger
from sandbox.opscenter.payments import Holder, PaymentRefused, Payments, SignatureError, Stripe
from sandbox.opscenter.settings import TIER_CALL_LIMITS, Settings

log = logging.getLogger("ops-center")

# Sets a cached balance only when its version is newer, so racing writers never leave a stale value.
SET_IF_NEWER = """
local current = redis.call('HGET', KEYS[1], 'version')
if current == false or tonumber(current) < tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 'credits', ARGV[1], 'version', ARGV[2])
end
return 1
"""


class Refused(Exception):
    """The contract's refusal: a reason code, a sentence for people, and the facts that go with it."""

    def __init__(self, code: str, detail: str, **facts):
        super().__init__(detail)
        self.code, self.detail, self.facts = code, detail, facts
        self.quota: QuotaState | None = None


@dataclass(frozen=True)
class QuotaState:
    limit: int
    used: int
    reset: int  # Unix seconds when the period resets
    period: str


def current_period() -> tuple[str, int]:
    now = datetime.now(UTC)
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return f"{now:%Y-%m}", calendar.timegm((year, month, 1, 0, 0, 0))


def already_billed(answer: httpx.Response) -> bool:
    """Lago's refusal of a usage event whose transaction id it already holds: the usage is billed once."""
    if answer.status_code != 422:
        return False
    try:
        details = answer.json().get("error_details", {})
    except ValueError:
        return False
    return "value_already_exist" in details.get("transaction_id", [])


def key_hint(api_key: str) -> str:
    return f"{api_key[:6]}...{api_key[-4:]}"


async def keep_session(connection: asyncpg.Connection) -> None:
    """What a connection needs before it goes back to the pool beyond asyncpg's own ending of an open transaction:
    nothing, as the reference sets no session state (no SET, LISTEN, advisory lock or cursor). asyncpg's default
    reset, four statements sent on every release, undid nothing and cost a round trip per query."""


class OpsCenter:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.settling: set[asyncio.Task] = set()

    async def start(self) -> None:
        # Idle connections are dropped before uvicorn's 5 s keep-alive ends, so that a call is never sent
        # on a connection the server is closing at that moment.
        self.http = httpx.AsyncClient(limits=httpx.Limits(max_connections=400, max_keepalive_connections=100,
                                                          keepalive_expiry=2))
        self.pg = await asyncpg.create_pool(self.settings.database_url, min_size=2, max_size=20,
                                            reset=keep_session)
        self.ledger = Ledger(self.pg)
        self.redis = redis.from_url(self.settings.redis_url, decode_responses=True)
        self.set_if_newer = self.redis.register_script(SET_IF_NEWER)
        self.verifier = TokenVerifier(self.http, self.settings.keycloak_url, self.settings.realm,
                                      self.settings.client_id)
        self.fernet = Fernet(self.settings.byok_encryption_key.encode())
        self.stripe = Stripe(self.http, self.settings.stripe_api_base, self.settings.stripe_secret_key)
        self.payments = Payments(self.pg, self.stripe, self.settings.stripe_webhook_secret,
                                 self.settings.starter_card, self.cache_balance)

    def keep(self, task: asyncio.Task) -> None:
        """Holds a streamed call's settlement until it ends (the event loop keeps only weak references)."""
        self.settling.add(task)
        task.add_done_callback(self.settling.discard)

    async def stop(self) -> None:
        if self.settling:
            await asyncio.wait(self.settling, timeout=30)
        await self.pg.close()
        await self.redis.aclose()
        await self.http.aclose()

    # -- identity and provisioning -------------------------------------------------------------
    async def caller(self, credentials: str | None) -> Caller:
        try:
            caller = await self.verifier.verify(credentials)
        except AuthError as error:
            raise Refused("unauthorized", str(error)) from None
        limit = TIER_CALL_LIMITS.get(caller.tier, TIER_CALL_LIMITS["trial"])
        if await self.ledger.ensure_user(caller.user_id, caller.email, caller.tier, limit):
            await self.bill_signup(caller.user_id, caller.email, caller.tier)
        return caller

    # -- balances ------------------------------------------------------------------------------
    async def cache_balance(self, user_id: str, row) -> None:
        await self.set_if_newer(keys=[f"balance:{user_id}"], args=[row["credits"], row["version"]])

    async def balance(self, user_id: str) -> int:
        cached = await self.redis.hget(f"balance:{user_id}", "credits")
        if cached is not None:
            return int(cached)
        row = await self.ledger.user(user_id)
        await self.cache_balance(user_id, row)
        return row["credits"]

    async def account(self, caller: Caller) -> dict:
        user = await self.ledger.user(caller.user_id)
        return {"credits": await self.balance(caller.user_id), "api_calls_used": await self.calls_used(caller.user_id),
                "api_calls_limit": user["api_calls_limit"], "tier": user["tier"]}

    async def account_named(self, user_id: str | None, email: str | None):
        """The one account a request names: by its id, or by an e-mail that names no other account."""
        if user_id is not None:
            user = await self.ledger.user(user_id)
            if user is None:
                raise Refused("user_not_found", "No Ops-Center user with that id has signed in yet.")
            return user
        users = await self.ledger.users_by_email(email)
        if not users:
            raise Refused("user_not_found", "No Ops-Center user with that e-mail has signed in yet.")
        if len(users) > 1:
            raise Refused("ambiguous_email", f"That e-mail names {len(users)} accounts (an account removed and "
                          "created again keeps its e-mail); name the account by its id.")
        return users[0]

    async def grant(self, caller: Caller, user_id: str | None, email: str | None, credits: int) -> dict:
        if not caller.is_platform_admin:
            raise Refused("forbidden", "Only a platform administrator may grant credits.")
        user = await self.account_named(user_id, email)
        row = await self.ledger.grant(user["user_id"], credits, f"grant_{uuid.uuid4().hex}", caller.user_id)
        await self.cache_balance(user["user_id"], row)
        return {"user_email": user["email"], "credits": row["credits"]}

    # -- quota ----------------------------------------------------------------------------------
    async def take_call(self, caller: Caller) -> QuotaState:
        """Counts the call against the period's quota; refused past the plan's limit."""
        limit = (await self.ledger.user(caller.user_id))["api_calls_limit"]
        period, reset = current_period()
        key = f"quota:{caller.user_id}:{period}"
        used = await self.redis.incr(key)
        if used == 1:
            await self.redis.expireat(key, reset + 86_400)
        if used > limit:
            await self.redis.decr(key)
            refusal = Refused("quota_exceeded",
                              f"The {limit:,} API calls of this period are used up; the quota resets at {reset}.")
            refusal.quota = QuotaState(limit, limit, reset, period)
            raise refusal
        return QuotaState(limit, used, reset, period)

    async def return_call(self, caller: Caller, quota: QuotaState) -> QuotaState:
        """A call that was not served gives its API call back."""
        await self.redis.decr(f"quota:{caller.user_id}:{quota.period}")
        return QuotaState(quota.limit, quota.used - 1, quota.reset, quota.period)

    # -- request ids --------------------------------------------------------------------------------
    REQUEST_ID_TTL_S = 86_400

    async def claim_request_id(self, caller: Caller, request_id: str, fingerprint: str) -> str | None:
        """Claims the caller's request id for a request; returns the fingerprint of an earlier claim, if any."""
        key = f"request:{caller.user_id}:{request_id}"
        if await self.redis.set(key, fingerprint, nx=True, ex=self.REQUEST_ID_TTL_S):
            return None
        return await self.redis.get(key) or fingerprint

    async def release_request_id(self, caller: Caller, request_id: str) -> None:
        """A request that was not served gives its id back, so that the client may retry it."""
        await self.redis.delete(f"request:{caller.user_id}:{request_id}")

    async def calls_used(self, user_id: str) -> int:
        period, _ = current_period()
        used = await self.redis.get(f"quota:{user_id}:{period}")
        return int(used) if used is not None else await self.ledger.calls_in_period(user_id, period)

    # -- Lago -----------------------------------------------------------------------------------
    async def lago(self, method: str, path: str, json: dict | None = None) -> None:
        """Billing is told, never asked: a Lago outage must not fail a user's call."""
        try:
            answer = await self.http.request(
                method, f"{self.settings.lago_url}/api/v1{path}", json=json, timeout=5,
                headers={"Authorization": f"Bearer {self.settings.lago_key}"},
            )
            if already_billed(answer):
                log.info("lago %s %s: already received, not sent again", method, path)
            elif answer.status_code >= 400:
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
            raise Refused("org_not_found", "No such organization among yours.")
        if admin and role != "admin":
            raise Refused("forbidden", "Only an organization admin may do this.")
        return role

    async def create_org(self, caller: Caller, name: str, tier: str) -> dict:
        org_id = f"org_{uuid.uuid4()}"
        await self.ledger.create_org(org_id, name, tier, caller.user_id, caller.email)
        await self.bill_signup(org_id, caller.email, tier)
        return {"id": org_id, "name": name, "subscription_tier": tier}

    async def delete_org(self, caller: Caller, org_id: str) -> None:
        await self.org_role(org_id, caller, admin=True)
        await self.ledger.delete_org(org_id)
        await self.lago("DELETE", f"/subscriptions/sub_{org_id}")

    async def invite(self, caller: Caller, org_id: str, user_id: str | None, email: str | None, role: str) -> dict:
        await self.org_role(org_id, caller, admin=True)
        user = await self.account_named(user_id, email)
        if not await self.ledger.add_member(org_id, user["user_id"], user["email"], role):
            raise Refused("already_member", "That user is already a member of this organization.")
        return {"org_id": org_id, "email": user["email"], "role": role}

    # -- money in ------------------------------------------------------------------------------
    async def purchase(self, caller: Caller, org_id: str, amount: int) -> tuple[bool, dict]:
        """(credited, answer): the organization's purchase, paid with its card on file."""
        await self.org_role(org_id, caller, admin=True)
        payment = await self.paying(self.payments.buy(Holder("organization", org_id, caller.email), caller.user_id,
                                                      amount))
        return payment["status"] == "paid", {"total_credits": (await self.ledger.org_credits(org_id))["total_credits"],
                                             **payment}

    async def own_purchase(self, caller: Caller, amount: int) -> tuple[bool, dict]:
        """(credited, answer): a user's purchase of credits for themself."""
        payment = await self.paying(self.payments.buy(Holder("user", caller.user_id, caller.email), caller.user_id,
                                                      amount))
        return payment["status"] == "paid", {"balance": (await self.ledger.user(caller.user_id))["credits"], **payment}

    async def card_on_file(self, caller: Caller, org_id: str | None, payment_method: str) -> dict:
        if org_id is not None:
            await self.org_role(org_id, caller, admin=True)
        holder = Holder("organization", org_id, caller.email) if org_id else Holder("user", caller.user_id,
                                                                                   caller.email)
        return await self.paying(self.payments.put_card_on_file(holder, payment_method))

    async def refund(self, caller: Caller, payment_id: str, credits: int | None) -> dict:
        if not caller.is_platform_admin:
            raise Refused("forbidden", "Only a platform administrator may refund a purchase.")
        return await self.paying(self.payments.refund(payment_id, credits))

    async def payment_event(self, payload: bytes, signature: str | None) -> dict:
        try:
            return await self.paying(self.payments.receive(payload, signature))
        except SignatureError as error:
            raise Refused("invalid_signature", f"Not an event of the payment provider: {error}.") from None

    @staticmethod
    async def paying(payment):
        """The payment provider's refusal as the contract's: a declined card or an unconfirmed payment is 402."""
        try:
            return await payment
        except PaymentRefused as refusal:
            if refusal.code == "card_declined":
                raise Refused("payment_declined", f"The card was declined: {refusal.message}") from None
            if refusal.code in ("authentication_required", "no_payment_method"):
                raise Refused("payment_incomplete", f"No payment was made: {refusal.message}") from None
            if refusal.code in ("payment_not_found", "credits_spent", "refund_exceeds_purchase", "invalid_request"):
                raise Refused(refusal.code, refusal.message) from None
            if refusal.status == 404:
                raise Refused("invalid_request", "The request is not valid: payment_method: the payment provider "
                              "knows no such payment method.", fields=["payment_method"]) from None
            raise Refused("payment_provider_error", f"The payment provider refused: {refusal.message}") from None

    async def allocate(self, caller: Caller, org_id: str, user_id: str | None, email: str | None,
                       credits: int) -> dict:
        await self.org_role(org_id, caller, admin=True)
        members = ([await self.ledger.member(org_id, user_id)] if user_id is not None
                   else await self.ledger.members_by_email(org_id, email))
        members = [member for member in members if member is not None]
        if not members:
            raise Refused("member_not_found", "That account is not a member of this organization.")
        if len(members) > 1:
            raise Refused("ambiguous_email", "That e-mail names more than one member; name the member by its id.")
        member = members[0]
        try:
            row = await self.ledger.allocate(org_id, member["user_id"], credits)
        except AllocationRejected as error:
            raise Refused("allocation_rejected", f"The allocation was refused: {error}.") from None
        return {"user_email": member["email"], **dict(row)}

    async def org_credits(self, caller: Caller, org_id: str) -> dict:
        await self.org_role(org_id, caller, admin=True)
        return await self.ledger.org_credits(org_id)

    async def my_allocation(self, caller: Caller, org_id: str) -> dict:
        await self.org_role(org_id, caller, admin=False)
        return await self.ledger.allocation(org_id, caller.user_id)

    async def usage_attribution(self, caller: Caller, org_id: str) -> list[dict]:
        await self.org_role(org_id, caller, admin=True)
        return await self.ledger.usage_attribution(org_id)

    # -- BYOK -----------------------------------------------------------------------------------
    async def store_key(self, caller: Caller, provider: str, api_key: str) -> dict:
        hint = key_hint(api_key)
        await self.ledger.store_key(caller.user_id, provider, self.fernet.encrypt(api_key.encode()), hint)
        return {"provider": provider, "key_hint": hint}

    async def key_settings(self, caller: Caller) -> dict:
        keys = await self.ledger.key_hints(caller.user_id)
        return {"openrouter_configured": any(k["provider"] == "openrouter" for k in keys), "keys": keys}

    # -- health ---------------------------------------------------------------------------------
    async def health(self) -> dict[str, str]:
        settings = self.settings

        async def probe(url: str, key: str | None = None) -> None:
            headers = {"Authorization": f"Bearer {key}"} if key else {}
            (await self.http.get(url, headers=headers, timeout=5)).raise_for_status()

        probes = {
            "postgres": lambda: self.pg.fetchval("SELECT 1"),
            "redis": self.redis.ping,
            "keycloak": self.verifier.refresh,
            "litellm": lambda: probe(f"{settings.litellm_url}/health/liveliness"),
            "lago": lambda: probe(f"{settings.lago_url}/api/v1/plans", settings.lago_key),
            "payments": lambda: self.stripe.call("GET", "/balance"),
        }
        checks = {}
        for name, check in probes.items():
            try:
                await check()
                checks[name] = "ok"
            except Exception as error:  # a health report names every failure, whatever its kind
                checks[name] = f"{type(error).__name__}: {error}"[:200]
        return checks
