"""The HTTP plumbing every deployment shares: one client, timings, and evidence of each exchange."""

import hashlib
import ipaddress
import json as jsonlib
import time
from dataclasses import dataclass, field
from decimal import Decimal
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpx

from creditflow.deployments.base import (
    Account,
    AddressHeader,
    ClaimedAddress,
    RefusalKind,
)
from creditflow.evidence import NO_ANSWER, PYDANTIC_LINK, Evidence, Exchange

# The usual meaning of an error status; a deployment overrides what its API means otherwise.
STATUS_KINDS = {400: RefusalKind.INVALID, 401: RefusalKind.UNAUTHORIZED, 402: RefusalKind.PAYMENT,
                403: RefusalKind.FORBIDDEN, 404: RefusalKind.NOT_FOUND, 409: RefusalKind.CONFLICT,
                422: RefusalKind.INVALID, 429: RefusalKind.TOO_MANY, NO_ANSWER: RefusalKind.NO_ANSWER}
COMPRESSED = "gzip, deflate"  # what a client that accepts a compressed answer asks for (httpx, requests, browsers)


def meaning_of(detail: Any) -> str:
    """An error's detail as a reader takes it: a validation error list (FastAPI's, pydantic's) becomes each
    field and what is wrong with it, without the raw structure or the documentation links."""
    if isinstance(detail, list) and all(isinstance(item, dict) and "msg" in item for item in detail):
        return "; ".join(f"{'.'.join(str(part) for part in item.get('loc', ()) if part != 'body')}: {item['msg']}"
                         for item in detail)
    text = detail if isinstance(detail, str) else str(detail)
    # pydantic's own error text, passed on by a server: its lines, without the documentation links
    return " ".join(line.strip() for line in PYDANTIC_LINK.sub("", text).splitlines() if line.strip())


def names_given(**names: str | None) -> dict[str, str]:
    """The fields of a request that names an account, each name given (None leaves its field out)."""
    return {field: name for field, name in names.items() if name is not None}


class KeepNoCookies(DefaultCookiePolicy):
    """Each actor holds its own session: the client shared by all of them keeps no cookie of any."""

    def set_ok(self, cookie, request) -> bool:
        return False


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    elapsed_ms: float = 0.0
    events: tuple = ()  # of a server-sent event stream: each `data:` line, parsed as JSON where it is JSON
    left_early: bool = False  # the stream was closed by the client before it ended

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def field(self, name: str, default: Any = None) -> Any:
        return self.body.get(name, default) if isinstance(self.body, dict) else default


