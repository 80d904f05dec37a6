"""The limit on invalid sign-ins (docs/contract.md, "Limits a client cannot lift"): an address that presented too
many of them within a minute is refused until that minute has passed.

The address is the connection's peer as the server saw it (`request.client.host`): uvicorn replaces it with what
X-Forwarded-For says only for a proxy named in `--forwarded-allow-ips` (the sandbox passes OPS_TRUSTED_PROXIES),
and nothing here reads a header a client may set. Counted in memory, per process: the reference runs one.
"""

import math
import time
from collections import defaultdict, deque

from starlette.requests import Request

INVALID_SIGN_INS_PER_WINDOW = 10
WINDOW_S = 60
UNLIMITED_PATHS = ("/health",)  # a monitor on a refused address still sees how the service is


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


def presents_a_sign_in(request: Request) -> bool:
    """Whether the request carries a sign-in at all: one that carries none guesses nothing, and costs no check."""
    return "authorization" in request.headers


class InvalidSignIns:
    """Each address's invalid sign-ins (answers 401) of the last window."""

    def __init__(self, allowed: int = INVALID_SIGN_INS_PER_WINDOW, window_s: float = WINDOW_S):
        self.allowed, self.window_s = allowed, window_s
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def _recent(self, address: str, now: float) -> deque[float]:
        failures = self._failures[address]
        while failures and failures[0] <= now - self.window_s:
            failures.popleft()
        if not failures:
            del self._failures[address]  # an address that stopped failing costs no memory
        return failures

    def wait_s(self, address: str) -> int:
        """How long the address is still refused, in whole seconds (0: it is served)."""
        now = time.monotonic()
        failures = self._recent(address, now)
        if len(failures) < self.allowed:
            return 0
        return max(math.ceil(failures[-self.allowed] + self.window_s - now), 1)

    def failed(self, address: str) -> None:
        self._failures[address].append(time.monotonic())


class InvalidSignInLimit:
    """The limit as ASGI middleware: an address past it is refused before the app sees its request, and a 401
    answered to a request that presented a sign-in is counted. It only watches the answer's status as it passes, so
    a streamed answer reaches the client piece by piece, as the app sends it, and ends as the app ends it."""

    def __init__(self, app, refusal):
        """`refusal(wait_s, limit)`: the answer that refuses an address for `wait_s` more seconds."""
        self.app, self.refusal, self.limit = app, refusal, InvalidSignIns()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request = Request(scope)
        address = client_address(request)
        if scope["path"] not in UNLIMITED_PATHS and (wait_s := self.limit.wait_s(address)):
            return await self.refusal(wait_s, self.limit)(scope, receive, send)
        counted = presents_a_sign_in(request)

        async def watched(message):
            if counted and message["type"] == "http.response.start" and message["status"] == 401:
                self.limit.failed(address)
            await send(message)

        await self.app(scope, receive, watched)
