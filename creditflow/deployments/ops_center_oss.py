"""The ops-center-oss deployment: Ops-Center-OSS (github.com/Unicorn-Commander/Ops-Center-OSS) as it is built.

Its API is not the contract's: actors sign in through `POST /auth/direct-login` (the real Keycloak
checks the password) and carry the `session_token` cookie; organization credits live under
`/api/v1/org-billing/...`, members are named by their Keycloak id, BYOK keys under
`/api/v1/llm/byok/keys`; the cost of a call is `_metadata.cost_incurred`; credits are decimals (six
places) and organization debits are taken in thousandths. ../shared/notes/ops-center-oss-contract.md
maps each route, table and quirk to the product's source lines.

Three things a client of this product must do (notes §1.8), all done here: ask for an unencoded answer
(a compressed chat answer arrives empty), open a new connection per request (a 500 drops it), and read
the cookie from the raw `Set-Cookie` header.

Arrangements the product has no API for are named as such (`Arrangements`): a billed user needs a
`user_credits` row on a paying tier, and credits are given by writing a purchase; no assertion reads
what they wrote.
"""

import asyncio
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import asyncpg
import redis.asyncio as redis

from creditflow.config import Config
from creditflow.deployments.base import (
    Account,
    Allocation,
    Balance,
    BillingReader,
    ByokSettings,
    CacheReader,
    CallRequest,
    CallResult,
    Charge,
    ClaimedAddress,
    DeployedFinding,
    Deployment,
    ForeignSignIn,
    Hold,
    LedgerReader,
    Malformed,
    MemberUsage,
    MoneyIn,
    OrgRef,
    Payer,
    Pool,
    PriceList,
    ProductRefused,
    Purchase,
    Refusal,
    RefusalKind,
    Reply,
    Session,
    Statement,
    UsageEvent,
    Workaround,
)
from creditflow.deployments.http import (
    COMPRESSED,
    STATUS_KINDS,
    Answer,
    HttpClient,
    calls_left,
    claiming,
    conversation,
    credits,
    last_usage_event,
    malformed_body,
    meaning_of,
    names_given,
    owner_of,
    resets_at,
    retry_after,
    streamed_piece,
    unfinished_stream,
    unreadable,
)
from creditflow.deployments.oss_builds import OPS_CENTER_OSS, OssBuild, build_named, build_of
from creditflow.deployments.oss_payments import PACKAGES, OssPayments
from creditflow.evidence import Evidence
from creditflow.systems.identity import EMAIL_DOMAIN, Identity
from creditflow.systems.lago import Lago
from creditflow.systems.payment_provider import Delivery, PaymentProvider, PayWith
from creditflow.verdicts import CannotArrange, NotApplicable, TargetLacksPart

# The packages the product's page sells for a pool, credits to dollars (src/pages/organization/CreditPurchase.jsx,
# 44-66): the price it sends with a purchase, which nothing charges.
PAGE_PRICES = {1_000: "10", 5_000: "45", 10_000: "80"}
# How the product prices a chat call (litellm_credit_system.py): tokens / 1,000 x the provider's base
# price x the power level's multiplier x (1 + the tier's markup), to six places.
BASE_PER_1K = Decimal("0.015")  # openai/ and anthropic/ models, which is every model of the guide
BALANCED = Decimal("0.25")  # the default power level
MARKUP = {"free": Decimal(0), "trial": Decimal(0), "starter": Decimal("0.4"), "professional": Decimal("0.6"),
          "enterprise": Decimal("0.8")}
# The guide's plans as the product's wallet tiers (user_credits.tier allows free, trial, starter,
# professional, enterprise; "platform" is an organization plan, its members hold professional wallets).
WALLET_TIERS = {"trial": "trial", "professional": "professional", "platform": "professional"}
BEARER = "bearer"  # Session.presented_as of a Keycloak token
ANSWER_WITHIN_S = 20  # the guide expects an LLM call in 0.5 to 2 s; a request unanswered this long has hung
HOLD_AT_MOST_S = 5  # how long calls sent at once are held for the last of them to arrive
# A compressed chat answer arrives empty, and a 500 drops its connection: no compression, no reuse.
CLIENT_OPTIONS = {"headers": {"Accept-Encoding": "identity"}, "keepalive": False, "timeout_s": ANSWER_WITHIN_S,
                  "own_addresses": True}


class OssPrices(PriceList):
    smallest_amount = Decimal("0.000001")
    # An allocation is a whole number of credits in its API (org_billing_api.py:121, BIGINT columns in
    # create_org_billing.sql), while its organization debit counts thousandths (org_credit_integration.py:143, 224).
    allocation_unit = Decimal(1)

    def price(self, model: str, tokens: int, plan: str | None = None) -> Decimal:
        markup = MARKUP[WALLET_TIERS.get(plan or "professional", "professional")]
        cost = Decimal(tokens) / 1000 * BASE_PER_1K * BALANCED * (1 + markup)
        return cost.quantize(self.smallest_amount, rounding=ROUND_HALF_UP)



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
        resets_at=resets_at(answer), retry_after_s=retry_after(answer),
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


