"""What every deployment answers, in business terms: the interface steps reach through the driver.

A deployment is one Ops-Center API and its storage: the guide's contract (the reference in sandbox/),
or a real product. Only a deployment module knows a URL path, a header, a cookie or a JSON field; it
returns the typed results below, never a response body.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any, Generic, TypeVar

from creditflow.systems.identity import Account, Identity
from creditflow.systems.payment_provider import Delivery, PayWith
from creditflow.verdicts import CannotArrange, NotApplicable, TargetLacksPart

T = TypeVar("T")


class Payer(StrEnum):
    OWN_CREDITS = "own credits"
    ORGANIZATION = "organization"
    BYOK = "own key"


class ForeignSignIn(StrEnum):
    """Sign-ins that must be refused though the account behind them exists."""

    EXPIRED = "expired"
    OTHER_REALM = "from another realm"


class Malformed(StrEnum):
    """Chat requests a careless client sends: each must be refused as invalid, at no cost."""

    UNKNOWN_MODEL = "unknown model"
    NO_MESSAGES = "no messages"
    NEGATIVE_BUDGET = "negative token budget"
    FRACTIONAL_BUDGET = "fractional token budget"
    BUDGET_BEYOND_CONTEXT = "token budget beyond the model's context"
    NOT_JSON = "body that is not JSON"


class RefusalKind(StrEnum):
    PAYMENT = "payment"
    QUOTA = "quota"  # the plan's API calls for the period are used up
    TOO_MANY = "too many requests"  # a rate limit: the same request may be served a little later
    DUPLICATE = "duplicate"
    INVALID = "invalid"
    PROVIDER_FAILURE = "provider failure"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not found"
    CONFLICT = "conflict"
    SERVER_ERROR = "server error"
    NO_ANSWER = "no answer"  # the request timed out, or the connection was dropped
    UNREADABLE = "unreadable answer"  # a success the client cannot read (an empty body, a status not the contract's)


@dataclass(frozen=True)
class Refusal:
    """Why Ops-Center did not do what was asked, with the facts it gave."""

    kind: RefusalKind
    status: int
    detail: str
    required: Decimal | None = None
    available: Decimal | None = None
    upgrade_offered: bool = False
    no_allocation: bool = False
    resets_at: int | None = None  # Unix seconds when the API-call quota resets
    retry_after_s: int | None = None  # how long a limit holds the refusal, as the answer's Retry-After says

    def describe(self) -> str:
        if self.kind is RefusalKind.NO_ANSWER:
            return f"gave no answer ({self.detail})"
        return f"answered {self.status} ({self.kind}) '{self.detail}'"


@dataclass(frozen=True)
class Reply(Generic[T]):
    """The answer to one operation: its value, or the refusal."""

    value: T | None = None
    refusal: Refusal | None = None
    elapsed_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.refusal is None

    def describe(self) -> str:
        return "succeeded" if self.refusal is None else self.refusal.describe()


@dataclass
class Session:
    """Whatever a deployment signs an actor in with (a bearer token, a session cookie, ...)."""

    secret: str
    signed_in_at: float
    elapsed_ms: float = 0.0  # how long the sign-in took
    owner: str = "a stranger"  # the actor's name, for the evidence
    presented_as: str = ""  # where a deployment takes a sign-in in more than one form: the form of this one
    origin: str = ""  # the network address the actor calls from ("": this machine's)


class AddressHeader(StrEnum):
    """A header in which a client may say it calls from an address other than its connection's."""

    FORWARDED_FOR = "X-Forwarded-For"
    REAL_IP = "X-Real-IP"
    FORWARDED = "Forwarded"


@dataclass(frozen=True)
class ClaimedAddress:
    """What a request says of where it comes from: `address`, in `header`."""

    header: AddressHeader
    address: str


