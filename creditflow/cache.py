"""Redis, read-only: the cached balances and the per-period API-call counters."""

import redis.asyncio as redis


class CacheReader:
    def __init__(self, url: str):
        self._redis = redis.from_url(url, decode_responses=True)

    async def close(self) -> None:
        await self._redis.aclose()

    async def cached_balance(self, user_id: str) -> int | None:
        value = await self._redis.hget(f"balance:{user_id}", "credits")
        return int(value) if value is not None else None

    async def calls_this_period(self, user_id: str) -> int | None:
        keys = [key async for key in self._redis.scan_iter(match=f"quota:{user_id}:*")]
        if not keys:
            return None
        return int(await self._redis.get(sorted(keys)[-1]) or 0)