class OssApi:
    """The product's routes, one method each."""

    def __init__(self, http: HttpClient, build: OssBuild):
        self.http, self.build = http, build

    @staticmethod
    def _cookie(session: Session | None) -> dict[str, str]:
        """The session cookie; a token from an identity provider is presented as a bearer, as a client of the
        guide would present it."""
        if session is None or not session.secret:
            return {}
        if session.presented_as == BEARER:
            return {"Authorization": f"Bearer {session.secret}"}
        return {"Cookie": f"session_token={session.secret}"}

    async def send(self, session: Session | None, method: str, path: str, **kwargs) -> Answer:
        headers = self._cookie(session) | kwargs.pop("headers", {})
        owner, origin = (session.owner, session.origin) if session is not None else ("a stranger", "")
        return await self.http.send(owner, method, path, headers=headers, origin=origin, **kwargs)

    async def direct_login(self, username: str, password: str, origin: str = "", owner: str | None = None,
                           headers: dict[str, str] | None = None) -> Answer:
        return await self.http.send(owner or username.split("-")[0].title(), "POST", "/auth/direct-login",
                                    json={"username": username, "password": password}, origin=origin,
                                    headers=headers)

    async def logout(self, session: Session) -> Answer:
        return await self.send(session, "POST", "/api/v1/auth/logout")

    async def grant(self, session: Session, user_id: str | None, amount: Any) -> Answer:
        return await self.send(session, "POST", "/api/v1/credits/allocate",
                               json={"user_id": user_id, "amount": amount, "source": "manual"})

    async def track_usage(self, session: Session) -> Answer:
        """A free usage event of one call, as the product's own clients report one."""
        return await self.send(session, "POST", "/api/v1/credits/usage/track",
                               json={"service": "llm", "model": "gpt-3.5-turbo", "tokens": 100, "is_free": True})

    async def status(self) -> Answer:
        return await self.send(None, "GET", self.build.status_path)

    async def balance(self, session: Session, user_id: str | None = None) -> Answer:
        params = {"user_id": user_id} if user_id else None
        return await self.send(session, "GET", "/api/v1/credits/balance", params=params)

    async def usage(self, session: Session) -> Answer:
        return await self.send(session, "GET", "/api/v1/usage/current")

    async def create_org(self, session: Session, name: str, plan: str) -> Answer:
        return await self.send(session, "POST", "/api/v1/org", json={"name": name, "plan_tier": plan})

    async def delete_org(self, session: Session, org_id: str) -> Answer:
        return await self.send(session, "DELETE", f"/api/v1/org/{org_id}", params={"confirm": "true"})

    async def add_member(self, session: Session, org_id: str, user_id: str | None, email: str | None = None) -> Answer:
        """The member named by `user_id`, or by `email` where the build takes one (saashqdev's OrganizationMemberAdd,
        org_api.py:33-39)."""
        return await self.send(session, "POST", f"/api/v1/org/{org_id}/members",
                               json={**names_given(user_id=user_id, email=email), "role": "member"})

    async def buy_credits(self, session: Session, dollars: Any, stripe_token: str) -> Answer:
        return await self.send(session, "POST", "/api/v1/llm/credits/purchase",
                               json={"amount": dollars, "stripe_token": stripe_token})

    async def add_pool_credits(self, session: Session, org_id: str, amount: Any, price: str) -> Answer:
        return await self.send(session, "POST", f"/api/v1/org-billing/credits/{org_id}/add",
                               params={"credits": amount, "purchase_amount": price})

    async def allocate(self, session: Session, org_id: str, user_id: str | None, amount: Any) -> Answer:
        """The member named by `user_id`, or (a request the product should refuse) named not at all."""
        return await self.send(session, "POST", f"/api/v1/org-billing/credits/{org_id}/allocate",
                               json={**names_given(user_id=user_id), "allocated_credits": amount,
                                     "reset_period": "monthly"})

    async def pool(self, session: Session, org_id: str) -> Answer:
        return await self.send(session, "GET", f"/api/v1/org-billing/credits/{org_id}")

    async def my_billing(self, session: Session) -> Answer:
        return await self.send(session, "GET", "/api/v1/org-billing/billing/user")

    async def org_usage(self, session: Session, org_id: str) -> Answer:
        return await self.send(session, "GET", f"/api/v1/org-billing/credits/{org_id}/usage", params={"days": 30})

    async def store_key(self, session: Session, provider: str, key: str) -> Answer:
        return await self.send(session, "POST", "/api/v1/llm/byok/keys", json={"provider": provider, "api_key": key})

    async def keys(self, session: Session, user_id: str | None = None) -> Answer:
        params = {"user_id": user_id} if user_id else None
        return await self.send(session, "GET", "/api/v1/llm/byok/keys", params=params)

    async def chat(self, session: Session, body: Any, request_id: str | None = None,
                   compressed: bool = False) -> Answer:
        headers = {"Accept-Encoding": COMPRESSED} if compressed else {}
        if request_id:
            headers["X-Request-ID"] = request_id
        if isinstance(body, str):
            return await self.send(session, "POST", "/api/v1/llm/chat/completions", content=body, headers=headers)
        return await self.send(session, "POST", "/api/v1/llm/chat/completions", json=body, headers=headers)

    async def stream_chat(self, session: Session, body: dict, request_id: str | None,
                          leave_after: int | None) -> Answer:
        headers = self._cookie(session) | ({"X-Request-ID": request_id} if request_id else {})
        return await self.http.stream(session.owner, "/api/v1/llm/chat/completions", json=body | {"stream": True},
                                      headers=headers, leave_after=leave_after, origin=session.origin)


