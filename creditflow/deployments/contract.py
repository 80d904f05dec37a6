"""The contract deployment: the guide's API, as the reference Ops-Center in sandbox/ implements it.

The API, its units and its storage are written down in docs/contract.md; this module is the only
place that knows its paths, headers and fields. Keycloak bearer tokens sign actors in.
"""

import math
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
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
    Deployment,
    ForeignSignIn,
    Lacking,
    LedgerReader,
    Limits,
    Malformed,
    MemberUsage,
    MoneyIn,
    OrgRef,
    Payer,
    Pool,
    PriceList,
    Purchase,
    Refusal,
    RefusalKind,
    Reply,
    Session,
    Statement,
    UsageEvent,
)
from creditflow.deployments.contract_payments import CREDITS_PER_CENT, SMALLEST_PURCHASE, ContractPayments
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
    server_timing,
    streamed_piece,
    unfinished_stream,
    unreadable,
)
from creditflow.evidence import Evidence
from creditflow.forgeries import stranger_token
from creditflow.systems.identity import EMAIL_DOMAIN, Identity
from creditflow.systems.lago import Lago
from creditflow.systems.payment_provider import Delivery, PaymentProvider, PayWith
from creditflow.verdicts import TargetLacksPart

# Credits per 1,000 tokens (docs/contract.md, "Units and prices").
RATES = {"gpt-3.5-turbo": 90, "gpt-4": 480, "gpt-4-turbo": 240, "claude-3-sonnet": 150}
PAYERS = {"user": Payer.OWN_CREDITS, "organization": Payer.ORGANIZATION, "byok": Payer.BYOK}
# The realm's brute-force detection and the reference's limit on invalid sign-ins (docs/contract.md, "Limits a client
# cannot lift").
CONTRACT_LIMITS = Limits(
    failed_sign_ins_before_lockout=5, lockout_keyed_on="the account, wherever the attempts come from",
    lockout_seen_at="sandbox/realm/uchub-realm.json: bruteForceProtected, failureFactor 5",
    invalid_sign_ins_per_window=10, window_s=60, rate_keyed_on="the connection's peer address",
    rate_seen_at="sandbox/opscenter/limits.py, InvalidSignIns")


class ContractPrices(PriceList):
    smallest_amount = Decimal(1)

    def price(self, model: str, tokens: int, plan: str | None = None) -> Decimal:
        model = model.rpartition("/")[2]  # a provider's prefix names the same model at the same price
        if model not in RATES:
            raise ValueError(f"the contract prices no model called {model!r}")
        return Decimal(math.ceil(tokens * RATES[model] / 1000))



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
        resets_at=resets_at(answer), retry_after_s=retry_after(answer),
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
        cost=credits(answer.field("cost_credits")), paid_by=PAYERS.get(answer.field("billed_to")),
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
        paid_by=PAYERS.get(last.get("billed_to")), tokens=(last.get("usage") or {}).get("total_tokens"),
        request_id=last.get("request_id", request_id), pieces=sum(map(streamed_piece, answer.events)),
        calls_left=calls_left(answer), resets_at=resets_at(answer),  # the quota headers come with a stream's too
    )


