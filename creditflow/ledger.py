"""The ledger in PostgreSQL, read-only: balances, transactions and the contract's invariants."""

from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True)
class Charge:
    request_id: str
    user_id: str
    org_id: str | None
    credits: int
    model: str | None
    tokens: int | None


class LedgerReader:
    def __init__(self, pool: asyncpg.Pool):
        self._pool = pool

    @classmethod
    async def connect(cls, url: str, password: str | None) -> "LedgerReader":
        pool = await asyncpg.create_pool(url, password=password or None, min_size=1, max_size=4,
                                         server_settings={"default_transaction_read_only": "on"})
        return cls(pool)

    async def close(self) -> None:
        await self._pool.close()

    async def own_balance(self, user_id: str) -> int | None:
        return await self._pool.fetchval("SELECT credits FROM user_credits WHERE user_id = $1", user_id)

    async def _charges(self, where: str, *args) -> list[Charge]:
        rows = await self._pool.fetch(
            "SELECT request_id, user_id, org_id, -amount AS credits, model, tokens FROM credit_transactions "
            f"WHERE kind = 'charge' AND {where} ORDER BY id",
            *args,
        )
        return [Charge(**dict(row)) for row in rows]

    async def charges(self, user_id: str, org_id: str | None = None) -> list[Charge]:
        """A user's charges to their own credits, or to one organization when `org_id` is given."""
        return await self._charges("user_id = $1 AND org_id IS NOT DISTINCT FROM $2", user_id, org_id)

    async def org_charges(self, org_id: str) -> list[Charge]:
        return await self._charges("org_id = $1", org_id)

    async def calls_counted(self, user_id: str) -> int:
        counted = await self._pool.fetchval("SELECT sum(api_calls) FROM usage_tracking WHERE user_id = $1", user_id)
        return counted or 0

    async def stored_byok_ciphertexts(self, user_id: str) -> list[bytes]:
        rows = await self._pool.fetch("SELECT key_ciphertext FROM user_byok_keys WHERE user_id = $1", user_id)
        return [bytes(row["key_ciphertext"]) for row in rows]

    async def user_violations(self, user_id: str) -> tuple[list[str], list[dict]]:
        """The contract's invariants for one user's own credits: (violations, rows checked)."""
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
        """The contract's invariants for one organization's pool and allocations."""
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
