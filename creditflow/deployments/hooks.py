"""What a deployment offers the tools beside the scenarios, where it can: the fuzzer (its OpenAPI document, a sign-in
handed over as headers, the money a request put in) and the load generator (its requests, sent by another engine).
A deployment that offers one implements its interface; one that does not is no target for that tool."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from creditflow.deployments.base import MoneyIn, Session
from creditflow.deployments.deployment import Deployment
from creditflow.verdicts import TargetLacksPart


class FuzzTarget(ABC):
    """A deployment Schemathesis can fuzz as the suite's personas."""

    openapi_path: str  # where the deployment publishes its OpenAPI document

    @abstractmethod
    def tool_headers(self, session: Session) -> dict[str, str]:
        """The headers that carry `session` for a tool that sends its own requests (the fuzzer)."""

    @abstractmethod
    def money_in(self, method: str, path: str, query: dict[str, str], status: int, body: Any) -> MoneyIn | None:
        """What a request another tool sent put into an account, when it succeeded and put any in."""


class LoadTarget(ABC):
    """A deployment whose requests a load generator sends and whose answers it reads."""

    @classmethod
    @abstractmethod
    def requests_only(cls, ops_center_url: str, client: Callable[..., Any], identity: Any,
                      build: str = "") -> Deployment:
        """The deployment's API alone: its HTTP client made by `client(base_url, **HttpClient's options)`, its
        sign-ins through `identity`; `build`, the product's build where the deployment knows several. What a load
        generator sends and how it reads the answers; no ledger, cache or billing is connected."""


def load_target(kind: type[Deployment]) -> type[LoadTarget]:
    """The deployment class, as a load generator's target; TargetLacksPart where it offers none."""
    if not issubclass(kind, LoadTarget):
        raise TargetLacksPart(f"the deployment {kind.name} cannot hand its requests to a load generator")
    return kind