class Arrangements:
    """What the product has no API for, written the way the product writes it: named, never asserted on."""

    def __init__(self, pool: asyncpg.Pool, redis_url: str):
        self.pool = pool
        self._redis = redis.from_url(redis_url, decode_responses=True)

    async def open_wallet(self, user_id: str, plan: str) -> None:
        """A `user_credits` row on a paying tier: without one the product treats the user as free (exempt)."""
        await self.pool.execute(
            """INSERT INTO user_credits (user_id, credits_remaining, tier) VALUES ($1, 0, $2)
               ON CONFLICT (user_id) DO UPDATE SET tier = EXCLUDED.tier""",
            user_id, WALLET_TIERS[plan],
        )

    async def give_credits(self, user_id: str, amount: Decimal) -> None:
        """A purchase of credits: the wallet grows, a `purchase` transaction records it, the cached balance goes."""
        async with self.pool.acquire() as connection, connection.transaction():
            await connection.execute(
                """INSERT INTO credit_transactions (user_id, amount, transaction_type, metadata)
                   VALUES ($1, $2, 'purchase', '{"source": "creditflow arrangement"}'::jsonb)""",
                user_id, amount,
            )
            await connection.execute(
                "UPDATE user_credits SET credits_remaining = credits_remaining + $2 WHERE user_id = $1", user_id, amount
            )
        # As the product's own credit_credits does (litellm_credit_system.py:446-500): its cached balance is dropped.
        await self._redis.delete(f"credits:balance:{user_id}")

    async def close(self) -> None:
        await self.pool.close()
        await self._redis.aclose()


class ProviderLookupHold(Hold):
    """Calls held at their first step on the product's side, the provider lookup (litellm_api.py:1111-1126), by a
    lock on `llm_providers`, then let go together: calls sent at once are then in flight at once in every run."""

    def __init__(self, connection: asyncpg.Connection, transaction, pool: asyncpg.Pool):
        self._connection, self._transaction, self._pool = connection, transaction, pool

    @classmethod
    async def taken(cls, pool: asyncpg.Pool) -> "ProviderLookupHold":
        connection = await pool.acquire()
        transaction = connection.transaction()
        await transaction.start()
        await connection.execute("LOCK TABLE llm_providers IN ACCESS EXCLUSIVE MODE")
        return cls(connection, transaction, pool)

    async def release(self, in_flight: int) -> None:
        try:
            deadline, seen, steady_since = time.monotonic() + HOLD_AT_MOST_S, -1, time.monotonic()
            while time.monotonic() < deadline:
                waiting = await self._connection.fetchval(
                    """SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
                       AND wait_event_type = 'Lock' AND query ILIKE '%llm_providers%' AND pid <> pg_backend_pid()""")
                if waiting >= in_flight or (waiting and waiting == seen and time.monotonic() - steady_since > 1):
                    break  # all arrived, or no more arrive: the rest wait for a connection of the product's pool
                if waiting != seen:
                    seen, steady_since = waiting, time.monotonic()
                await asyncio.sleep(0.05)
        finally:
            await self._transaction.rollback()
            await self._pool.release(self._connection)