@dataclass(frozen=True)
class Limits:
    """The limits on sign-ins a deployment holds, as declared from its source: what each counts, what it is keyed
    on, and where in the product it is seen."""

    failed_sign_ins_before_lockout: int | None  # an account's failed sign-ins before it is locked; None: no lockout
    lockout_keyed_on: str
    lockout_seen_at: str
    invalid_sign_ins_per_window: int  # what an address may present within the window before it is refused
    window_s: int
    rate_keyed_on: str
    rate_seen_at: str

    def lockout(self) -> str:
        return (f"{self.failed_sign_ins_before_lockout} failed sign-ins, counted by {self.lockout_keyed_on}; seen at "
                f"{self.lockout_seen_at}")

    def rate(self) -> str:
        return (f"{self.invalid_sign_ins_per_window} invalid sign-ins in {self.window_s} s, counted by "
                f"{self.rate_keyed_on}; seen at {self.rate_seen_at}")


@dataclass(frozen=True)
class OrgRef:
    org_id: str
    name: str


@dataclass(frozen=True)
class Balance:
    credits: Decimal
    calls_used: int | None  # None: the deployment reports no API-call usage
    calls_limit: int | None
    plan: str | None


@dataclass(frozen=True)
class Pool:
    remaining: Decimal  # bought, less what calls used
    allocated: Decimal
    used: Decimal


@dataclass(frozen=True)
class Purchase:
    """A purchase Ops-Center accepted: the payment it started, and whether the credits had arrived by its answer (a
    payment that clears later credits them later)."""

    payment_id: str | None
    credited: bool
    granted: bool = False  # no purchase at all: a platform admin's grant into the pool, where nothing else stocks it


@dataclass(frozen=True)
class PaidIn:
    """What the payment provider's records show an account paid, in credits' worth at the product's price."""

    paid: Decimal  # payments that succeeded
    refunded: Decimal  # given back of them
    payments: int  # how many succeeded
    charged: Decimal = Decimal(0)  # the same, in dollars
    given_back: Decimal = Decimal(0)

    @property
    def kept(self) -> Decimal:
        return self.paid - self.refunded

    def describe(self) -> str:
        if not self.payments:
            return "no payment succeeded at the payment provider"
        paid = f"{self.payments} {'payment' if self.payments == 1 else 'payments'} at the payment provider paid for " \
               f"{self.paid:,} credits"
        return paid + (f", {self.refunded:,} of them refunded" if self.refunded else "")


@dataclass(frozen=True)
class Allocation:
    allocated: Decimal
    used: Decimal
    remaining: Decimal


@dataclass(frozen=True)
class MemberUsage:
    member: str  # the e-mail or user id the deployment attributes usage to
    credits: Decimal
    calls: int | None


@dataclass(frozen=True)
class ByokSettings:
    openrouter_configured: bool
    hints: tuple[str, ...]
    shown: str  # everything the settings showed, to prove the key is not among it


@dataclass(frozen=True)
class CallRequest:
    model: str
    tokens: int
    use_byok: bool | None = None
    request_id: str | None = None
    stream: bool = False  # the answer is read as it is written (server-sent events)
    leave_after: int | None = None  # of a stream: the pieces read before the caller stops listening
    scope: str = ""  # the scenario's, named in the question so the provider double knows whose call it is
    compressed: bool = False  # the client accepts a compressed answer, as browsers and HTTP libraries do
    sender: str | None = None  # the name the question is signed with (a message's name in OpenAI's chat API)
    answers_tool_call: str | None = None  # the id of a tool call the conversation answers with the tool's answer
    org: OrgRef | None = None  # the organization the call names to pay for it (None: the call names none)