class ContractApi:
    """The contract's endpoints, one method each: requests in, answers out."""

    def __init__(self, http: HttpClient):
        self.http = http

    @staticmethod
    def _auth(session: Session | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {session.secret}"} if session is not None and session.secret else {}

    async def send(self, session: Session | None, method: str, path: str, **kwargs) -> Answer:
        owner, origin = (session.owner, session.origin) if session is not None else ("a stranger", "")
        headers = self._auth(session) | kwargs.pop("headers", {})
        return await self.http.send(owner, method, path, headers=headers, origin=origin, **kwargs)

    async def health(self) -> Answer:
        return await self.send(None, "GET", "/health")

    async def balance(self, session: Session | None, user_id: str | None = None) -> Answer:
        params = {"user_id": user_id} if user_id else None
        return await self.send(session, "GET", "/api/v1/credits/balance", params=params)

    async def grant(self, session: Session, email: str | None, amount: Any, user_id: str | None = None) -> Answer:
        """The account named by each name given: by id, by e-mail, or (a request the contract refuses) both or none."""
        return await self.send(session, "POST", "/api/v1/admin/credits/grant",
                               json={**names_given(user_id=user_id, user_email=email), "credits": amount})

    async def create_org(self, session: Session, name: str, tier: str) -> Answer:
        return await self.send(session, "POST", "/api/v1/org", json={"name": name, "subscription_tier": tier})

    async def delete_org(self, session: Session, org_id: str) -> Answer:
        return await self.send(session, "DELETE", f"/api/v1/org/{org_id}")

    async def invite(self, session: Session, org_id: str, email: str | None, role: str = "member",
                     user_id: str | None = None) -> Answer:
        """The account named by each name given: by id, by e-mail, or (a request the contract refuses) both or none."""
        return await self.send(session, "POST", f"/api/v1/org/{org_id}/invite",
                               json={**names_given(user_id=user_id, email=email), "role": role})

    async def purchase(self, session: Session, org_id: str, amount: Any) -> Answer:
        return await self.send(session, "POST", f"/api/v1/credits/organization/{org_id}/purchase",
                               json={"amount": amount})

    async def purchase_own(self, session: Session, amount: Any) -> Answer:
        return await self.send(session, "POST", "/api/v1/credits/purchase", json={"amount": amount})

    async def card_on_file(self, session: Session, org_id: str | None, payment_method: str) -> Answer:
        path = f"/api/v1/credits/organization/{org_id}/payment-method" if org_id else "/api/v1/credits/payment-method"
        return await self.send(session, "PUT", path, json={"payment_method": payment_method})

    async def refund(self, session: Session, payment_id: str, amount: int | None) -> Answer:
        return await self.send(session, "POST", f"/api/v1/admin/payments/{payment_id}/refund",
                               json={} if amount is None else {"credits": amount})

    async def payment_event(self, delivery: Delivery) -> Answer:
        return await self.send(None, "POST", "/api/v1/payments/stripe/webhook", content=delivery.payload,
                               headers=delivery.headers)

    async def allocate(self, session: Session, org_id: str, email: str | None, amount: Any,
                       user_id: str | None = None) -> Answer:
        """The member named by each name given: by id, by e-mail, or (a request the contract refuses) both or none."""
        return await self.send(session, "POST", f"/api/v1/credits/organization/{org_id}/allocate",
                               json={**names_given(user_id=user_id, user_email=email), "credits": amount})

    async def org_credits(self, session: Session, org_id: str) -> Answer:
        return await self.send(session, "GET", f"/api/v1/credits/organization/{org_id}")

    async def my_allocation(self, session: Session, org_id: str) -> Answer:
        return await self.send(session, "GET", f"/api/v1/credits/organization/{org_id}/my-allocation")

    async def usage_attribution(self, session: Session, org_id: str) -> Answer:
        return await self.send(session, "GET", f"/api/v1/credits/organization/{org_id}/usage-attribution")

    async def store_byok_key(self, session: Session, provider: str, key: str) -> Answer:
        return await self.send(session, "POST", "/api/v1/settings/byok-keys",
                               json={"provider": provider, "api_key": key})

    async def byok_keys(self, session: Session, user_id: str | None = None) -> Answer:
        params = {"user_id": user_id} if user_id else None
        return await self.send(session, "GET", "/api/v1/settings/byok-keys", params=params)

    async def chat(self, session: Session | None, model: str, max_tokens: int, use_byok: bool | None = None,
                   request_id: str | None = None, stream: bool = False, leave_after: int | None = None,
                   messages: list[dict] | None = None, compressed: bool = False, org_id: str | None = None) -> Answer:
        """`messages`: the conversation, by default the question of a call that names no scenario's scope; `org_id`:
        the organization named to pay."""
        headers = {"Accept-Encoding": COMPRESSED} if compressed else {}
        if org_id is not None:
            headers["X-Organization-Id"] = org_id
        if use_byok is not None:
            headers["X-Use-BYOK"] = "true" if use_byok else "false"
        if request_id is not None:
            headers["X-Request-Id"] = request_id
        body = {"model": model, "max_tokens": max_tokens, "messages": messages or conversation()}
        if not stream:
            return await self.send(session, "POST", "/api/v1/llm/chat/completions", json=body, headers=headers)
        owner, origin = (session.owner, session.origin) if session is not None else ("a stranger", "")
        return await self.http.stream(owner, "/api/v1/llm/chat/completions", json=body | {"stream": True},
                                      headers=self._auth(session) | headers, leave_after=leave_after, origin=origin)

    async def chat_as_sent(self, session: Session, body: Any) -> Answer:
        """A chat request exactly as given: a dict is sent as JSON, a string as raw bytes."""
        if isinstance(body, str):
            return await self.send(session, "POST", "/api/v1/llm/chat/completions", content=body)
        return await self.send(session, "POST", "/api/v1/llm/chat/completions", json=body)


class ContractLedger(LedgerReader):
    """The contract's tables (docs/contract.md, "Storage"): whole credits, one row per movement."""

    def __init__(self, pool: asyncpg.Pool):
        self._pool = pool

    @classmethod
    async def connect(cls, url: str, password: str | None) -> "ContractLedger":
        pool = await asyncpg.create_pool(url, password=password or None, min_size=1, max_size=4,
                                         server_settings={"default_transaction_read_only": "on"})
        return cls(pool)

    async def close(self) -> None:
        await self._pool.close()

    async def own_balance(self, user_id: str) -> Decimal | None:
        return credits(await self._pool.fetchval("SELECT credits FROM user_credits WHERE user_id = $1", user_id))

    async def _charges(self, where: str, *args) -> list[Charge]:
        rows = await self._pool.fetch(
            "SELECT request_id, user_id, org_id, -amount AS credits, model, tokens FROM credit_transactions "
            f"WHERE kind = 'charge' AND {where} ORDER BY id",
            *args,
        )
        return [Charge(**(dict(row) | {"credits": Decimal(row["credits"])})) for row in rows]

    async def charges(self, user_id: str, org_id: str | None = None) -> list[Charge]:
        return await self._charges("user_id = $1 AND org_id IS NOT DISTINCT FROM $2", user_id, org_id)

    async def org_charges(self, org_id: str) -> list[Charge]:
        return await self._charges("org_id = $1", org_id)

    async def mark(self) -> int:
        return await self._pool.fetchval("SELECT COALESCE(max(id), 0) FROM credit_transactions")

    async def charged_after(self, mark: int) -> list[Charge]:
        """Other runs of the suite may share the reference: their accounts, known here by their e-mail, are left
        out."""
        return await self._charges(
            "id > $1 AND NOT EXISTS (SELECT 1 FROM user_credits w WHERE w.user_id = credit_transactions.user_id "
            "AND w.email LIKE '%' || $2)", mark, EMAIL_DOMAIN)

    async def calls_counted(self, user_id: str) -> int | None:
        counted = await self._pool.fetchval("SELECT sum(api_calls) FROM usage_tracking WHERE user_id = $1", user_id)
        return int(counted or 0)

    async def stored_byok_keys(self, user_id: str) -> list[bytes]:
        rows = await self._pool.fetch("SELECT key_ciphertext FROM user_byok_keys WHERE user_id = $1", user_id)
        return [bytes(row["key_ciphertext"]) for row in rows]

    async def orgs_created_by(self, user_id: str) -> list[str]:
        rows = await self._pool.fetch("SELECT id FROM organizations WHERE created_by = $1", user_id)
        return [row["id"] for row in rows]

    async def members(self, org_id: str) -> list[str]:
        rows = await self._pool.fetch("SELECT user_id FROM organization_members WHERE org_id = $1", org_id)
        return [row["user_id"] for row in rows]

    async def own_statement(self, user_id: str) -> Statement | None:
        row = await self._pool.fetchrow(
            """SELECT u.credits AS left,
                      (SELECT COALESCE(-sum(amount), 0) FROM credit_transactions t
                        WHERE t.user_id = u.user_id AND t.org_id IS NULL AND t.kind = 'charge') AS charged
               FROM user_credits u WHERE u.user_id = $1""", user_id)
        return None if row is None else Statement(Decimal(row["left"]), Decimal(row["charged"]))

    async def org_statement(self, org_id: str) -> Statement | None:
        row = await self._pool.fetchrow(
            """SELECT c.remaining AS left,
                      (SELECT COALESCE(-sum(amount), 0) FROM credit_transactions t
                        WHERE t.org_id = c.org_id AND t.kind = 'charge') AS charged
               FROM organization_credits c WHERE c.org_id = $1 AND c.holder = 'pool'""", org_id)
        return None if row is None else Statement(Decimal(row["left"]), Decimal(row["charged"]))

    async def user_violations(self, user_id: str) -> tuple[list[str], list[dict]]:
        row = await self._pool.fetchrow(
            """SELECT u.user_id, u.email, u.credits,
                      (SELECT COALESCE(sum(amount), 0)::bigint FROM credit_transactions t
                        WHERE t.user_id = u.user_id AND t.org_id IS NULL) AS transactions_sum
               FROM user_credits u WHERE u.user_id = $1""",
            user_id,
        )
        if row is None:
            return [], []
        problems = []
        if row["credits"] < 0:
            problems.append(f"{row['email']} has a negative balance of {row['credits']} credits")
        if row["credits"] != row["transactions_sum"]:
            problems.append(f"{row['email']}'s balance of {row['credits']} credits differs from the "
                            f"{row['transactions_sum']} credits its transactions add up to")
        return problems, [dict(row)]

    async def org_violations(self, org_id: str) -> tuple[list[str], list[dict]]:
        rows = await self._pool.fetch(
            """SELECT c.holder, c.allocated, c.used, c.remaining,
                      (SELECT COALESCE(sum(t.amount), 0)::bigint FROM credit_transactions t
                        WHERE t.org_id = c.org_id AND (c.holder = 'pool' OR t.user_id = c.holder)
                          AND (c.holder = 'pool' OR t.kind = 'charge')) AS transactions_sum
               FROM organization_credits c WHERE c.org_id = $1 ORDER BY c.holder""",
            org_id,
        )
        problems = []
        pool = next((row for row in rows if row["holder"] == "pool"), None)
        members = [row for row in rows if row["holder"] != "pool"]
        for row in rows:
            if min(row["allocated"], row["used"], row["remaining"]) < 0:
                problems.append(f"organization {org_id} holder {row['holder']} has a negative amount")
        if pool is not None:
            if pool["remaining"] != pool["transactions_sum"]:
                problems.append(f"the pool of {org_id} holds {pool['remaining']} credits but its transactions "
                                f"add up to {pool['transactions_sum']}")
            allocated = sum(row["allocated"] for row in members)
            if allocated > pool["allocated"]:
                problems.append(f"the allocations of {org_id} ({allocated}) exceed its pool ({pool['allocated']})")
        for row in members:
            if row["remaining"] != row["allocated"] + row["transactions_sum"]:
                problems.append(f"member {row['holder']} of {org_id} has {row['remaining']} credits left of "
                                f"{row['allocated']}, but was charged {-row['transactions_sum']}")
        return problems, [dict(row) for row in rows]


class ContractCache(CacheReader):
    """The contract's Redis keys: `balance:<user>` (hash) and `quota:<user>:<period>` (counter)."""

    def __init__(self, url: str):
        self._redis = redis.from_url(url, decode_responses=True)

    async def close(self) -> None:
        await self._redis.aclose()

    async def cached_balance(self, user_id: str) -> Decimal | None:
        return credits(await self._redis.hget(f"balance:{user_id}", "credits"))

    async def calls_this_period(self, user_id: str) -> int | None:
        keys = [key async for key in self._redis.scan_iter(match=f"quota:{user_id}:*")]
        if not keys:
            return None
        return int(await self._redis.get(sorted(keys)[-1]) or 0)


class ContractArrangements:
    """What a scenario arranges that the contract has no API for, written where and as the reference writes it:
    named, never asserted on (the readers' connections are read-only)."""

    def __init__(self, pool: asyncpg.Pool, redis_url: str):
        self._pool = pool
        self._redis = redis.from_url(redis_url, decode_responses=True)

    @classmethod
    async def connect(cls, url: str, password: str | None, redis_url: str) -> "ContractArrangements":
        return cls(await asyncpg.create_pool(url, password=password or None, min_size=1, max_size=1), redis_url)

    async def close(self) -> None:
        await self._pool.close()
        await self._redis.aclose()

    async def count_calls(self, user_id: str, used: int) -> None:
        """The period's API calls, counted in Redis (taken at step 2, kept a day past the period, as the reference
        keeps it) and in usage_tracking (as each settled call counts it): both say `used`, so they never disagree
        (docs/contract.md, "Redis")."""
        now = datetime.now(UTC)
        period, ends = now.strftime("%Y-%m"), datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=UTC)
        await self._pool.execute(
            """INSERT INTO usage_tracking (user_id, period, api_calls, byok_calls) VALUES ($1, $2, $3, 0)
               ON CONFLICT (user_id, period) DO UPDATE SET api_calls = EXCLUDED.api_calls""", user_id, period, used)
        await self._redis.set(f"quota:{user_id}:{period}", used, exat=int(ends.timestamp()) + 86_400)


