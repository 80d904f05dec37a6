"""The Ops-Center API client: the only module that knows a URL path or a header name.

A deployment whose paths differ from the contract is adapted here, and only here.
"""

import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from creditflow.evidence import Evidence, Exchange


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    elapsed_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def error_code(self) -> str | None:
        return self.body.get("error") if isinstance(self.body, dict) else None

    @property
    def detail(self) -> str:
        return str(self.body.get("detail", "")) if isinstance(self.body, dict) else str(self.body)

    def server_timing(self) -> dict[str, float]:
        """Phases the server reports in Server-Timing, in milliseconds."""
        phases = {}
        for part in self.headers.get("server-timing", "").split(","):
            name, _, rest = part.strip().partition(";dur=")
            if name and rest:
                phases[name] = float(rest)
        return phases

    @property
    def rate_limit_reset(self) -> int | None:
        value = self.headers.get("x-ratelimit-reset")
        return int(value) if value and value.isdigit() else None


class OpsCenterApi:
    def __init__(self, base_url: str, evidence: Evidence):
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), timeout=httpx.Timeout(120, connect=10),
            # Idle connections close before the server's keep-alive ends (uvicorn: 5 s): no request is sent
            # on a connection the server is closing.
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=50, keepalive_expiry=2),
        )
        self._evidence = evidence

    async def close(self) -> None:
        await self._http.aclose()

    async def _send(self, actor: str, token: str | None, method: str, path: str, json: Any = None,
                    headers: dict[str, str] | None = None, content: str | None = None) -> Answer:
        sent_headers = dict(headers or {})
        if token is not None:
            sent_headers["Authorization"] = f"Bearer {token}"
        started = time.perf_counter()
        if content is not None:
            sent_headers["Content-Type"] = "application/json"
        response = await self._http.request(method, path, json=json, content=content, headers=sent_headers)
        elapsed = (time.perf_counter() - started) * 1000
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = response.text
        answer = Answer(response.status_code, body, {k.lower(): v for k, v in response.headers.items()}, elapsed)
        self._evidence.record(Exchange(actor, method, path, answer.status, elapsed,
                                       json if content is None else content, body))
        return answer

    # -- health ---------------------------------------------------------------------------------
    async def health(self) -> Answer:
        return await self._send("suite", None, "GET", "/health")

    # -- own credits ----------------------------------------------------------------------------
    async def balance(self, actor: str, token: str | None) -> Answer:
        return await self._send(actor, token, "GET", "/api/v1/credits/balance")

    async def grant(self, actor: str, token: str, email: str, credits: int) -> Answer:
        return await self._send(actor, token, "POST", "/api/v1/admin/credits/grant",
                                {"user_email": email, "credits": credits})

    # -- organizations --------------------------------------------------------------------------
    async def create_org(self, actor: str, token: str, name: str, tier: str) -> Answer:
        return await self._send(actor, token, "POST", "/api/v1/org", {"name": name, "subscription_tier": tier})

    async def delete_org(self, actor: str, token: str, org_id: str) -> Answer:
        return await self._send(actor, token, "DELETE", f"/api/v1/org/{org_id}")

    async def invite(self, actor: str, token: str, org_id: str, email: str, role: str = "member") -> Answer:
        return await self._send(actor, token, "POST", f"/api/v1/org/{org_id}/invite", {"email": email, "role": role})

    async def purchase(self, actor: str, token: str, org_id: str, amount: Any) -> Answer:
        return await self._send(actor, token, "POST", f"/api/v1/credits/organization/{org_id}/purchase",
                                {"amount": amount})

    async def allocate(self, actor: str, token: str, org_id: str, email: str, credits: Any) -> Answer:
        return await self._send(actor, token, "POST", f"/api/v1/credits/organization/{org_id}/allocate",
                                {"user_email": email, "credits": credits})

    async def org_credits(self, actor: str, token: str, org_id: str) -> Answer:
        return await self._send(actor, token, "GET", f"/api/v1/credits/organization/{org_id}")

    async def my_allocation(self, actor: str, token: str, org_id: str) -> Answer:
        return await self._send(actor, token, "GET", f"/api/v1/credits/organization/{org_id}/my-allocation")

    async def usage_attribution(self, actor: str, token: str, org_id: str) -> Answer:
        return await self._send(actor, token, "GET", f"/api/v1/credits/organization/{org_id}/usage-attribution")

    # -- BYOK -----------------------------------------------------------------------------------
    async def store_byok_key(self, actor: str, token: str, provider: str, api_key: str) -> Answer:
        return await self._send(actor, token, "POST", "/api/v1/settings/byok-keys",
                                {"provider": provider, "api_key": api_key})

    async def byok_keys(self, actor: str, token: str) -> Answer:
        return await self._send(actor, token, "GET", "/api/v1/settings/byok-keys")

    # -- LLM ------------------------------------------------------------------------------------
    async def chat(self, actor: str, token: str | None, model: str, max_tokens: int,
                   use_byok: bool | None = None, request_id: str | None = None) -> Answer:
        headers = {}
        if use_byok is not None:
            headers["X-Use-BYOK"] = "true" if use_byok else "false"
        if request_id is not None:
            headers["X-Request-Id"] = request_id
        body = {"model": model, "max_tokens": max_tokens,
                "messages": [{"role": "user", "content": "Summarise the credit flow in one sentence."}]}
        return await self._send(actor, token, "POST", "/api/v1/llm/chat/completions", body, headers)

    async def chat_as_sent(self, actor: str, token: str, body: Any) -> Answer:
        """A chat request exactly as given: a dict is sent as JSON, a string as raw bytes."""
        if isinstance(body, str):
            return await self._send(actor, token, "POST", "/api/v1/llm/chat/completions", content=body)
        return await self._send(actor, token, "POST", "/api/v1/llm/chat/completions", body)