class OssLedger(LedgerReader):
    """The product's credit tables (notes §4): wallets, transactions, pools, allocations, attribution."""

    def __init__(self, pool: asyncpg.Pool):
        self._pool = pool

    async def close(self) -> None:
        await self._pool.close()

    async def own_balance(self, user_id: str) -> Decimal | None:
        return await self._pool.fetchval("SELECT credits_remaining FROM user_credits WHERE user_id = $1", user_id)

    async def charges(self, user_id: str, org_id: str | None = None) -> list[Charge]:
        if org_id is not None:
            rows = await self._pool.fetch(
                """SELECT request_id, user_id, org_id::text, credits_used::numeric AS credits, service_name AS model,
                          NULL::int AS tokens FROM credit_usage_attribution
                   WHERE user_id = $1 AND org_id::text = $2 ORDER BY created_at""", user_id, org_id)
        else:
            rows = await self._pool.fetch(
                """SELECT id::text AS request_id, user_id, NULL AS org_id, -amount AS credits, model,
                          tokens_used AS tokens FROM credit_transactions
                   WHERE user_id = $1 AND transaction_type = 'usage' ORDER BY created_at""", user_id)
        return [Charge(**dict(row)) for row in rows]

    async def org_charges(self, org_id: str) -> list[Charge]:
        rows = await self._pool.fetch(
            """SELECT request_id, user_id, org_id::text, credits_used::numeric AS credits, service_name AS model,
                      NULL::int AS tokens FROM credit_usage_attribution WHERE org_id::text = $1""", org_id)
        return [Charge(**dict(row)) for row in rows]

    async def mark(self) -> datetime:
        return await self._pool.fetchval("SELECT clock_timestamp()")

    async def charged_after(self, mark: datetime) -> list[Charge]:
        """A user's debits (credit_transactions) and a member's charges to an organization (usage attribution). The
        product's tables keep no e-mail to tell the suite's accounts by; a product is graded by one run at a time."""
        rows = await self._pool.fetch(
            """SELECT id::text AS request_id, user_id, NULL AS org_id, -amount AS credits, model, tokens_used AS tokens
               FROM credit_transactions WHERE transaction_type = 'usage' AND created_at > $1
               UNION ALL
               SELECT request_id, user_id, org_id::text, credits_used::numeric, service_name, NULL::int
               FROM credit_usage_attribution WHERE created_at > $1""", mark)
        return [Charge(**dict(row)) for row in rows]

    async def orgs_created_by(self, user_id: str) -> list[str]:
        """The product makes an organization's creator its owner (org_api.py)."""
        rows = await self._pool.fetch(
            "SELECT org_id::text AS id FROM organization_members WHERE user_id = $1 AND role = 'owner'", user_id)
        return [row["id"] for row in rows]

    async def members(self, org_id: str) -> list[str]:
        rows = await self._pool.fetch("SELECT user_id FROM organization_members WHERE org_id::text = $1", org_id)
        return [row["user_id"] for row in rows]

    async def own_statement(self, user_id: str) -> Statement | None:
        row = await self._pool.fetchrow(
            """SELECT w.credits_remaining AS left,
                      (SELECT COALESCE(-sum(amount), 0) FROM credit_transactions t
                        WHERE t.user_id = w.user_id AND t.transaction_type = 'usage') AS charged
               FROM user_credits w WHERE w.user_id = $1""", user_id)
        return None if row is None else Statement(Decimal(row["left"]), Decimal(row["charged"]))

    async def org_statement(self, org_id: str) -> Statement | None:
        """The pool's credits not yet used, and what its members' calls were charged (usage attribution)."""
        row = await self._pool.fetchrow(
            """SELECT p.total_credits - p.used_credits AS left,
                      (SELECT COALESCE(sum(credits_used), 0) FROM credit_usage_attribution u
                        WHERE u.org_id = p.org_id) AS charged
               FROM organization_credit_pools p WHERE p.org_id::text = $1""", org_id)
        return None if row is None else Statement(Decimal(row["left"]), Decimal(row["charged"]))

    async def calls_counted(self, user_id: str) -> int | None:
        """The product's usage tracking: one `usage_events` row per call it served."""
        return await self._pool.fetchval("SELECT count(*) FROM usage_events WHERE user_id = $1", user_id)

    async def stored_byok_keys(self, user_id: str) -> list[bytes]:
        rows = await self._pool.fetch("SELECT api_key_encrypted FROM user_provider_keys WHERE user_id = $1", user_id)
        return [row["api_key_encrypted"].encode() for row in rows]

    async def user_violations(self, user_id: str) -> tuple[list[str], list[dict]]:
        row = await self._pool.fetchrow(
            """SELECT w.user_id, w.credits_remaining, w.tier,
                      (SELECT COALESCE(sum(amount), 0) FROM credit_transactions t WHERE t.user_id = w.user_id)
                        AS transactions_sum
               FROM user_credits w WHERE w.user_id = $1""", user_id)
        if row is None:
            return [], []
        problems = []
        if row["credits_remaining"] < 0:
            problems.append(f"{user_id} has a negative balance of {row['credits_remaining']} credits")
        if row["credits_remaining"] != row["transactions_sum"]:
            problems.append(f"{user_id}'s balance of {row['credits_remaining']} credits differs from the "
                            f"{row['transactions_sum']} credits its transactions add up to")
        return problems, [dict(row)]

    async def org_violations(self, org_id: str) -> tuple[list[str], list[dict]]:
        pool = await self._pool.fetchrow(
            """SELECT total_credits, allocated_credits, used_credits FROM organization_credit_pools
               WHERE org_id::text = $1""", org_id)
        members = await self._pool.fetch(
            """SELECT a.user_id, a.allocated_credits, a.used_credits,
                      (SELECT COALESCE(sum(credits_used), 0) FROM credit_usage_attribution u
                        WHERE u.org_id = a.org_id AND u.user_id = a.user_id) AS attributed
               FROM user_credit_allocations a WHERE a.org_id::text = $1""", org_id)
        problems = []
        for row in members:
            if row["used_credits"] > row["allocated_credits"] or row["used_credits"] < 0:
                problems.append(f"member {row['user_id']} of {org_id} used {row['used_credits']} of "
                                f"{row['allocated_credits']} allocated credits")
            if row["used_credits"] != row["attributed"]:
                problems.append(f"member {row['user_id']} of {org_id} used {row['used_credits']} credits but "
                                f"{row['attributed']} are attributed to them")
        if pool is not None:
            if pool["allocated_credits"] > pool["total_credits"]:
                problems.append(f"the allocations of {org_id} ({pool['allocated_credits']}) exceed its pool "
                                f"({pool['total_credits']})")
            used = sum(row["used_credits"] for row in members)
            if pool["used_credits"] != used:
                problems.append(f"the pool of {org_id} shows {pool['used_credits']} credits used, its members {used}")
        return problems, ([dict(pool)] if pool is not None else []) + [dict(row) for row in members]