class ContractBilling(BillingReader):
    """Lago as the contract uses it: customers by user or org id, events keyed by the request id."""

    async def usage_event(self, call: CallResult) -> UsageEvent | None:
        event = await self._lago.usage_event(call.request_id)
        if event is None:
            return None
        properties = event.properties or {}
        return UsageEvent(model=properties.get("model") if event.code == "llm_call" else None,
                          tokens=properties.get("tokens"), credits=credits(properties.get("credits")),
                          customer=event.external_subscription_id, member=properties.get("user_email"))


class ContractDeployment(Deployment):
    openapi_path = "/openapi.json"
    name = "contract"
    limits = CONTRACT_LIMITS
    session_max_age_s = 240  # well before the realm's 5-minute access tokens expire

    def __init__(self, api: ContractApi, identity: Identity, ledger: ContractLedger, cache: ContractCache,
                 billing: ContractBilling, arrangements: ContractArrangements | None = None,
                 provider: PaymentProvider | None = None):
        self.api, self.identity, self.arrangements = api, identity, arrangements
        self.prices = ContractPrices()
        self.ledger, self.cache, self.billing = ledger, cache, billing
        self.provider = provider
        self.payments = ContractPayments(provider) if provider else Lacking(
            "this target names no payment provider (PAYMENTS_URL, PAYMENTS_API_KEY, PAYMENTS_WEBHOOK_SECRET)")

    @classmethod
    async def connect(cls, config: Config, evidence: Evidence, run_marks: dict[str, str]) -> "ContractDeployment":
        identity = Identity(config.keycloak_url, config.keycloak_realm, config.keycloak_client_id,
                            config.keycloak_client_secret, config.keycloak_admin_user, config.keycloak_admin_password,
                            run_marks)
        # Each user calls from an address of their own, as users of a deployed product do: one user's refused
        # address never refuses another, and the suite's processes never share a limit.
        return cls(ContractApi(HttpClient(config.ops_center_url, evidence, own_addresses=True)), identity,
                   await ContractLedger.connect(config.database_url, config.database_password),
                   ContractCache(config.redis_url), ContractBilling(Lago(config.lago_url, config.lago_api_key)),
                   await ContractArrangements.connect(config.database_url, config.database_password, config.redis_url),
                   PaymentProvider(config.payments_url, config.payments_api_key, config.payments_webhook_secret)
                   if config.payments_url else None)

    @classmethod
    def requests_only(cls, ops_center_url: str, client, identity, build: str = "") -> "ContractDeployment":
        return cls(ContractApi(client(ops_center_url)), identity, None, None, None)

    @property
    def unanswered(self) -> int:
        return self.api.http.unanswered

    async def close(self) -> None:
        await self.api.http.close()
        await self.ledger.close()
        await self.cache.close()
        await self.arrangements.close()
        if self.provider is not None:
            await self.provider.close()

    # -- people -------------------------------------------------------------------------------
    async def enroll(self, username: str, plan: str, owner: str, platform_admin: bool = False,
                     arranged: bool = True) -> tuple[Account, Session]:
        account = await self.identity.create_account(username, f"{username}{EMAIL_DOMAIN}", plan, platform_admin)
        session = await self.sign_in(account, owner)
        await self.api.balance(session)  # the first authenticated call provisions the user
        return account, session

    async def remove(self, account: Account) -> None:
        await self.identity.delete_account(account.user_id)

    async def sign_in(self, account: Account, owner: str) -> Session:
        token, elapsed = await self.identity.sign_in(account.username, account.password)
        return Session(token, time.monotonic(), elapsed, owner, origin=self.api.http.origin_for(account.username))

    async def plan_in_identity(self, session: Session) -> tuple[str | None, str | None]:
        claims = await self.identity.decode(session.secret)
        return claims.get("email"), claims.get("subscription_tier")

    async def stranger_sessions(self) -> list[Session]:
        """Each from an address of its own: a stranger's refusals never count against anyone else's address."""
        signing = next(key["kid"] for key in await self.identity.published_keys() if key.get("use") == "sig")
        return [Session(secret, 0.0, origin=self.api.http.origin_for(f"stranger-{secrets.token_hex(6)}"))
                for secret in ("", "not-a-token", stranger_token(signing))]

    async def forged_session(self, account: Account, forge: Callable[[str], Awaitable[str]]) -> Session:
        token, _ = await self.identity.sign_in(account.username, account.password)
        return Session(await forge(token), time.monotonic(), owner=account.username.split("-")[0].title(),
                       origin=self.api.http.origin_for(account.username))

    def tool_headers(self, session: Session) -> dict[str, str]:
        return ContractApi._auth(session)

    def money_in(self, method: str, path: str, query: dict[str, str], status: int, body: Any) -> MoneyIn | None:
        """A platform admin's grant by user id (200). A purchase puts in only what its payment paid, which the payment
        provider's records tell (ContractPayments), not the request."""
        if method == "POST" and status == 200 and path == "/api/v1/admin/credits/grant" and isinstance(body, dict):
            credited = body.get("credits")
            user = body.get("user_id")
            return MoneyIn("user", user, Decimal(credited)) if user and isinstance(credited, int) else None
        return None

    async def foreign_session(self, account: Account, kind: ForeignSignIn) -> Session:
        if kind is ForeignSignIn.EXPIRED:
            token = await self.identity.expired_token(account.username, account.password)
        else:
            token = await self.identity.other_realm_token()
        return Session(token, time.monotonic(), owner=account.username.split("-")[0].title(),
                       origin=self.api.http.origin_for(account.username))

    async def balance(self, session: Session, naming: Account | None = None) -> Reply[Balance]:
        answer = await self.api.balance(session, naming.user_id if naming else None)
        if not answer.ok:
            return reply(answer)
        return reply(answer, Balance(credits(answer.field("credits")), answer.field("api_calls_used"),
                                     answer.field("api_calls_limit"), answer.field("tier")))

    async def grant(self, operator: Session, account: Account, amount: Decimal) -> Reply[None]:
        return await self.grant_naming(operator, account.user_id, None, amount)

    async def grant_naming(self, operator: Session, user_id: str | None, email: str | None,
                           amount: Decimal) -> Reply[None]:
        return reply(await self.api.grant(operator, email, whole(amount), user_id=user_id))

    async def arrange_calls_used(self, account: Account, used: int) -> None:
        await self.arrangements.count_calls(account.user_id, used)

    # -- organizations ------------------------------------------------------------------------
    async def create_org(self, admin: Session, name: str, plan: str) -> Reply[OrgRef]:
        answer = await self.api.create_org(admin, name, plan)
        return created(answer, OrgRef(answer.field("id"), name) if answer.ok else None)

    async def delete_org(self, admin: Session, org: OrgRef) -> Reply[None]:
        return reply(await self.api.delete_org(admin, org.org_id))

    async def buy(self, admin: Session, org: OrgRef, amount: Any) -> Reply[Purchase]:
        return purchase(await self.api.purchase(admin, org.org_id, whole(amount)))

    # -- money in -------------------------------------------------------------------------------
    def purchasable(self, credits: Decimal) -> Decimal:
        """Credits are sold in whole cents (10 credits), from Stripe's smallest charge, $0.50 (500 credits)."""
        return max(SMALLEST_PURCHASE, Decimal(math.ceil(credits / CREDITS_PER_CENT) * CREDITS_PER_CENT))

    async def buy_own(self, session: Session, amount: Any) -> Reply[Purchase]:
        return purchase(await self.api.purchase_own(session, whole(amount)))

    async def put_on_file(self, session: Session, org: OrgRef | None, method: PayWith) -> Reply[None]:
        payment_method = await self._provider().payment_method(method)
        return reply(await self.api.card_on_file(session, org.org_id if org else None, payment_method))

    async def refund(self, operator: Session, payment_id: str, amount: Decimal | None) -> Reply[Decimal]:
        answer = await self.api.refund(operator, payment_id, None if amount is None else whole(amount))
        return reply(answer, credits(answer.field("credits_taken_back")) if answer.ok else None)

    async def deliver(self, delivery: Delivery) -> Reply[None]:
        return reply(await self.api.payment_event(delivery))

    def _provider(self) -> PaymentProvider:
        if self.provider is None:
            raise TargetLacksPart("this target names no payment provider (PAYMENTS_URL)")
        return self.provider

    async def add_member(self, admin: Session, org: OrgRef, member: Account) -> Reply[None]:
        return await self.invite_naming(admin, org, member.user_id, None)

    async def invite_naming(self, admin: Session, org: OrgRef, user_id: str | None, email: str | None) -> Reply[None]:
        return created(await self.api.invite(admin, org.org_id, email, user_id=user_id))

    async def allocate(self, admin: Session, org: OrgRef, member: Account, amount: Any) -> Reply[Allocation]:
        return await self.allocate_naming(admin, org, member.user_id, None, amount)

    async def allocate_naming(self, admin: Session, org: OrgRef, user_id: str | None, email: str | None,
                              amount: Any) -> Reply[Allocation]:
        answer = await self.api.allocate(admin, org.org_id, email, whole(amount), user_id=user_id)
        return reply(answer, allocation(answer) if answer.ok else None)

    async def pool(self, session: Session, org: OrgRef) -> Reply[Pool]:
        answer = await self.api.org_credits(session, org.org_id)
        if not answer.ok:
            return reply(answer)
        return reply(answer, Pool(remaining=credits(answer.field("total_credits")),
                                  allocated=credits(answer.field("allocated_credits")),
                                  used=credits(answer.field("used_credits"))))

    async def allocation(self, member: Session, org: OrgRef) -> Reply[Allocation]:
        answer = await self.api.my_allocation(member, org.org_id)
        return reply(answer, allocation(answer) if answer.ok else None)

    async def attribution(self, admin: Session, org: OrgRef) -> Reply[list[MemberUsage]]:
        answer = await self.api.usage_attribution(admin, org.org_id)
        if not answer.ok:
            return reply(answer)
        rows = answer.body if isinstance(answer.body, list) else []
        return reply(answer, [MemberUsage(row.get("user_email"), credits(row.get("credits_used")),
                                          row.get("api_calls")) for row in rows])

    # -- BYOK ---------------------------------------------------------------------------------
    async def store_byok_key(self, session: Session, provider: str, key: str) -> Reply[None]:
        return created(await self.api.store_byok_key(session, provider, key))

    async def byok_settings(self, session: Session, naming: Account | None = None) -> Reply[ByokSettings]:
        answer = await self.api.byok_keys(session, naming.user_id if naming else None)
        if not answer.ok:
            return reply(answer)
        hints = tuple(entry.get("key_hint", "") for entry in answer.field("keys", []))
        return reply(answer, ByokSettings(answer.field("openrouter_configured") is True, hints, str(answer.body)))

    # -- limits -------------------------------------------------------------------------------
    async def sign_in_with(self, account: Account, secret: str, sender: Account,
                           claim: ClaimedAddress | None = None) -> Reply[None]:
        """Keycloak's password sign-in, as a client sends it; Keycloak answers a locked account as it answers wrong
        credentials (400 invalid_grant), so both are unauthorized."""
        endpoint, form = self.identity.token_request(account.username, secret)
        answer = await self.api.http.send(owner_of(sender), "POST", endpoint, form=form, headers=claiming(claim),
                                          origin=self.api.http.origin_for(sender.username))
        return sign_in_reply(answer)

    async def present_sign_in(self, sender: Account, session: Session, valid: bool,
                              claim: ClaimedAddress | None = None) -> Reply[None]:
        """The balance, the cheapest request the reference authenticates, with the session's token or one the realm
        never issued."""
        presented = Session(session.secret if valid else "not-a-token", session.signed_in_at,
                            owner=owner_of(sender), origin=self.api.http.origin_for(sender.username))
        return sign_in_reply(await self.api.send(presented, "GET", "/api/v1/credits/balance",
                                                 headers=claiming(claim)))

    # -- LLM calls ----------------------------------------------------------------------------
    async def call(self, session: Session, request: CallRequest) -> CallResult:
        sent_at = time.time()
        answer = await self.api.chat(session, request.model, request.tokens, request.use_byok, request.request_id,
                                     request.stream, request.leave_after,
                                     conversation(request.scope, request.sender, request.answers_tool_call),
                                     request.compressed, request.org.org_id if request.org else None)
        return call_result(request, sent_at, answer)

    async def call_malformed(self, session: Session, problem: Malformed, scope: str = "") -> Reply[None]:
        return reply(await self.api.chat_as_sent(session, malformed_body(problem, scope)))

    async def health(self) -> Reply[dict[str, str]]:
        answer = await self.api.health()
        return reply(answer, dict(answer.body) if answer.ok and isinstance(answer.body, dict) else None)


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
