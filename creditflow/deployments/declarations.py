"""What a deployment declares of its product: the capabilities it lacks, its limits on sign-ins, what the adapter
does for the product, and the defects seen only in the product's own deployment files."""

from dataclasses import dataclass
from enum import StrEnum

from creditflow.verdicts import NotApplicable


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


class Lacking:
    """A capability, or a reader of a part, the deployment lacks: whatever it is asked, NotApplicable."""

    def __init__(self, reason: str):
        self._reason = reason

    def __getattr__(self, name: str):
        if name.startswith("__"):  # what Python itself asks of an object (abc asks __isabstractmethod__)
            raise AttributeError(name)

        async def lacking(*args, **kwargs):
            raise NotApplicable(self._reason)

        return lacking


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

