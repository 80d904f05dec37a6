"""The contract's storage: its tables (docs/contract.md, "Storage"), its Redis keys and what it tells Lago, read-only;
and what a scenario arranges that the contract has no API for, written as the reference writes it (Arrangements)."""

from datetime import UTC, datetime
from decimal import Decimal

import asyncpg
import redis.asyncio as redis

from creditflow.deployments.base import CallResult, Charge, Statement, UsageEvent
from creditflow.deployments.http import credits
from creditflow.deployments.readers import BillingReader, CacheReader, LedgerReader, balance_problems
from creditflow.systems.identity import EMAIL_DOMAIN


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
        return balance_problems(row["email"], row["credits"], row["transactions_sum"]), [dict(row)]

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
