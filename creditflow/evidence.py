"""What a scenario did, kept as evidence for its report: HTTP exchanges and the ledger rows it checked."""

import json
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


@dataclass
class Evidence:
    redactor: Redactor
    exchanges: list[Exchange] = field(default_factory=list)
    ledger_rows: list[dict] = field(default_factory=list)
    omitted: int = 0

    def clear(self) -> None:
        self.exchanges.clear()
        self.ledger_rows.clear()
        self.omitted = 0

    def record(self, exchange: Exchange) -> None:
        if len(self.exchanges) < MAX_EXCHANGES:
            self.exchanges.append(exchange)
        else:
            self.omitted += 1

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