@dataclass(frozen=True)
class CallResult:
    """One LLM call: succeeded or refused, what it cost, who paid, and what the provider reported."""

    request: CallRequest
    sent_at: float
    elapsed_ms: float
    refusal: Refusal | None = None
    cost: Decimal | None = None
    paid_by: Payer | None = None
    tokens: int | None = None  # as the provider reported them
    request_id: str | None = None
    phases: dict[str, float] = field(default_factory=dict)  # server-side timings, milliseconds
    pieces: int = 0  # of a streamed answer: the pieces of text received
    left_early: bool = False  # the caller stopped listening before the stream ended
    calls_left: int | None = None  # API calls left in the period, as the answer states them (None: it does not)
    resets_at: int | None = None  # Unix seconds when the period's API calls come back, as the answer states it

    @property
    def succeeded(self) -> bool:
        return self.refusal is None

    @property
    def model(self) -> str:
        return self.request.model

    def describe(self) -> str:
        if self.left_early:
            return f"left by the caller after {self.pieces} pieces of the streamed answer"
        if self.refusal is None:
            cost = "without saying what it cost" if self.cost is None else f"{self.cost} credits"
            payer = "without saying who paid" if self.paid_by is None else f"paid by {self.paid_by}"
            return f"succeeded, {cost}, {payer}" if self.cost is None else f"succeeded, {cost} {payer}"
        return self.refusal.describe()


@dataclass(frozen=True)
class Charge:
    request_id: str | None
    user_id: str
    org_id: str | None
    credits: Decimal
    model: str | None
    tokens: int | None


@dataclass(frozen=True)
class Workaround:
    """What the adapter or the sandbox does for the product that a client of the guide would not have to, and
    whether the product as its own deployment files run it would behave differently."""

    what: str
    as_deployed: str


@dataclass(frozen=True)
class DeployedFinding:
    """A defect that shows only as the product's own deployment files run it (behind their proxy, say), which the
    sandbox does not reproduce: read from those files, each step of the argument with its file and line."""

    finding_class: str  # a Verdict's value
    claim: str  # the broken claim, and where it comes from
    as_deployed: str  # what the product as deployed does instead
    why: str  # the argument, with the files and lines of the product and its deployment
    unmet: str  # why no scenario of the run meets it


@dataclass(frozen=True)
class MoneyIn:
    """Credits a request put into an account: a purchase into an organization's pool, or a grant to a user."""

    kind: str  # "user" or "organization"
    key: str  # the user's or organization's id
    amount: Decimal


@dataclass(frozen=True)
class Statement:
    """An account as its ledger holds it: the credits left in it, and the credits charged from it."""

    left: Decimal
    charged: Decimal


@dataclass(frozen=True)
class UsageEvent:
    """What billing received for one call."""

    model: str | None
    tokens: int | None
    credits: Decimal | None
    customer: str | None  # the billed customer or subscription
    member: str | None  # the user it names, where it names one


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


class ProductRefused(AssertionError):
    """Ops-Center refused something a scenario needs to arrange (a sign-in, say): the product's doing."""

    def __init__(self, message: str, refusal: Refusal | None = None):
        super().__init__(message)
        self.refusal = refusal  # what Ops-Center answered, when it answered


class Hold:
    """Calls a scenario sends at once, held by the deployment until they are all in flight and then let go
    together, so that "at once" means at once in every run. This one holds nothing."""

    async def release(self, in_flight: int) -> None:
        """Lets the held calls go once `in_flight` of them wait, or once no more arrive."""


class Capability(StrEnum):
    """What a scenario may need of a deployment beyond signing people in and making LLM calls, which every
    deployment does. A deployment implements the capabilities its product has and declares in `lacks`, with the
    reason, each one it lacks; asked for one it lacks, it answers NotApplicable, and the scenario is not applicable.
    """

    OWN_CREDITS = "own-credits"  # balances, grants
    ORGANIZATIONS = "organizations"  # organizations, their pools, members and allocations
    KEYS = "keys"  # the user's own provider keys (BYOK)
    LEDGER = "ledger"  # the books, read in the deployment's own storage
    CACHE = "cache"  # what the deployment caches of the books
    BILLING = "billing"  # what the billing system was told
    LIMITS = "limits"  # limits on sign-ins a client cannot lift (Limits)
    PAYMENTS = "payments"  # purchases paid at the payment provider, its events, refunds (Money in)


def of_capability(capability: Capability):
    """A method of `capability`: a deployment that lacks the capability leaves it out, and asked, it answers
    NotApplicable with the reason the deployment declares."""

    def mark(method):
        @functools.wraps(method)
        async def lacking(self, *args, **kwargs):
            raise NotApplicable(self.lacks[capability])

        lacking.capability = capability
        return lacking

    return mark


