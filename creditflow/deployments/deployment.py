"""A deployment: one Ops-Center API, its storage and what it declares of its product, put together from one object
per capability (capabilities.py) and one reader per part of its books (readers.py)."""

from __future__ import annotations

from abc import ABC, abstractmethod

from creditflow.config import Config
from creditflow.deployments.base import Reply
from creditflow.deployments.capabilities import Accounts, Keys, LlmCalls, Organizations, OwnCredits, Purchases, SignIns
from creditflow.deployments.declarations import Capability, DeployedFinding, Lacking, Limits, Workaround
from creditflow.deployments.readers import BillingReader, CacheReader, LedgerReader, PaymentsReader, PriceList
from creditflow.evidence import Evidence
from creditflow.systems.identity import Identity
from creditflow.verdicts import NotApplicable

# Each part a deployment may lack, and the capability that names it in `lacks`.
OPTIONAL_PARTS = {"own_credits": Capability.OWN_CREDITS, "orgs": Capability.ORGANIZATIONS, "keys": Capability.KEYS,
                  "sign_ins": Capability.LIMITS, "purchases": Capability.PAYMENTS, "ledger": Capability.LEDGER,
                  "cache": Capability.CACHE, "billing": Capability.BILLING, "payments": Capability.PAYMENTS}


class Deployment(ABC):
    """One Ops-Center API, in business terms: `deployment.orgs.create(...)`, `deployment.calls.make(...)`."""

    name: str
    # Features the product does not have, each with the reason and where in the product it is seen; a
    # scenario tagged `@needs.<feature>` is then not applicable (as test262 lets an engine declare what it lacks).
    lacks: dict[str, str] = {}
    # What the adapter does for the product that a client of the guide would not have to (a row it writes, a
    # header it sends), each with what the product as deployed would do: listed in the conformance report, so that a
    # reader judges each verdict with it in view; a difference that is a defect is also a deployed finding.
    workarounds: tuple[Workaround, ...] = ()
    deployed_findings: tuple[DeployedFinding, ...] = ()
    # Where the product cannot take more calls in flight (a defect scenarios of their own show), a batch whose Rule
    # is not about simultaneity (the 700 calls before the quota) sends at most this many at a time; None: no limit.
    in_flight_at_most: int | None = None
    limits: Limits | None = None  # None where the deployment lacks Capability.LIMITS
    session_max_age_s: float  # sign in again before a session this old

    def __init__(self, *, prices: PriceList, accounts: Accounts, calls: LlmCalls, identity: Identity | None = None,
                 own_credits: OwnCredits | None = None, orgs: Organizations | None = None, keys: Keys | None = None,
                 sign_ins: SignIns | None = None, purchases: Purchases | None = None,
                 ledger: LedgerReader | None = None, cache: CacheReader | None = None,
                 billing: BillingReader | None = None, payments: PaymentsReader | None = None):
        """Every part the product has, built by the deployment's `connect`; a part left out is one the deployment
        declares in `lacks` that its product lacks, and answers NotApplicable with the reason."""
        self.prices, self.accounts, self.calls, self.identity = prices, accounts, calls, identity
        given = {"own_credits": own_credits, "orgs": orgs, "keys": keys, "sign_ins": sign_ins, "purchases": purchases,
                 "ledger": ledger, "cache": cache, "billing": billing, "payments": payments}
        for part, capability in OPTIONAL_PARTS.items():
            if capability in self.lacks:
                given[part] = Lacking(self.lacks[capability])
            elif given[part] is None:
                raise TypeError(f"{type(self).__name__} neither implements {part} nor declares in `lacks` that its "
                                f"product has no {capability}")
        self.own_credits: OwnCredits = given["own_credits"]
        self.orgs: Organizations = given["orgs"]
        self.keys: Keys = given["keys"]
        self.sign_ins: SignIns = given["sign_ins"]
        self.purchases: Purchases = given["purchases"]
        self.ledger: LedgerReader = given["ledger"]
        self.cache: CacheReader = given["cache"]
        self.billing: BillingReader = given["billing"]
        self.payments: PaymentsReader = given["payments"]

    @classmethod
    @abstractmethod
    async def connect(cls, config: Config, evidence: Evidence, run_marks: dict[str, str]) -> Deployment:
        """The deployment the run's configuration names, every part connected; each account it creates in the
        identity provider carries `run_marks` (the run, host and process that made it)."""

    @classmethod
    def declared_for(cls, config: Config) -> tuple[tuple[Workaround, ...], tuple[DeployedFinding, ...]]:
        """The workarounds and deployed findings the deployment declares for the product a run's configuration
        names, as its report lists them once the run is over."""
        return cls.workarounds, cls.deployed_findings

    def has(self, capability: Capability) -> bool:
        return capability not in self.lacks

    def declared_limits(self) -> Limits:
        """The limits on sign-ins the deployment declares; NotApplicable where it lacks them."""
        if self.limits is None:
            raise NotApplicable(self.lacks[Capability.LIMITS])
        return self.limits

    @abstractmethod
    async def health(self) -> Reply[dict[str, str]]:
        """Each part Ops-Center depends on, and "ok" or what is wrong with it."""

    @property
    @abstractmethod
    def unanswered(self) -> int:
        """How many requests Ops-Center took and never answered, since the run began (the restart check
        after each scenario reads it, so every deployment must count them)."""

    @abstractmethod
    async def close(self) -> None: ...
