"""The values a deployment answers with, in business terms: what steps and the driver hold in their hands.

A deployment is one Ops-Center API and its storage: the guide's contract (the reference in sandbox/),
or a real product. Only a deployment module knows a URL path, a header, a cookie or a JSON field; it
returns the typed results below, never a response body. What a deployment can be asked is in capabilities.py
and readers.py; what it declares of its product, in declarations.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Generic, TypeVar

from creditflow.systems.identity import Account as Account  # named here too, beside the session it signs in with

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
    calls_left: int | None = None  # API calls left in the period, as the refusal states them (None: it does not)
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
    settings: tuple[tuple[str, float], ...] = ()  # sampling settings sent in the body, in the order written


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



class ProductRefused(AssertionError):
    """Ops-Center refused something a scenario needs to arrange (a sign-in, say): the product's doing."""

    def __init__(self, message: str, refusal: Refusal | None = None):
        super().__init__(message)
        self.refusal = refusal  # what Ops-Center answered, when it answered

