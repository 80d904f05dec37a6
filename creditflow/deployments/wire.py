"""A deployment's requests sent by another engine: the load generator (Locust) sends what the deployment
would send, and the deployment reads the answers as it always does.

The deployment's own async code runs unchanged over a `WireClient`: each request it makes suspends it and
comes out of `drive` as a `WireRequest`; the engine sends it with its own (gevent) HTTP client and resumes
the deployment with the `Answer`. No asyncio loop runs in the load generator, and no path, header or JSON
field is written twice: they stay in the deployment module.
"""

import json as jsonlib
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import requests

from creditflow.deployments.http import NO_ANSWER, Answer, KeepNoCookies
from creditflow.systems.identity import IdentityError, access_token, password_grant


@dataclass(frozen=True)
class WireRequest:
    method: str
    url: str  # absolute
    headers: dict[str, str] = field(default_factory=dict)
    json: Any = None
    content: str | None = None
    form: dict[str, str] | None = None
    params: dict[str, Any] | None = None
    timeout_s: float = 120
    keepalive: bool = True


class Exchange:
    """An awaitable that hands `request` to whoever drives the coroutine, and returns the answer it is given."""

    def __init__(self, request: WireRequest):
        self.request = request

    def __await__(self):
        answer = yield self.request
        return answer


class WireClient:
    """Stands in for HttpClient (same options): the deployment's requests leave through `drive`."""

    def __init__(self, base_url: str, headers: dict[str, str] | None = None, keepalive: bool = True,
                 timeout_s: float = 120, own_addresses: bool = False):
        # Under load every user calls from this machine's address: `requests` under gevent binds no other.
        self.base_url, self.headers = base_url.rstrip("/"), dict(headers or {})
        self.keepalive, self.timeout_s = keepalive, timeout_s
        self.unanswered = 0

    @staticmethod
    def origin_for(user: str) -> str:
        return ""

    def _request(self, method: str, path: str, headers: dict[str, str] | None, **parts) -> WireRequest:
        sent_headers = self.headers | dict(headers or {})
        if parts.get("content") is not None:
            sent_headers["Content-Type"] = "application/json"
        return WireRequest(method, self.base_url + path, sent_headers, timeout_s=self.timeout_s,
                           keepalive=self.keepalive, **parts)

    async def send(self, actor: str, method: str, path: str, *, json: Any = None, content: str | None = None,
                   headers: dict[str, str] | None = None, params: dict[str, Any] | None = None,
                   origin: str = "") -> Answer:
        answer = await Exchange(self._request(method, path, headers, json=json, content=content, params=params))
        self.unanswered += answer.status == NO_ANSWER
        return answer

    async def stream(self, actor: str, path: str, **_) -> Answer:
        raise NotImplementedError("the load sends no streamed calls: a stream's pieces are not one request's answer")

    async def close(self) -> None:
        return None


class WireIdentity:
    """Keycloak's password grant, sent by the engine instead of python-keycloak (whose async client cannot run
    under gevent): the contract's sign-in. `keycloak`: its url, realm, client_id and client_secret."""

    def __init__(self, keycloak: dict[str, str]):
        self._keycloak = keycloak

    async def sign_in(self, username: str, password: str) -> tuple[str, float]:
        k = self._keycloak
        url, form = password_grant(k["url"], k["realm"], k["client_id"], k["client_secret"], username, password)
        answer = await Exchange(WireRequest("POST", url, form=form))
        if not answer.ok:
            raise IdentityError(f"Keycloak refused the sign-in of {username}: {answer.status}")
        return access_token(answer.body), answer.elapsed_ms


def drive(coroutine: Coroutine, send: Callable[[WireRequest], Answer]):
    """Runs a deployment's coroutine to its end, sending each request it makes with `send`; returns its result."""
    answer = None
    try:
        while True:
            request = coroutine.send(answer)
            if not isinstance(request, WireRequest):
                coroutine.close()
                raise RuntimeError(f"the deployment waited on {request!r}, not on a request the engine can send")
            answer = send(request)
    except StopIteration as finished:
        return finished.value


class Transport:
    """Sends WireRequests with `requests` (cooperative under Locust's gevent), one session per load user."""

    def __init__(self):
        self._session = requests.Session()
        self._session.cookies.set_policy(KeepNoCookies())  # the deployment carries each session itself

    def close(self) -> None:
        self._session.close()

    def send(self, request: WireRequest) -> Answer:
        headers = dict(request.headers)
        if not request.keepalive:  # a deployment that opens a new connection per request (a 500 drops it)
            headers["Connection"] = "close"
        started = time.perf_counter()
        try:
            response = self._session.request(request.method, request.url, headers=headers, json=request.json,
                                             data=request.content if request.form is None else request.form,
                                             params=request.params, timeout=(10, request.timeout_s))
        except (requests.Timeout, requests.ConnectionError) as error:
            if isinstance(error, requests.ConnectTimeout):
                raise
            elapsed = (time.perf_counter() - started) * 1000
            return Answer(NO_ANSWER, f"no answer ({type(error).__name__})", {}, elapsed)
        elapsed = (time.perf_counter() - started) * 1000
        try:
            body = jsonlib.loads(response.content) if response.content else None
        except ValueError:
            body = response.text
        return Answer(response.status_code, body, {name.lower(): value for name, value in response.headers.items()},
                      elapsed)
