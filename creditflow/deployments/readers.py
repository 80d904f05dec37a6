"""The deployment's books, read where the product keeps them (its ledger, its cache, what billing was told, the
payment provider's records), and its prices: what the money checks read, never through the product's API."""

from abc import ABC, abstractmethod
from decimal import Decimal
from typing import Any

from creditflow.deployments.base import CallResult, Charge, PaidIn, Statement, UsageEvent


class PriceList(ABC):
    """What a call costs on this deployment, as the deployment computes it."""

    smallest_amount: Decimal  # the finest amount of credits the deployment moves

    @property
    def allocation_unit(self) -> Decimal:
        """The finest amount an organization can allocate to a member: asked only after the product refused an
        amount as invalid, to find the nearest amount it holds that still tests the rule."""
        return self.smallest_amount

    @abstractmethod
    def price(self, model: str, tokens: int, plan: str | None = None) -> Decimal:
        """What `tokens` tokens of `model` cost a caller on `plan` (where prices depend on the plan)."""


def balance_problems(owner: str, balance: Decimal, transactions_sum: Decimal) -> list[str]:
    """A user's balance against the ledger's own invariants (docs/contract.md, "Storage"): never negative, and equal to
    the sum of its transactions; `owner` names the account as the product's books name it."""
    problems = []
    if balance < 0:
        problems.append(f"{owner} has a negative balance of {balance} credits")
    if balance != transactions_sum:
        problems.append(f"{owner}'s balance of {balance} credits differs from the {transactions_sum} credits its "
                        "transactions add up to")
    return problems


class LedgerReader(ABC):
    """The deployment's books in PostgreSQL, read-only."""

    @abstractmethod
    async def own_balance(self, user_id: str) -> Decimal | None: ...

    @abstractmethod
    async def charges(self, user_id: str, org_id: str | None = None) -> list[Charge]: ...

    @abstractmethod
    async def org_charges(self, org_id: str) -> list[Charge]: ...

    @abstractmethod
    async def mark(self) -> Any:
        """A point in the ledger's history: what is charged after it, `charged_after` lists."""

    @abstractmethod
    async def charged_after(self, mark: Any) -> list[Charge]:
        """Every charge the ledger took after `mark` from an account that is none of the suite's, in this run or
        another sharing the system (where the ledger can tell): a charge to an account of the product's own making
        is found only this way."""

    @abstractmethod
    async def own_statement(self, user_id: str) -> Statement | None:
        """A user's own credits: what is left, and every charge to them (None: the ledger has no such user)."""

    @abstractmethod
    async def org_statement(self, org_id: str) -> Statement | None:
        """An organization's pool: what is left, and every charge to its members."""

    @abstractmethod
    async def orgs_created_by(self, user_id: str) -> list[str]:
        """The ids of the organizations the user created (and still exist)."""

    @abstractmethod
    async def members(self, org_id: str) -> list[str]:
        """The user ids of the organization's members, its admin among them."""

    @abstractmethod
    async def calls_counted(self, user_id: str) -> int | None: ...

    @abstractmethod
    async def stored_byok_keys(self, user_id: str) -> list[bytes]: ...

    @abstractmethod
    async def user_violations(self, user_id: str) -> tuple[list[str], list[dict]]:
        """The invariants of one user's own credits: (violations, rows checked)."""

    @abstractmethod
    async def org_violations(self, org_id: str) -> tuple[list[str], list[dict]]:
        """The invariants of one organization's pool and allocations."""

    @abstractmethod
    async def close(self) -> None: ...


class CacheReader(ABC):
    """The deployment's cache in Redis, read-only."""

    @abstractmethod
    async def cached_balance(self, user_id: str) -> Decimal | None: ...

    @abstractmethod
    async def calls_this_period(self, user_id: str) -> int | None: ...

    @abstractmethod
    async def close(self) -> None: ...


class BillingReader(ABC):
    """What the deployment told Lago: customers are found the same way; each product sends its own events."""

    def __init__(self, lago):
        self._lago = lago

    async def customer_plans(self, customer_id: str) -> tuple[bool, dict[str, Decimal | None]]:
        """Whether billing knows the customer, and the plans it is actively subscribed to, each with its price."""
        customer = await self._lago.customer(customer_id)
        return customer is not None, await self._lago.active_plans(customer_id)

    @abstractmethod
    async def usage_event(self, call: CallResult) -> UsageEvent | None: ...


class PaymentsReader(ABC):
    """The payment provider's records of the payments an Ops-Center started: read at the provider, never from
    Ops-Center, and found by the labels (customer, metadata) that this product puts on them."""

    @abstractmethod
    async def paid_in(self, kind: str, key: str) -> PaidIn:
        """What the account (`kind` "user" or "organization", and its id) paid and was refunded at the provider."""

    @abstractmethod
    async def status(self, payment_id: str) -> str:
        """The payment's state at the provider: succeeded, processing, failed or requires_action."""

    @abstractmethod
    async def event_about(self, payment_id: str) -> dict | None:
        """The provider's event that reported the payment succeeded, as the provider sent it."""

    @abstractmethod
    async def paid_elsewhere(self, kind: str, key: str, credits: Decimal) -> str:
        """A payment made at the provider by someone other than this Ops-Center, labelled as the account's as this
        product labels its own; its id."""
