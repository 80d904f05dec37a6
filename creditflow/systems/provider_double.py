"""The LLM provider double's request log (which key reached which route) and its switches: faults, the
share of the budget it reports used, and how it streams."""

import hashlib
from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class ProviderCall:
    route: str  # "openai" (the platform's provider) or "openrouter"
    model: str | None
    key_sha256: str | None  # the fingerprint of the key the call carried

    def carried(self, fingerprint: str) -> bool:
        return self.key_sha256 == fingerprint


class ProviderDouble:
    def __init__(self, url: str):
        self._http = httpx.AsyncClient(base_url=url.rstrip("/"), timeout=10)

    async def close(self) -> None:
        await self._http.aclose()

    async def calls_since(self, since: float) -> list[ProviderCall]:
        answer = await self._http.get("/_double/requests", params={"since": since})
        answer.raise_for_status()
        return [ProviderCall(entry["route"], entry.get("model"), entry.get("key_sha256")) for entry in answer.json()]

    async def fail_calls(self, mode: str | None) -> None:
        """mode "error" answers 500, "timeout" stalls, None heals."""
        answer = await self._http.post("/_double/fault", json={"mode": mode})
        answer.raise_for_status()

    async def use_share(self, percent: int) -> None:
        """Each answer reports `percent` of the call's token budget as used (100: all of it)."""
        answer = await self._http.post("/_double/usage", json={"percent": percent})
        answer.raise_for_status()

    async def stream_as(self, pace_ms: int = 0, usage: bool = True) -> None:
        """Streamed answers: `pace_ms` between two pieces, and whether the last piece reports the usage."""
        answer = await self._http.post("/_double/stream", json={"pace_ms": pace_ms, "usage": usage})
        answer.raise_for_status()

    @staticmethod
    def fingerprint(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()
