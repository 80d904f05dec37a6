"""Money movement in PostgreSQL: every change is a conditional UPDATE or runs under a row lock."""

import asyncpg


class InsufficientCredits(Exception):
    def __init__(self, required: int, available: int):
        super().__init__(f"{required} credits required, {available} available")
        self.required = required
        self.available = available


class NoAllocation(Exception):
    """An organization member has no credits allocated to them."""


class AllocationRejected(Exception):
    """An allocation would exceed the pool, or fall below what the member already used."""


class DuplicateRequest(Exception):
    """A call with this request id was already charged."""


class Ledger:
    def __init__(self, pool: asyncpg.Pool):
        self.pool = pool

    async def ensure_user(self, user_id: str, email: str, tier: str, limit: int) -> bool:
        created = await self.pool.fetchval(
            """INSERT INTO user_credits (user_id, email, tier, api_calls_limit) VALUES ($1, $2, $3, $4)
               ON CONFLICT (user_id) DO NOTHING RETURNING true""",
            user_id, email, tier, limit,
        )
        return bool(created)

    async def user(self, user_id: str) -> asyncpg.Record:
        return await self.pool.fetchrow("SELECT * FROM user_credits WHERE user_id = $1", user_id)

    async def users_by_email(self, email: str) -> list[asyncpg.Record]:
        return await self.pool.fetch("SELECT * FROM user_credits WHERE lower(email) = lower($1)", email)

    async def grant(self, user_id: str, credits: int, request_id: str, admin_id: str) -> asyncpg.Record:
        async with self.pool.acquire() as connection, connection.transaction():
            await connection.execute(
                """INSERT INTO credit_transactions (request_id, user_id, kind, amount, granted_by)
                   VALUES ($1, $2, 'grant', $3, $4)""",
                request_id, user_id, credits, admin_id,
            )
            return await connection.fetchrow(
                """UPDATE user_credits SET credits = credits + $2, version = version + 1
                   WHERE user_id = $1 RETURNING credits, version""",
                user_id, credits,
            )

    async def charged_before(self, user_id: str, request_id: str) -> bool:
        """Whether this caller's request id was charged: an id names one caller's request, not anyone's."""
        return bool(await self.pool.fetchval(
            "SELECT true FROM credit_transactions WHERE user_id = $1 AND request_id = $2", user_id, request_id))

    # -- own credits -------------------------------------------------------------------------
    async def reserve_own(self, user_id: str, amount: int) -> asyncpg.Record:
        row = await self.pool.fetchrow(
            """UPDATE user_credits SET credits = credits - $2, version = version + 1
               WHERE user_id = $1 AND credits >= $2 RETURNING credits, version""",
            user_id, amount,
        )
        if row is None:
            available = await self.pool.fetchval("SELECT credits FROM user_credits WHERE user_id = $1", user_id)
            raise InsufficientCredits(amount, available or 0)
        return row

    async def release_own(self, user_id: str, amount: int) -> asyncpg.Record:
        return await self.pool.fetchrow(
            """UPDATE user_credits SET credits = credits + $2, version = version + 1
               WHERE user_id = $1 RETURNING credits, version""",
            user_id, amount,
        )

    async def settle_own(self, user_id: str, reserved: int, charged: int, request_id: str, model: str,
                         tokens: int) -> asyncpg.Record:
        """Charges `charged` of the reservation and releases the rest, with one ledger row.

        Returns the balance after it with its version (for the cache)."""
        async with self.pool.acquire() as connection, connection.transaction():
            row = await connection.fetchrow(
                """UPDATE user_credits SET credits = credits + $2, version = version + 1
                   WHERE user_id = $1 RETURNING credits, version""",
                user_id, reserved - charged,
            )
            await self._record_charge(connection, request_id, user_id, None, charged, model, tokens)
        return row

    # -- organization credits ----------------------------------------------------------------
    async def reserve_org(self, org_id: str, user_id: str, amount: int) -> None:
        async with self.pool.acquire() as connection, connection.transaction():
            member = await connection.fetchrow(
                "SELECT allocated, remaining FROM organization_credits WHERE org_id = $1 AND holder = $2 FOR UPDATE",
                org_id, user_id,
            )
            if member is None or member["allocated"] == 0:
                raise NoAllocation()
            if member["remaining"] < amount:
                raise InsufficientCredits(amount, member["remaining"])
            pool_left = await connection.fetchval(
                """UPDATE organization_credits SET remaining = remaining - $2
                   WHERE org_id = $1 AND holder = 'pool' AND remaining >= $2 RETURNING remaining""",
                org_id, amount,
            )
            if pool_left is None:
                available = await connection.fetchval(
                    "SELECT remaining FROM organization_credits WHERE org_id = $1 AND holder = 'pool'", org_id
                )
                raise InsufficientCredits(amount, available or 0)
            await connection.execute(
                "UPDATE organization_credits SET remaining = remaining - $3 WHERE org_id = $1 AND holder = $2",
                org_id, user_id, amount,
            )

    async def release_org(self, org_id: str, user_id: str, amount: int) -> None:
        async with self.pool.acquire() as connection, connection.transaction():
            await connection.execute(
                "UPDATE organization_credits SET remaining = remaining + $3 WHERE org_id = $1 AND holder = $2",
                org_id, user_id, amount,
            )
            await connection.execute(
                "UPDATE organization_credits SET remaining = remaining + $2 WHERE org_id = $1 AND holder = 'pool'",
                org_id, amount,
            )

    async def settle_org(self, org_id: str, user_id: str, reserved: int, charged: int, request_id: str,
                         model: str, tokens: int) -> None:
        """Charges `charged` of the member's and the pool's reservation and releases the rest, with one row."""
        async with self.pool.acquire() as connection, connection.transaction():
            for holder in (user_id, "pool"):
                await connection.execute(
                    """UPDATE organization_credits SET remaining = remaining + $3, used = used + $4
                       WHERE org_id = $1 AND holder = $2""",
                    org_id, holder, reserved - charged, charged,
                )
            await self._record_charge(connection, request_id, user_id, org_id, charged, model, tokens)

    @staticmethod
    async def _record_charge(connection, request_id, user_id, org_id, amount, model, tokens) -> None:
        try:
            await connection.execute(
                """INSERT INTO credit_transactions (request_id, user_id, org_id, kind, amount, model, tokens)
                   VALUES ($1, $2, $3, 'charge', $4, $5, $6)""",
                request_id, user_id, org_id, -amount, model, tokens,
            )
        except asyncpg.UniqueViolationError:
            raise DuplicateRequest() from None

    async def count_call(self, user_id: str, period: str, byok: bool) -> None:
        await self.pool.execute(
            """INSERT INTO usage_tracking (user_id, period, api_calls, byok_calls) VALUES ($1, $2, 1, $3)
               ON CONFLICT (user_id, period) DO UPDATE SET api_calls = usage_tracking.api_calls + 1,
               byok_calls = usage_tracking.byok_calls + EXCLUDED.byok_calls""",
            user_id, period, int(byok),
        )

    async def calls_in_period(self, user_id: str, period: str) -> int:
        used = await self.pool.fetchval(
            "SELECT api_calls FROM usage_tracking WHERE user_id = $1 AND period = $2", user_id, period
        )
        return used or 0

    # -- organizations -----------------------------------------------------------------------
    async def create_org(self, org_id: str, name: str, tier: str, admin_id: str, admin_email: str) -> None:
        async with self.pool.acquire() as connection, connection.transaction():
            await connection.execute(
                "INSERT INTO organizations (id, name, subscription_tier, created_by) VALUES ($1, $2, $3, $4)",
                org_id, name, tier, admin_id,
            )
            await connection.execute(
                "INSERT INTO organization_members (org_id, user_id, email, role) VALUES ($1, $2, $3, 'admin')",
                org_id, admin_id, admin_email,
            )
            await connection.execute("INSERT INTO organization_credits (org_id, holder) VALUES ($1, 'pool')", org_id)

    async def delete_org(self, org_id: str) -> None:
        await self.pool.execute("DELETE FROM organizations WHERE id = $1", org_id)

    async def membership(self, org_id: str, user_id: str) -> str | None:
        return await self.pool.fetchval(
            "SELECT role FROM organization_members WHERE org_id = $1 AND user_id = $2", org_id, user_id
        )

    async def first_org_of(self, user_id: str) -> str | None:
        return await self.pool.fetchval(
            "SELECT org_id FROM organization_members WHERE user_id = $1 ORDER BY joined_at, org_id LIMIT 1", user_id
        )

    async def add_member(self, org_id: str, user_id: str, email: str, role: str) -> bool:
        added = await self.pool.fetchval(
            """INSERT INTO organization_members (org_id, user_id, email, role) VALUES ($1, $2, $3, $4)
               ON CONFLICT DO NOTHING RETURNING true""",
            org_id, user_id, email, role,
        )
        return bool(added)

    async def members_by_email(self, org_id: str, email: str) -> list[asyncpg.Record]:
        return await self.pool.fetch(
            "SELECT * FROM organization_members WHERE org_id = $1 AND lower(email) = lower($2)", org_id, email
        )

    async def member(self, org_id: str, user_id: str) -> asyncpg.Record | None:
        return await self.pool.fetchrow(
            "SELECT * FROM organization_members WHERE org_id = $1 AND user_id = $2", org_id, user_id
        )

    async def allocate(self, org_id: str, user_id: str, credits: int) -> asyncpg.Record:
        async with self.pool.acquire() as connection, connection.transaction():
            pool = await connection.fetchrow(
                "SELECT allocated FROM organization_credits WHERE org_id = $1 AND holder = 'pool' FOR UPDATE", org_id
            )
            others = await connection.fetchval(
                """SELECT COALESCE(sum(allocated), 0) FROM organization_credits
                   WHERE org_id = $1 AND holder NOT IN ('pool', $2)""",
                org_id, user_id,
            )
            if others + credits > pool["allocated"]:
                raise AllocationRejected(
                    f"allocations would total {others + credits} credits, above the pool of {pool['allocated']}"
                )
            current = await connection.fetchrow(
                "SELECT used, allocated - remaining AS spent FROM organization_credits "
                "WHERE org_id = $1 AND holder = $2 FOR UPDATE",
                org_id, user_id,
            )
            if current is not None and credits < current["spent"]:
                raise AllocationRejected(f"the member already used or holds {current['spent']} credits")
            return await connection.fetchrow(
                """INSERT INTO organization_credits (org_id, holder, allocated, used, remaining)
                   VALUES ($1, $2, $3, 0, $3)
                   ON CONFLICT (org_id, holder) DO UPDATE SET allocated = EXCLUDED.allocated,
                   remaining = EXCLUDED.allocated - (organization_credits.allocated - organization_credits.remaining)
                   RETURNING allocated, used, remaining""",
                org_id, user_id, credits,
            )

    async def org_credits(self, org_id: str) -> dict:
        pool = await self.pool.fetchrow(
            "SELECT remaining, used FROM organization_credits WHERE org_id = $1 AND holder = 'pool'", org_id
        )
        allocated = await self.pool.fetchval(
            "SELECT COALESCE(sum(allocated), 0) FROM organization_credits WHERE org_id = $1 AND holder <> 'pool'",
            org_id,
        )
        return {"total_credits": pool["remaining"], "allocated_credits": allocated, "used_credits": pool["used"]}

    async def allocation(self, org_id: str, user_id: str) -> dict:
        row = await self.pool.fetchrow(
            "SELECT allocated, used, remaining FROM organization_credits WHERE org_id = $1 AND holder = $2",
            org_id, user_id,
        )
        return dict(row) if row else {"allocated": 0, "used": 0, "remaining": 0}

    async def usage_attribution(self, org_id: str) -> list[dict]:
        rows = await self.pool.fetch(
            """SELECT m.email AS user_email, COALESCE(-sum(t.amount), 0) AS credits_used,
                      count(t.id) AS api_calls
               FROM organization_members m
               LEFT JOIN credit_transactions t
                 ON t.org_id = m.org_id AND t.user_id = m.user_id AND t.kind = 'charge'
               WHERE m.org_id = $1 GROUP BY m.email ORDER BY m.email""",
            org_id,
        )
        return [dict(row) for row in rows]

    # -- BYOK --------------------------------------------------------------------------------
    async def store_key(self, user_id: str, provider: str, ciphertext: bytes, hint: str) -> None:
        await self.pool.execute(
            """INSERT INTO user_byok_keys (user_id, provider, key_ciphertext, key_hint) VALUES ($1, $2, $3, $4)
               ON CONFLICT (user_id, provider) DO UPDATE SET key_ciphertext = EXCLUDED.key_ciphertext,
               key_hint = EXCLUDED.key_hint, created_at = now()""",
            user_id, provider, ciphertext, hint,
        )

    async def stored_key(self, user_id: str, provider: str) -> bytes | None:
        return await self.pool.fetchval(
            "SELECT key_ciphertext FROM user_byok_keys WHERE user_id = $1 AND provider = $2", user_id, provider
        )

    async def key_hints(self, user_id: str) -> list[dict]:
        rows = await self.pool.fetch(
            "SELECT provider, key_hint FROM user_byok_keys WHERE user_id = $1 ORDER BY provider", user_id
        )
        return [dict(row) for row in rows]
