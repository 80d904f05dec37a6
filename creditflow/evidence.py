"""What a scenario did, kept as evidence for its report: HTTP exchanges and the ledger rows it checked."""

import json
import re
from dataclasses import dataclass, field
from typing import Any

from creditflow.redaction import Redactor


@dataclass
class Exchange:
    actor: str
    method: str
    path: str
    status: int
    elapsed_ms: float
    request: Any
    response: Any


MAX_EXCHANGES = 60  # a 700-call scenario keeps its first exchanges and counts the rest


NO_ANSWER = 0  # the status of a request the server took and never answered
# pydantic's documentation link in a server's raw validation error (as text, escaped inside JSON, or as the "url"
# field of a validation error's JSON): noise to a reader of a finding or a refusal.
PYDANTIC_LINK = re.compile(r"(\\n)?\s*For further information visit https://errors\.pydantic\.dev/[\w./-]+"
                           r'|,\s*"url":\s*"https://errors\.pydantic\.dev/[\w./-]+"')


def went_wrong(exchange: Exchange) -> bool:
    """The server failed: it answered 5xx, dropped the connection or never answered."""
    return exchange.status >= 500 or exchange.status == NO_ANSWER


@dataclass
class Evidence:
    """Each step's exchanges (attached to the step, then cleared), and, over the whole scenario, the first
    exchange in which the server failed and the last one it refused: what a verdict and a finding cite."""

    redactor: Redactor
    exchanges: list[Exchange] = field(default_factory=list)
    ledger_rows: list[dict] = field(default_factory=list)
    omitted: int = 0
    first_failure: Exchange | None = None
    last_refusal: Exchange | None = None
    last_exchange: Exchange | None = None
    hung: bool = False  # the server left a request of the scenario unanswered

    def clear(self) -> None:
        self.exchanges.clear()
        self.ledger_rows.clear()
        self.omitted = 0

    def begin_scenario(self) -> None:
        self.clear()
        self.first_failure = self.last_refusal = self.last_exchange = None
        self.hung = False

    def record(self, exchange: Exchange) -> None:
        if went_wrong(exchange) and self.first_failure is None:
            self.first_failure = exchange
        self.hung = self.hung or exchange.status == NO_ANSWER
        if not 200 <= exchange.status < 300:
            self.last_refusal = exchange
        self.last_exchange = exchange
        if len(self.exchanges) < MAX_EXCHANGES:
            self.exchanges.append(exchange)
        else:
            self.omitted += 1

    def one_line(self, exchange: Exchange, limit: int = 400) -> str:
        """An exchange as a finding cites it, redacted: the request, then the answer."""
        sent = "" if exchange.request is None else " " + self._dump(exchange.request)
        answered = "no answer" if exchange.status == NO_ANSWER else str(exchange.status)
        text = PYDANTIC_LINK.sub("", f"{exchange.method} {exchange.path}{sent} -> {answered} "
                                      f"{self._dump(exchange.response)}")
        return self.redactor.text(text if len(text) <= limit else text[:limit] + " ...(cut)")

    def http_log(self) -> str:
        lines = []
        for exchange in self.exchanges:
            lines.append(f"{exchange.actor}: {exchange.method} {exchange.path} -> {exchange.status} "
                         f"({exchange.elapsed_ms:.1f} ms)")
            if exchange.request is not None:
                lines.append(f"  request:  {self._dump(exchange.request)}")
            lines.append(f"  response: {self._dump(exchange.response)}")
        if self.omitted:
            lines.append(f"... and {self.omitted} more exchanges of the same kind, not listed")
        return self.redactor.text("\n".join(lines))

    def ledger_log(self) -> str:
        return self.redactor.text(json.dumps(self.redactor.data(self.ledger_rows), indent=2, default=str))

    def _dump(self, value: Any) -> str:
        text = json.dumps(self.redactor.data(value), default=str)
        return text if len(text) <= 2000 else text[:2000] + " ...(cut)"