class Lacking:
    """A reader of a part the deployment lacks (its ledger, say): whatever it is asked, NotApplicable."""

    def __init__(self, reason: str):
        self._reason = reason

    def __getattr__(self, name: str):
        if name.startswith("__"):  # what Python itself asks of an object (abc asks __isabstractmethod__)
            raise AttributeError(name)

        async def lacking(*args, **kwargs):
            raise NotApplicable(self._reason)

        return lacking


class Deployment(ABC):
    """One Ops-Center API, in business terms."""

    name: str
    openapi_path: str | None = None  # where the deployment publishes its OpenAPI document, if it does
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
    prices: PriceList
    ledger: LedgerReader
    identity: Identity | None = None  # where the product signs users in through Keycloak: its accounts there
    limits: Limits | None = None  # None where the deployment lacks Capability.LIMITS
    cache: CacheReader
    billing: BillingReader
    payments: PaymentsReader

    def __init_subclass__(cls, **kwargs):
        """A deployment implements each method of a capability, or declares in `lacks` that its product lacks it."""
        super().__init_subclass__(**kwargs)
        for name in dir(Deployment):
            capability = getattr(getattr(Deployment, name), "capability", None)
            if capability and getattr(cls, name) is getattr(Deployment, name) and capability not in cls.lacks:
                raise TypeError(f"{cls.__name__} neither implements {name} nor declares in `lacks` that its "
                                f"product has no {capability}")
        for reader, capability in (("ledger", Capability.LEDGER), ("cache", Capability.CACHE),
                                   ("billing", Capability.BILLING), ("payments", Capability.PAYMENTS)):
            if capability in cls.lacks:
                setattr(cls, reader, Lacking(cls.lacks[capability]))

    @classmethod
    def declared_for(cls, config: Any) -> tuple[tuple[Workaround, ...], tuple[DeployedFinding, ...]]:
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

    @classmethod
    def requests_only(cls, ops_center_url: str, client: Callable[..., Any], identity: Any,
                      build: str = "") -> Deployment:
        """The deployment's API alone: its HTTP client made by `client(base_url, **HttpClient's options)`, its
        sign-ins through `identity`; `build`, the product's build where the deployment knows several. What a load
        generator sends and how it reads the answers; no ledger, cache or billing is connected."""
        raise TargetLacksPart(f"the deployment {cls.name} cannot hand its requests to a load generator")

    # -- people -------------------------------------------------------------------------------
    session_max_age_s: float  # sign in again before a session this old

    @abstractmethod
    async def enroll(self, username: str, plan: str, owner: str, platform_admin: bool = False,
                     arranged: bool = True) -> tuple[Account, Session]:
        """A new user on `plan`, known to Keycloak and to Ops-Center, signed in. `arranged=False`: nothing beyond
        what the product itself does when a user signs up and signs in (none of the deployment's workarounds)."""

    @abstractmethod
    async def remove(self, account: Account) -> None: ...

    @abstractmethod
    async def sign_in(self, account: Account, owner: str) -> Session: ...

    @abstractmethod
    async def plan_in_identity(self, session: Session) -> tuple[str | None, str | None]:
        """The (e-mail, plan) the identity provider vouches for in this session, verified."""

    @abstractmethod
    async def stranger_sessions(self) -> list[Session]:
        """Sessions a stranger might present: none, garbage, forged."""

    @of_capability(Capability.OWN_CREDITS)
    async def balance(self, session: Session, naming: Account | None = None) -> Reply[Balance]:
        """The session's own balance; `naming`: another account named in the request, as a prober would."""

    def tool_headers(self, session: Session) -> dict[str, str]:
        """The headers that carry `session` for a tool that sends its own requests (the fuzzer)."""
        raise TargetLacksPart("this deployment names no way to hand its sign-in to another tool")

    def money_in(self, method: str, path: str, query: dict[str, str], status: int, body: Any) -> MoneyIn | None:
        """What a request another tool sent put into an account, when it succeeded and put any in."""
        return None

    async def foreign_session(self, account: Account, kind: ForeignSignIn) -> Session:
        """A sign-in of `account` that must be refused: expired, or issued by another realm."""
        raise TargetLacksPart(f"this deployment has no sign-in that could be {kind}")

    async def forged_session(self, account: Account, forge: Callable[[str], Awaitable[str]]) -> Session:
        """A sign-in an attacker forged (`forge`) from a real token the realm issued to `account`, presented where the
        product takes a token."""
        raise TargetLacksPart(f"the deployment {self.name} takes no token of the realm that could be forged")

    async def recreate(self, account: Account, owner: str) -> tuple[Account, Session]:
        """The account removed and created again with the same username and e-mail (a new identity)."""
        await self.remove(account)
        return await self.enroll(account.username, account.plan, owner)

    @of_capability(Capability.OWN_CREDITS)
    async def grant(self, operator: Session, account: Account, credits: Decimal) -> Reply[None]:
        """Credits given by a platform administrator to the account, named by its identity."""

    @of_capability(Capability.OWN_CREDITS)
    async def grant_naming(self, operator: Session, user_id: str | None, email: str | None,
                           credits: Decimal) -> Reply[None]:
        """The same, the account named as a client names it: by `user_id` or by `email` (None leaves that name
        out), whether or not the name is anyone's."""

    async def arrange_credits(self, operator: Session, account: Account, credits: Decimal) -> Reply[None]:
        """Credits a scenario starts with: through the product's own grant, where it has one."""
        return await self.grant(operator, account, credits)

    async def arrange_calls_used(self, account: Account, used: int) -> None:
        """The account has already used `used` API calls this period, set where the product counts them: a Rule about
        the call at the quota's edge need not make the 699 calls before it. A product that keeps no count a call is
        checked against cannot hold this (CannotArrange, with where its source shows it)."""
        raise CannotArrange(f"the deployment {self.name} does not say where its product counts API calls")

    # -- organizations ------------------------------------------------------------------------
    @of_capability(Capability.ORGANIZATIONS)
    async def create_org(self, admin: Session, name: str, plan: str) -> Reply[OrgRef]: ...

    @of_capability(Capability.ORGANIZATIONS)
    async def delete_org(self, admin: Session, org: OrgRef) -> Reply[None]: ...

    async def remove_org(self, admin: Session, org: OrgRef) -> Reply[None]:
        """Cleanup: the organization removed by whoever the deployment lets remove it (its admin, usually)."""
        return await self.delete_org(admin, org)

    @of_capability(Capability.ORGANIZATIONS)
    async def buy(self, admin: Session, org: OrgRef, amount: Any) -> Reply[Purchase]:
        """The organization's admin buys credits into its pool, paid as the product takes payment."""

    def purchasable(self, credits: Decimal) -> Decimal:
        """The fewest credits, at least `credits`, that the product sells in one purchase."""
        return credits

    async def stock_pool(self, operator: Session, admin: Session, org: OrgRef, amount: Decimal) -> Reply[Purchase]:
        """Credits an organization starts a scenario with: bought by its admin, where the product takes payment for
        them; else a platform admin's grant (`Purchase.granted`)."""
        purchase = await self.buy(admin, org, amount)
        if purchase.ok and not purchase.value.credited:
            return Reply(refusal=Refusal(RefusalKind.UNREADABLE, 202, "the purchase was answered before its credits "
                                         "arrived"), elapsed_ms=purchase.elapsed_ms)
        return purchase

    # -- money in -------------------------------------------------------------------------------
    @of_capability(Capability.PAYMENTS)
    async def buy_own(self, session: Session, amount: Any) -> Reply[Purchase]:
        """A user buys credits for themself, paid with their card on file."""

    @of_capability(Capability.PAYMENTS)
    async def put_on_file(self, session: Session, org: OrgRef | None, method: PayWith) -> Reply[None]:
        """The payment method the session's user (for `org`, its admin) pays with from now on, made at the provider
        in their browser and handed to Ops-Center."""

    @of_capability(Capability.PAYMENTS)
    async def refund(self, operator: Session, payment_id: str, credits: Decimal | None) -> Reply[Decimal]:
        """A platform admin refunds a purchase (`credits`: part of it); the value: the credits taken back."""

    @of_capability(Capability.PAYMENTS)
    async def deliver(self, delivery: Delivery) -> Reply[None]:
        """An event delivered to the endpoint where the product receives the payment provider's events."""

    @of_capability(Capability.ORGANIZATIONS)
    async def add_member(self, admin: Session, org: OrgRef, member: Account) -> Reply[None]: ...

    @of_capability(Capability.ORGANIZATIONS)
    async def invite_naming(self, admin: Session, org: OrgRef, user_id: str | None, email: str | None) -> Reply[None]:
        """An account added as a member, named as a client names it: by `user_id` or by `email` (None leaves that
        name out), whether or not the name is anyone's."""

    @of_capability(Capability.ORGANIZATIONS)
    async def allocate(self, admin: Session, org: OrgRef, member: Account, credits: Any) -> Reply[Allocation]: ...

    @of_capability(Capability.ORGANIZATIONS)
    async def allocate_naming(self, admin: Session, org: OrgRef, user_id: str | None, email: str | None,
                              credits: Any) -> Reply[Allocation]:
        """An allocation whose member is named as a careless client might name it: by `user_id`, by `email`, by
        both or by neither (None leaves that name out)."""

    @of_capability(Capability.ORGANIZATIONS)
    async def pool(self, session: Session, org: OrgRef) -> Reply[Pool]: ...

    @of_capability(Capability.ORGANIZATIONS)
    async def allocation(self, member: Session, org: OrgRef) -> Reply[Allocation]: ...

    @of_capability(Capability.ORGANIZATIONS)
    async def attribution(self, admin: Session, org: OrgRef) -> Reply[list[MemberUsage]]: ...

    # -- BYOK ---------------------------------------------------------------------------------
    @of_capability(Capability.KEYS)
    async def store_byok_key(self, session: Session, provider: str, key: str) -> Reply[None]: ...

    @of_capability(Capability.KEYS)
    async def byok_settings(self, session: Session, naming: Account | None = None) -> Reply[ByokSettings]:
        """The session's own key settings; `naming`: another account named in the request."""

    # -- limits -------------------------------------------------------------------------------
    @of_capability(Capability.LIMITS)
    async def sign_in_with(self, account: Account, secret: str, sender: Account,
                           claim: ClaimedAddress | None = None) -> Reply[None]:
        """A sign-in of `account` with `secret` (its password, or a wrong one) at the deployment's sign-in, sent from
        `sender`'s address; `claim`: the request also says it comes from another address. Refused as unauthorized
        (wrong credentials, or a locked account: an identity provider need not say which) or as too many."""

    @of_capability(Capability.LIMITS)
    async def present_sign_in(self, sender: Account, session: Session, valid: bool,
                              claim: ClaimedAddress | None = None) -> Reply[None]:
        """From `sender`'s address, a sign-in where the deployment limits invalid ones: `sender`'s own (`session`,
        where the deployment signs requests with it) if `valid`, one it never issued otherwise."""

    # -- LLM calls ----------------------------------------------------------------------------
    @abstractmethod
    async def call(self, session: Session, request: CallRequest) -> CallResult: ...

    async def hold_calls(self) -> Hold:
        """A hold on the calls about to be sent at once (none, where the deployment has no way to hold them)."""
        return Hold()

    async def time_operation(self, session: Session, operation: str) -> Reply[None] | None:
        """One request to an endpoint of the product's own that does one of the guide's budgeted operations (its
        time, seen from outside, bounds the operation's); None where the operation is timed inside a call, from
        the phases the call's answer reports."""
        return None

    @abstractmethod
    async def call_malformed(self, session: Session, problem: Malformed, scope: str = "") -> Reply[None]:
        """A request with the problem (http.MALFORMED_CHAT_BODIES), sent as a careless client would."""

    # -- the stack ----------------------------------------------------------------------------
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