class HttpClient:
    """Sends requests on behalf of an actor and records each exchange as evidence (redacted later)."""

    def __init__(self, base_url: str, evidence: Evidence, headers: dict[str, str] | None = None,
                 keepalive: bool = True, transport: httpx.AsyncBaseTransport | None = None, timeout_s: float = 120,
                 own_addresses: bool = False):
        # Idle connections close before the server's keep-alive ends (uvicorn: 5 s): no request is sent
        # on a connection the server is closing.
        self._limits = httpx.Limits(max_connections=100, max_keepalive_connections=50 if keepalive else 0,
                                    keepalive_expiry=2)
        # One TLS context for all its clients, as httpx would make it for each: a client per user's address made one
        # each, some 30 ms of CPU, on plain HTTP too (a run of 206 scenarios has over 400 users).
        self._tls = httpx.create_ssl_context()
        self._options = {"base_url": base_url.rstrip("/"), "timeout": httpx.Timeout(timeout_s, connect=10),
                         "headers": headers, "verify": self._tls}
        self.timeout_s = timeout_s
        self.unanswered = 0  # requests the server took and never answered, since the start
        self._http = self._client(transport=transport, limits=self._limits)
        # A product on this machine sees every request come from 127.0.0.1, as if all users shared one address;
        # with own_addresses, each user calls from an address of their own, as users of a deployed product do.
        self._own_addresses = own_addresses and transport is None and is_loopback(base_url)
        self._by_origin: dict[str, httpx.AsyncClient] = {}
        self._evidence = evidence

    def _client(self, **options: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(**self._options, cookies=CookieJar(policy=KeepNoCookies()), **options)

    def origin_for(self, user: str) -> str:
        """The address `user` calls from: one of their own on a loopback target with own_addresses; "" (this
        machine's) otherwise."""
        return address_of(user) if self._own_addresses else ""

    def _from(self, origin: str) -> httpx.AsyncClient:
        if not origin:
            return self._http
        if origin not in self._by_origin:
            self._by_origin[origin] = self._client(transport=httpx.AsyncHTTPTransport(
                local_address=origin, limits=self._limits, verify=self._tls))
        return self._by_origin[origin]

    async def close(self) -> None:
        for client in (self._http, *self._by_origin.values()):
            await client.aclose()

    async def send(self, actor: str, method: str, path: str, *, json: Any = None, content: str | None = None,
                   headers: dict[str, str] | None = None, params: dict[str, Any] | None = None,
                   origin: str = "", form: dict[str, str] | None = None) -> Answer:
        """`form`: a body of form fields (an OAuth token request's), where `json` and `content` are a JSON body."""
        sent_headers = dict(headers or {})
        if content is not None:
            sent_headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        try:
            response = await self._from(origin).request(method, path, json=json, content=content, data=form,
                                                         headers=sent_headers, params=params)
        except (httpx.TimeoutException, httpx.RemoteProtocolError, httpx.ReadError) as error:
            # The server took the request and never answered it: the system's behaviour, not the suite's.
            # (A target that cannot be reached at all still raises: that is the environment.)
            if isinstance(error, httpx.ConnectTimeout):
                raise
            elapsed = (time.perf_counter() - started) * 1000
            what = (f"no answer within {self.timeout_s:.0f} s" if isinstance(error, httpx.TimeoutException)
                    else f"the connection was dropped without an answer ({type(error).__name__})")
            answer = Answer(NO_ANSWER, what, {}, elapsed)
            self.unanswered += 1
            self._evidence.record(Exchange(actor, method, path, NO_ANSWER, elapsed, json, what))
            return answer
        elapsed = (time.perf_counter() - started) * 1000
        body = body_of(response)
        answer = Answer(response.status_code, body, lowered(response.headers), elapsed)
        shown_path = path if not params else f"{path}?{httpx.QueryParams(params)}"
        self._evidence.record(Exchange(actor, method, shown_path, answer.status, elapsed,
                                       form or (json if content is None else content), body))
        return answer

    async def stream(self, actor: str, path: str, *, json: Any, headers: dict[str, str] | None = None,
                     leave_after: int | None = None, origin: str = "") -> Answer:
        """A POST whose answer is read as server-sent events; after `leave_after` pieces (events for which
        `streamed_piece` holds) the client stops listening and closes the connection."""
        started, events, pieces, left = time.perf_counter(), [], 0, False
        try:
            async with self._from(origin).stream("POST", path, json=json, headers=headers) as response:
                if not response.headers.get("content-type", "").startswith("text/event-stream"):
                    await response.aread()
                    body = body_of(response)
                    answer = Answer(response.status_code, body, lowered(response.headers),
                                    (time.perf_counter() - started) * 1000)
                    self._evidence.record(Exchange(actor, "POST", path, answer.status, answer.elapsed_ms, json, body))
                    return answer
                async for line in response.aiter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line.removeprefix("data:").strip()
                    try:
                        events.append(jsonlib.loads(data))
                    except ValueError:
                        events.append(data)
                    pieces += streamed_piece(events[-1])
                    if leave_after is not None and pieces >= leave_after:
                        left = True
                        break
                status, headers_seen = response.status_code, lowered(response.headers)
        except (httpx.TimeoutException, httpx.RemoteProtocolError, httpx.ReadError) as error:
            elapsed = (time.perf_counter() - started) * 1000
            self.unanswered += 1
            what = f"the stream broke off after {len(events)} events ({type(error).__name__})"
            self._evidence.record(Exchange(actor, "POST", path, NO_ANSWER, elapsed, json, what))
            return Answer(NO_ANSWER, what, {}, elapsed, tuple(events))
        elapsed = (time.perf_counter() - started) * 1000
        shown = (f"{len(events)} server-sent events" + (", then the client left" if left else "")
                 + (f"; the last: {events[-1]}" if events else ""))
        self._evidence.record(Exchange(actor, "POST", path, status, elapsed, json, shown))
        return Answer(status, None, headers_seen, elapsed, tuple(events), left)


def calls_left(answer: Answer) -> int | None:
    """The API calls left in the period, as an answer's standard `X-RateLimit-Remaining` states them."""
    remaining = answer.headers.get("x-ratelimit-remaining", "")
    return int(remaining) if remaining.isdigit() else None


def resets_at(answer: Answer) -> int | None:
    """When the period's API calls come back, in Unix seconds, as an answer's standard `X-RateLimit-Reset` states it."""
    reset = answer.headers.get("x-ratelimit-reset", "")
    return int(reset) if reset.isdigit() else None


def owner_of(account: Account) -> str:
    """The persona an account of the suite's belongs to, as the evidence names it."""
    return account.username.split("-")[0].title()


def retry_after(answer: Answer) -> int | None:
    """How long a refusal holds, in seconds, as the standard `Retry-After` states it."""
    wait = answer.headers.get("retry-after", "")
    return int(wait) if wait.isdigit() else None


def claiming(claim: ClaimedAddress | None) -> dict[str, str]:
    """The header a request says it comes from another address in; RFC 7239's `Forwarded` names it `for=`."""
    if claim is None:
        return {}
    value = f"for={claim.address}" if claim.header is AddressHeader.FORWARDED else claim.address
    return {claim.header.value: value}


def is_loopback(url: str) -> bool:
    host = httpx.URL(url).host
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def address_of(user: str) -> str:
    """An address of 127.0.0.0/8 (all of it this machine's) that is `user`'s alone, short of a hash collision;
    never 127.0.0.1, the address of everything else."""
    a, b, c = hashlib.sha256(user.encode()).digest()[:3]
    return f"127.{a}.{b}.{min(max(c, 2), 254)}"


def body_of(response: httpx.Response) -> Any:
    """The answer's JSON, or its text where it is not JSON (a plain "Internal Server Error", say)."""
    try:
        return response.json() if response.content else None
    except ValueError:
        return response.text


def lowered(headers: httpx.Headers) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def streamed_piece(event: Any) -> bool:
    """An OpenAI chat chunk that carries some of the answer's text."""
    return isinstance(event, dict) and any((choice.get("delta") or {}).get("content")
                                           for choice in event.get("choices") or [])


def credits(value: Any) -> Decimal | None:
    """An amount of credits as an API gave it (a number or a decimal string), exactly."""
    return None if value is None else Decimal(str(value))