class OssCache(CacheReader):
    """The product's Redis keys: `credits:balance:<user>` (60 s) and the usage counters it would keep."""

    def __init__(self, url: str):
        self._redis = redis.from_url(url, decode_responses=True)

    async def close(self) -> None:
        await self._redis.aclose()

    async def cached_balance(self, user_id: str) -> Decimal | None:
        return credits(await self._redis.get(f"credits:balance:{user_id}"))

    async def calls_this_period(self, user_id: str) -> int | None:
        value = await self._redis.get(f"usage:{user_id}:current:calls")
        return None if value is None else int(value)


class OssBilling(BillingReader):
    """What the product tells Lago: customers by organization id, `api_call` events."""

    async def usage_event(self, call: CallResult) -> UsageEvent | None:
        event = await self._lago.usage_event(call.request_id)
        if event is None:
            return None
        properties = event.properties or {}
        model = str(properties.get("model") or "")
        return UsageEvent(model=model.split("/")[-1] or None, tokens=properties.get("tokens"),
                          credits=credits(properties.get("cost")), customer=event.external_customer_id,
                          member=properties.get("user_id"))


class OpsCenterOssDeployment(Deployment):
    name = "ops-center-oss"
    openapi_path = "/openapi.json"
    session_max_age_s = 3600  # renewed at half the product's session of 2 hours (redis_session.py:22, every build)
    # What the class declares is the newest build's; each deployment declares its own build's (oss_builds.py).
    lacks, limits, in_flight_at_most = OPS_CENTER_OSS.lacks, OPS_CENTER_OSS.limits, OPS_CENTER_OSS.in_flight_at_most
    workarounds, deployed_findings = OPS_CENTER_OSS.workarounds, OPS_CENTER_OSS.deployed_findings

    def __init__(self, build: OssBuild, api: OssApi, identity: Identity, arrangements: Arrangements | None,
                 ledger: OssLedger | None, cache: OssCache | None, billing: OssBilling | None,
                 provider: PaymentProvider | None = None):
        self.build = build
        self.lacks, self.limits, self.in_flight_at_most = build.lacks, build.limits, build.in_flight_at_most
        self.workarounds, self.deployed_findings = build.workarounds, build.deployed_findings
        self.api, self.identity, self.arrangements = api, identity, arrangements
        self.prices = OssPrices()
        self.ledger, self.cache, self.billing = ledger, cache, billing
        self.provider = provider
        self.payments = OssPayments(provider)
        self._cards: dict[str, str] = {}  # the payment method each sign-in pays with, as the product's page holds it
        self.profiles: dict[str, dict] = {}  # what the product's sign-in said of each session's user
        self._administrator: tuple[Account, Session] | None = None

    @classmethod
    async def connect(cls, config: Config, evidence: Evidence, run_marks: dict[str, str]) -> "OpsCenterOssDeployment":
        identity = Identity(config.keycloak_url, config.keycloak_realm, config.keycloak_client_id,
                            config.keycloak_client_secret, config.keycloak_admin_user, config.keycloak_admin_password,
                            run_marks)
        password = config.database_password or None
        reader = await asyncpg.create_pool(config.database_url, password=password, min_size=1, max_size=4,
                                           server_settings={"default_transaction_read_only": "on"})
        writer = await asyncpg.create_pool(config.database_url, password=password, min_size=1, max_size=2)
        http = HttpClient(config.ops_center_url, evidence, **CLIENT_OPTIONS)
        provider = PaymentProvider(config.payments_url, config.payments_api_key,
                                   config.payments_webhook_secret) if config.payments_url else None
        return cls(build_of(config), OssApi(http, build_of(config)), identity, Arrangements(writer, config.redis_url),
                   OssLedger(reader), OssCache(config.redis_url),
                   OssBilling(Lago(config.lago_url, config.lago_api_key)), provider)

    @classmethod
    def declared_for(cls, config: Config) -> tuple[tuple[Workaround, ...], tuple[DeployedFinding, ...]]:
        build = build_of(config)
        return build.workarounds, build.deployed_findings

    @classmethod
    def requests_only(cls, ops_center_url: str, client, identity, build: str = "") -> "OpsCenterOssDeployment":
        known = build_named(build)
        return cls(known, OssApi(client(ops_center_url, **CLIENT_OPTIONS), known), identity, None, None, None, None)

    @property
    def unanswered(self) -> int:
        return self.api.http.unanswered

    async def close(self) -> None:
        if self._administrator is not None:
            await self.remove(self._administrator[0])
        await self.api.http.close()
        await self.arrangements.close()
        await self.ledger.close()
        if self.provider is not None:
            await self.provider.close()
        await self.cache.close()

    # -- people -------------------------------------------------------------------------------
    async def enroll(self, username: str, plan: str, owner: str, platform_admin: bool = False,
                     arranged: bool = True) -> tuple[Account, Session]:
        account = await self.identity.create_account(username, f"{username}{EMAIL_DOMAIN}", plan, platform_admin)
        if arranged:
            await self.arrangements.open_wallet(account.user_id, plan)
        return account, await self.sign_in(account, owner)

    async def remove(self, account: Account) -> None:
        await self.identity.delete_account(account.user_id)

    async def sign_in(self, account: Account, owner: str) -> Session:
        origin = self.api.http.origin_for(account.username)
        answer = await self.api.direct_login(account.username, account.password, origin)
        cookie = next((part.split("=", 1)[1] for part in answer.headers.get("set-cookie", "").split(";")
                       if part.strip().startswith("session_token=")), None)
        if not answer.ok or cookie is None:
            refused = refusal(answer)
            raise ProductRefused(f"Ops-Center refused the sign-in of {owner}: {refused.describe()}", refused)
        self.profiles[cookie] = answer.field("user") or {}
        return Session(cookie, time.monotonic(), answer.elapsed_ms, owner, origin=origin)

    async def sign_in_with(self, account: Account, secret: str, sender: Account,
                           claim: ClaimedAddress | None = None) -> Reply[None]:
        answer = await self.api.direct_login(account.username, secret, self.api.http.origin_for(sender.username),
                                             owner_of(sender), claiming(claim))
        # 200 signed in, 401 wrong credentials (server.py:5999-6000), 429 too many attempts with Retry-After
        # (server.py:5853-5857)
        return reply(answer)

    async def present_sign_in(self, sender: Account, session: Session, valid: bool,
                              claim: ClaimedAddress | None = None) -> Reply[None]:
        """The product's sign-in, the only route its limit on sign-ins guards (server.py:5836): the sender's own
        password, or a wrong one."""
        return await self.sign_in_with(sender, sender.password if valid else f"not-{sender.password}", sender, claim)

    async def plan_in_identity(self, session: Session) -> tuple[str | None, str | None]:
        """What the product's sign-in read from Keycloak's userinfo for this session's user."""
        profile = self.profiles.get(session.secret, {})
        return profile.get("email"), profile.get("subscription_tier")

    async def stranger_sessions(self) -> list[Session]:
        return [Session(secret, 0.0) for secret in ("", "not-a-session", secrets.token_urlsafe(32))]

    async def balance(self, session: Session, naming: Account | None = None) -> Reply[Balance]:
        answer = await self.api.balance(session, naming.user_id if naming else None)
        if not answer.ok:
            return reply(answer)
        usage = await self.api.usage(session)
        used = usage.field("api_calls_used") if usage.ok else None
        limit = usage.field("api_calls_limit") if usage.ok else None
        return reply(answer, Balance(credits(answer.field("balance")), used, limit, answer.field("tier")))

    async def grant_naming(self, operator: Session, user_id: str | None, email: str | None,
                           amount: Decimal) -> Reply[None]:
        if email is not None:
            raise NotApplicable(self.lacks["grant-by-email"])
        return reply(await self.api.grant(operator, user_id, plain(amount)))

    async def foreign_session(self, account: Account, kind: ForeignSignIn) -> Session:
        """Expired: a session the product itself ended (its logout); another realm: a token Keycloak signed for its
        master realm, presented as a bearer."""
        if kind is ForeignSignIn.EXPIRED:
            session = await self.sign_in(account, account.username.split("-")[0].title())
            answer = await self.api.logout(session)
            if not answer.ok:
                refused = refusal(answer)
                raise ProductRefused(f"Ops-Center did not end the session: {refused.describe()}", refused)
            return session
        return Session(await self.identity.other_realm_token(), time.monotonic(), presented_as=BEARER,
                       owner=account.username.split("-")[0].title(), origin=self.api.http.origin_for(account.username))

    async def forged_session(self, account: Account, forge: Callable[[str], Awaitable[str]]) -> Session:
        """Forged from a token Keycloak issued to the account, presented as a bearer: the chat route takes a bearer
        JWT beside its session cookie (get_user_id, backend/litellm_api.py:681-808), which it verifies as HS256 with
        the product's own secret (api_key_manager.py:37-38, :322-327)."""
        token, _ = await self.identity.sign_in(account.username, account.password)
        return Session(await forge(token), time.monotonic(), presented_as=BEARER,
                       owner=account.username.split("-")[0].title(), origin=self.api.http.origin_for(account.username))

    def tool_headers(self, session: Session) -> dict[str, str]:
        return OssApi._cookie(session)

    def money_in(self, method: str, path: str, query: dict[str, str], status: int, body: Any) -> MoneyIn | None:
        """A purchase into a pool: `POST /api/v1/org-billing/credits/{org}/add?credits=N` (org_billing_api.py)."""
        match = re.fullmatch(r"/api/v1/org-billing/credits/([^/]+)/add", path)
        if method != "POST" or not 200 <= status < 300 or match is None:
            return None
        try:
            return MoneyIn("organization", match.group(1), Decimal(query.get("credits", "")))
        except ArithmeticError:
            return None

    async def grant(self, operator: Session, account: Account, amount: Decimal) -> Reply[None]:
        return await self.grant_naming(operator, account.user_id, None, amount)

    async def arrange_credits(self, operator: Session, account: Account, amount: Decimal) -> Reply[None]:
        await self.arrangements.give_credits(account.user_id, amount)
        return Reply()

    async def arrange_calls_used(self, account: Account, used: int) -> None:
        raise CannotArrange(self.build.calls_uncounted)

    async def _admin(self) -> Session:
        """The product lets only a platform administrator delete an organization: the deployment keeps one."""
        if self._administrator is None:
            account = await self.identity.create_account(f"admin-{secrets.token_hex(4)}",
                                                         f"admin-{secrets.token_hex(4)}{EMAIL_DOMAIN}",
                                                         "professional", platform_admin=True)
            self._administrator = account, await self.sign_in(account, "Platform admin")
        return self._administrator[1]

    # -- organizations ------------------------------------------------------------------------
    async def create_org(self, admin: Session, name: str, plan: str) -> Reply[OrgRef]:
        answer = await self.api.create_org(admin, name, plan)
        org = answer.field("organization") or {}
        return reply(answer, OrgRef(str(org.get("id")), name) if answer.ok else None)

    async def delete_org(self, admin: Session, org: OrgRef) -> Reply[None]:
        return reply(await self.api.delete_org(admin, org.org_id))

    async def remove_org(self, admin: Session, org: OrgRef) -> Reply[None]:
        """The product lets only a platform administrator delete an organization; a build that cannot delete one says
        so (`org-deletion`)."""
        if "org-deletion" in self.lacks:
            raise NotApplicable(self.lacks["org-deletion"])
        return reply(await self.api.delete_org(await self._admin(), org.org_id))

    async def buy(self, admin: Session, org: OrgRef, amount: Any) -> Reply[Purchase]:
        """As the product's page buys a package (src/pages/organization/CreditPurchase.jsx:151-156): the credits and
        the page's own price, which nothing charges; the credits arrive with the answer (org_billing_api.py:532-597)."""
        price = PAGE_PRICES.get(amount, "0.00") if isinstance(amount, int | Decimal) else "0.00"
        answer = await self.api.add_pool_credits(admin, org.org_id, plain(amount), price)
        return reply(answer, Purchase(None, credited=True) if answer.ok else None)

    async def stock_pool(self, operator: Session, admin: Session, org: OrgRef, amount: Decimal) -> Reply[Purchase]:
        """The product takes no payment for a pool: its starting credits are a platform admin's grant, through the
        same route, which a system administrator may call for any organization (org_billing_api.py:557-561)."""
        answer = await self.api.add_pool_credits(operator, org.org_id, plain(amount), "0.00")
        return reply(answer, Purchase(None, credited=True, granted=True) if answer.ok else None)

    # -- money in -------------------------------------------------------------------------------
    async def buy_own(self, session: Session, amount: Any) -> Reply[Purchase]:
        """The product's card purchase (litellm_api.py:2242-2306): a package named by its price in dollars (PACKAGES),
        and a payment method its page makes at the provider (Stripe.js's part)."""
        card = self._cards.get(session.secret) or await self._payment_provider().payment_method(PayWith.CARD)
        priced = {credits: float(dollars) for dollars, credits in PACKAGES.items()}
        # An amount no package holds is sent at the $10 package's rate, 1,000 credits a dollar: the product refuses it,
        # as it refuses every amount its table lacks.
        dollars = priced.get(amount, float(amount) / PACKAGES[10] * 10) if isinstance(amount, int | Decimal) else amount
        answer = await self.api.buy_credits(session, dollars, card)
        return reply(answer, Purchase(answer.field("transaction_id"), credited=True) if answer.ok else None)

    async def put_on_file(self, session: Session, org: OrgRef | None, method: PayWith) -> Reply[None]:
        """A user keeps no card at the product: each purchase carries a payment method its page makes at the provider
        (CreditPurchaseRequest, litellm_api.py:373-375). The method is made now, as the page makes it from the card
        the user types, and sent with the user's next purchases in this sign-in."""
        if org is not None:
            raise NotApplicable(self.lacks["org-payments"])
        self._cards[session.secret] = await self._payment_provider().payment_method(method)
        return Reply()

    def _payment_provider(self) -> PaymentProvider:
        """The payment provider in the payer's browser's role (Stripe.js's): it makes the payment methods."""
        if self.provider is None:
            raise TargetLacksPart("this target names no payment provider (PAYMENTS_URL)")
        return self.provider

    async def refund(self, operator: Session, payment_id: str, credits: Decimal | None) -> Reply[Decimal]:
        raise NotApplicable(self.lacks["payment-refunds"])

    async def deliver(self, delivery: Delivery) -> Reply[None]:
        # The scenarios deliver again the event of an organization's payment, which the product never takes.
        raise NotApplicable(self.lacks["org-payments"])

    async def add_member(self, admin: Session, org: OrgRef, member: Account) -> Reply[None]:
        return await self.invite_naming(admin, org, member.user_id, None)

    async def invite_naming(self, admin: Session, org: OrgRef, user_id: str | None, email: str | None) -> Reply[None]:
        if email is not None and "invite-by-email" in self.lacks:
            raise NotApplicable(self.lacks["invite-by-email"])
        return reply(await self.api.add_member(admin, org.org_id, user_id, email))

    async def allocate(self, admin: Session, org: OrgRef, member: Account, amount: Any) -> Reply[Allocation]:
        return await self.allocate_naming(admin, org, member.user_id, None, amount)

    async def allocate_naming(self, admin: Session, org: OrgRef, user_id: str | None, email: str | None,
                              amount: Any) -> Reply[Allocation]:
        if email is not None:
            raise NotApplicable(self.lacks["allocate-by-email"])
        answer = await self.api.allocate(admin, org.org_id, user_id, plain(amount))
        return reply(answer, allocation(answer.body) if answer.ok else None)

    async def pool(self, session: Session, org: OrgRef) -> Reply[Pool]:
        answer = await self.api.pool(session, org.org_id)
        if not answer.ok:  # before its first purchase an organization has no pool: 404 "Credit pool not found"
            return reply(answer)
        total, used = credits(answer.field("total_credits")), credits(answer.field("used_credits"))
        return reply(answer, Pool(remaining=total - used, allocated=credits(answer.field("allocated_credits")),
                                  used=used))

    async def allocation(self, member: Session, org: OrgRef) -> Reply[Allocation]:
        answer = await self.api.my_billing(member)
        if not answer.ok:
            return reply(answer)
        mine = next((row for row in answer.field("organizations", []) if str(row.get("org_id")) == org.org_id), None)
        if mine is None:
            listed = Refusal(RefusalKind.NOT_FOUND, answer.status, "the member's billing lists no allocation in "
                                                                   "this organization")
            return Reply(refusal=listed, elapsed_ms=answer.elapsed_ms)
        return reply(answer, allocation(mine))

    async def attribution(self, admin: Session, org: OrgRef) -> Reply[list[MemberUsage]]:
        answer = await self.api.org_usage(admin, org.org_id)
        if not answer.ok:
            return reply(answer)
        return reply(answer, [MemberUsage(row.get("user_id"), credits(row.get("total_credits")),
                                          row.get("request_count")) for row in answer.field("top_users", [])])

    # -- BYOK ---------------------------------------------------------------------------------
    async def store_byok_key(self, session: Session, provider: str, key: str) -> Reply[None]:
        return reply(await self.api.store_key(session, provider, key))

    async def byok_settings(self, session: Session, naming: Account | None = None) -> Reply[ByokSettings]:
        answer = await self.api.keys(session, naming.user_id if naming else None)
        if not answer.ok:
            return reply(answer)
        providers = answer.field("providers", [])
        configured = any(row.get("provider") == "openrouter" and row.get("enabled") for row in providers)
        hints = tuple(str(row.get("masked_key", "")) for row in providers)
        return reply(answer, ByokSettings(configured, hints, str(answer.body)))

    # -- LLM calls ----------------------------------------------------------------------------
    async def call(self, session: Session, request: CallRequest) -> CallResult:
        sent_at = time.time()
        body = {"model": request.model, "max_tokens": request.tokens,
                "messages": conversation(request.scope, request.sender, request.answers_tool_call)}
        if request.stream:
            return call_result(request, sent_at, await self.api.stream_chat(session, body, request.request_id,
                                                                                request.leave_after))
        return call_result(request, sent_at, await self.api.chat(session, body, request.request_id, request.compressed))

    async def time_operation(self, session: Session, operation: str) -> Reply[None] | None:
        """The product reports no phases of a call; usage tracking has an endpoint of its own
        (POST /api/v1/credits/usage/track, backend/credit_api.py:542-569)."""
        if operation != "usage tracking":
            return None
        return reply(await self.api.track_usage(session))

    async def hold_calls(self) -> Hold:
        return await ProviderLookupHold.taken(self.arrangements.pool) if self.arrangements else Hold()

    async def call_malformed(self, session: Session, problem: Malformed, scope: str = "") -> Reply[None]:
        return reply(await self.api.chat(session, malformed_body(problem, scope)))

    async def health(self) -> Reply[dict[str, str]]:
        """Ops-Center-OSS has no health report of its parts: its public status answer is what there is. A build with
        one reports each part of the credit flow it checks, a "healthy" one as the suite's "ok"."""
        answer = await self.api.status()
        if not answer.ok:
            return reply(answer)
        body = answer.body if isinstance(answer.body, dict) else {}
        if self.build.health_parts:
            checks = body.get("checks") if isinstance(body.get("checks"), dict) else {}
            states = {part: str((checks.get(part) or {}).get("status")) for part in self.build.health_parts
                      if part in checks}
            return reply(answer, {part: "ok" if state == "healthy" else state for part, state in states.items()})
        return reply(answer, {key: str(value) for key, value in body.items() if isinstance(value, str)})


def plain(amount: Any) -> Any:
    """An amount as the product's API takes it: whole credits as integers, anything else as given."""
    if isinstance(amount, Decimal):
        return int(amount) if amount == amount.to_integral_value() else str(amount)
    return amount


def allocation(row: Any) -> Allocation:
    row = row if isinstance(row, dict) else {}
    return Allocation(credits(row.get("allocated_credits")), credits(row.get("used_credits")),
                      credits(row.get("remaining_credits")))
