"""The LLM provider double's request log (which key reached which route) and its switches: faults, the
share of the budget it reports used, and how it streams. Each is read or set for one scope, the scenario's
own (sandbox/doubles/provider.py): runs sharing a stack never see or change each other's calls."""

import hashlib
from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class RoutedCall:
    """A call LiteLLM reported routing: its model, and whether it reported it served."""

    model: str
    served: bool


@dataclass(frozen=True)
class ProviderCall:
    route: str  # "openai" (the platform's provider) or "openrouter"
    model: str | None
    key_sha256: str | None  # the fingerprint of the key the call carried
    served: bool = True  # answered with a completion (not made to fail or stall)

    def carried(self, fingerprint: str) -> bool:
        return self.key_sha256 == fingerprint


class ProviderDouble:
    def __init__(self, url: str):
        self._http = httpx.AsyncClient(base_url=url.rstrip("/"), timeout=10)

    async def close(self) -> None:
        await self._http.aclose()

    async def calls_since(self, scope: str, since: float) -> list[ProviderCall]:
        answer = await self._http.get("/_double/requests", params={"since": since, "scope": scope})
        answer.raise_for_status()
        return [ProviderCall(entry["route"], entry.get("model"), entry.get("key_sha256"), entry.get("served", True))
                for entry in answer.json()]

    async def litellm_reports(self, scope: str) -> list[RoutedCall]:
        """What LiteLLM itself reported routing for the scope (its logging callback posts to the double)."""
        answer = await self._http.get("/_double/litellm-reports", params={"scope": scope})
        answer.raise_for_status()
        return [RoutedCall(str(entry.get("model") or ""), entry.get("status") == "success") for entry in answer.json()]

    async def fail_calls(self, scope: str, mode: str | None) -> None:
        """mode "error" answers 500, "timeout" stalls, None heals."""
        await self._set("fault", {"scope": scope, "mode": mode})

    async def use_share(self, scope: str, percent: int) -> None:
        """Each answer reports `percent` of the call's token budget as used (100: all of it)."""
        await self._set("usage", {"scope": scope, "percent": percent})

    async def stream_as(self, scope: str, pace_ms: int = 0, usage: bool = True,
                        breaks_after: int | None = None) -> None:
        """Streamed answers: `pace_ms` between two pieces, whether the last piece reports the usage, and after how
        many pieces the provider breaks the stream off (None: never)."""
        await self._set("stream", {"scope": scope, "pace_ms": pace_ms, "usage": usage, "breaks_after": breaks_after})

    async def forget(self, scope: str) -> None:
        await self._set("forget", {"scope": scope})

    async def _set(self, switch: str, body: dict) -> None:
        answer = await self._http.post(f"/_double/{switch}", json=body)
        answer.raise_for_status()

    @staticmethod
    def fingerprint(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()
