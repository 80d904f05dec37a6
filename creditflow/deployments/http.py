"""The HTTP plumbing every deployment shares: one client, timings, and evidence of each exchange."""

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

    def field(self, name: str, default: Any = None) -> Any:
        return self.body.get(name, default) if isinstance(self.body, dict) else default


class HttpClient:
    """Sends requests on behalf of an actor and records each exchange as evidence (redacted later)."""

    def __init__(self, base_url: str, evidence: Evidence, headers: dict[str, str] | None = None,
                 keepalive: bool = True, transport: httpx.AsyncBaseTransport | None = None):
        # Idle connections close before the server's keep-alive ends (uvicorn: 5 s): no request is sent
        # on a connection the server is closing.
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=50 if keepalive else 0,
                              keepalive_expiry=2)
        self._http = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=httpx.Timeout(120, connect=10),
                                       limits=limits, headers=headers, transport=transport)
        self._evidence = evidence

    async def close(self) -> None:
        await self._http.aclose()

    async def send(self, actor: str, method: str, path: str, *, json: Any = None, content: str | None = None,
                   headers: dict[str, str] | None = None, params: dict[str, Any] | None = None) -> Answer:
        sent_headers = dict(headers or {})
        if content is not None:
            sent_headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        response = await self._http.request(method, path, json=json, content=content, headers=sent_headers,
                                            params=params)
        elapsed = (time.perf_counter() - started) * 1000
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = response.text
        answer = Answer(response.status_code, body, {k.lower(): v for k, v in response.headers.items()}, elapsed)
        shown_path = path if not params else f"{path}?{httpx.QueryParams(params)}"
        self._evidence.record(Exchange(actor, method, shown_path, answer.status, elapsed,
                                       json if content is None else content, body))
        return answer


def server_timing(answer: Answer) -> dict[str, float]:
    """Phases the server reports in Server-Timing, in milliseconds."""
    phases = {}
    for part in answer.headers.get("server-timing", "").split(","):
        name, _, rest = part.strip().partition(";dur=")
        if name and rest:
            phases[name] = float(rest)
    return phases
