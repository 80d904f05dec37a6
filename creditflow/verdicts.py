"""What a scenario's result means, decided from typed outcomes: the kind of step that failed, the type of what
it raised, where its claim comes from, and what the product answered on the way. Never from a message's text.

A claim comes from the testing guide, from creditflow's own contract (a rule it adds beyond the guide), or
from an invariant no reader would dispute (money is neither created nor lost; a tenant reaches only its own
books). A Rule names its claim with a tag (`@guide.flow-2`, `@contract.retries`, `@invariant.money`); a step
whose claim differs from its Rule's names its own (`claims`). The classes follow the Web Platform Tests'
statuses: a failed claim is told apart from a precondition that could not be met, and from a part the run
lacked.
"""

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import httpx

CONTRACT_DOC = "docs/contract.md"
GUIDE_DOC = "the testing guide"


class Source(StrEnum):
    GUIDE = "guide"
    CONTRACT = "contract"
    INVARIANT = "invariant"


# The guide's sections a Rule may cite, by the tag's suffix.
GUIDE_SECTIONS = {
    "flow-1": "Test Flows, Flow 1: Individual User",
    "flow-2": "Test Flows, Flow 2: Organization User",
    "flow-3": "Test Flows, Flow 3: BYOK User",
    "flow-4": "Test Flows, Flow 4: Edge Cases",
    "insufficient-credits": "Manual Test Cases, 1. Insufficient Org Credits",
    "quota-exceeded": "Manual Test Cases, 2. API Quota Exceeded",
    "no-allocation": "Manual Test Cases, 3. No Credit Allocation",
    "concurrent-requests": "Manual Test Cases, 4. Concurrent Requests",
    "checklist": "Integration Verification Checklist",
    "response-times": "Performance Benchmarks, Expected Response Times",
    "credit-costs": "Performance Benchmarks, Expected Credit Costs",
}
# The contract's sections, by their anchors in docs/contract.md.
CONTRACT_SECTIONS = {
    "units-and-prices": "Units and prices",
    "identity": "Identity",
    "endpoints": "Endpoints",
    "six-steps": "The six steps of an LLM call",
    "retries": "Retries",
    "streaming": "Streaming",
    "storage": "Storage",
    "redis": "Redis",
    "lago": "Lago",
    "limits": "Limits a client cannot lift",
    "money-in": "Money in",
}
INVARIANTS = {
    "money": "money is neither created nor lost, and every served call is paid once",
    "money-in": "credits come in only through a payment that succeeded at the payment provider, once, or a platform "
                "admin's grant",
    "isolation": "a tenant reaches only its own books and keys",
    "secrecy": "a stored key is never shown",
    "sign-in": "only a current sign-in of the platform's realm is accepted",
    "limits": "a client cannot lift a limit by what it says of itself, nor use up another's",
}
SECTIONS = {Source.GUIDE: GUIDE_SECTIONS, Source.CONTRACT: CONTRACT_SECTIONS, Source.INVARIANT: INVARIANTS}


class ClaimError(ValueError):
    """A Rule or step names no claim, or one this module does not know."""


@dataclass(frozen=True)
class Claim:
    source: Source
    section: str  # the tag's suffix: a key of GUIDE_SECTIONS, CONTRACT_SECTIONS or INVARIANTS

    @classmethod
    def parse(cls, tag: str) -> "Claim":
        source, _, section = tag.partition(".")
        if source not in {s.value for s in Source} or section not in SECTIONS[Source(source)]:
            raise ClaimError(f"@{tag} names no known claim; known: " + ", ".join(
                f"@{s}.{key}" for s in Source for key in SECTIONS[s]))
        return cls(Source(source), section)

    def cites(self) -> str:
        """Where a reader checks the claim."""
        title = SECTIONS[self.source][self.section]
        if self.source is Source.GUIDE:
            return f"{GUIDE_DOC}, {title}"
        if self.source is Source.CONTRACT:
            return f"{CONTRACT_DOC}#{self.section} ({title})"
        return f"invariant: {title}"


def claim_of(tags) -> Claim | None:
    """The one claim tag among a Rule's (or scenario's inherited) tags."""
    found = [Claim.parse(tag) for tag in tags if tag.partition(".")[0] in {s.value for s in Source}]
    if len(found) > 1 and len(set(found)) > 1:
        raise ClaimError("more than one claim: " + ", ".join(f"@{c.source}.{c.section}" for c in found))
    return found[0] if found else None


def claims(tag: str) -> Callable:
    """A step whose claim is not its Rule's: `@claims("invariant.isolation")` above the step definition."""
    claim = Claim.parse(tag)

    def mark(step_function: Callable) -> Callable:
        step_function.claim = claim
        return step_function

    return mark


class Verdict(StrEnum):
    PASSED = "passed"
    MONEY_OR_SECURITY = "failed: money or security"
    ERROR = "failed: error"
    DIFFERS_FROM_GUIDE = "failed: differs from the guide"
    DIFFERS_FROM_CONTRACT = "failed: differs from creditflow's contract"
    COULD_NOT_ARRANGE = "could not arrange"
    NOT_APPLICABLE = "not applicable"
    ENVIRONMENT_LIMIT = "environment limit"
    SUITE_DEFECT = "suite defect"


MARKS = {Verdict.PASSED: "✓", Verdict.MONEY_OR_SECURITY: "✗$", Verdict.ERROR: "✗5xx",
         Verdict.DIFFERS_FROM_GUIDE: "✗guide", Verdict.DIFFERS_FROM_CONTRACT: "✗contract",
         Verdict.COULD_NOT_ARRANGE: "◌", Verdict.NOT_APPLICABLE: "–", Verdict.ENVIRONMENT_LIMIT: "○",
         Verdict.SUITE_DEFECT: "!"}
BY_CLAIM = {Source.INVARIANT: Verdict.MONEY_OR_SECURITY, Source.GUIDE: Verdict.DIFFERS_FROM_GUIDE,
            Source.CONTRACT: Verdict.DIFFERS_FROM_CONTRACT}


class TargetLacksPart(Exception):
    """The target has no such part: an environment limit, not a product defect."""


class NotApplicable(Exception):
    """The deployment declares that its product has no such feature (`Deployment.lacks`): the scenario does
    not run, and its verdict says why."""


class InvariantBroken(AssertionError):
    """The ledger's own invariants or the provider's log showed money out of place after the scenario."""


class Unasked(Exception):
    """A scenario reached its verdict without one request to the product: the suite decided it alone, which is a
    defect of the suite, not a finding."""


class ChargedForNothing(AssertionError):
    """The payer was charged for an answer the client did not receive: money, whatever the step's claim is."""


class CannotArrange(AssertionError):
    """The product cannot hold what a Given step asks for (an amount finer than its unit, say)."""


# What the run lacked: a part it could not reach. The product not answering is a verdict of its own.
ENVIRONMENT_ERRORS = (TargetLacksPart, OSError, httpx.TransportError)


@dataclass(frozen=True)
class Outcome:
    """What the suite knows of a scenario's first failed step."""

    step_type: str  # given, when or then
    error: BaseException | None
    claim: Claim | None
    product_failed: bool  # the product answered 5xx, dropped the connection or never answered, up to this step
    books_broken: bool = False  # after the scenario, the ledger or the provider's log showed money out of place
    product_hung: bool = False  # the product left a request unanswered: what its books then show is by chance


def decide(outcome: Outcome | None) -> Verdict:
    """The verdict of a scenario's first failed step. Where several classes could apply, they win in this order
    (README.md, "Which class wins"):

    1. not applicable: the deployment declared the feature missing, so nothing was asked;
    2. environment limit, then suite defect: the run, not the product, is at fault;
    3. failed: error, where the product stopped answering (which calls in flight it had served is then timing);
    4. failed: money or security: the books or the provider's log show money out of place, a payer was charged for
       an answer the client did not receive, or another invariant broke, whatever the step's claim and even
       while arranging;
    5. could not arrange: a Given step the product refused or cannot hold;
    6. failed: error, where the act under test failed on the product's side (5xx, no answer);
    7. failed: money or security, for a failed claim of an invariant;
    8. failed: error, where the product failed on the way to another claim;
    9. failed: differs from the guide, then differs from creditflow's contract, by the claim's source.
    """
    if outcome is None:
        return Verdict.PASSED
    error = outcome.error
    if isinstance(error, NotApplicable):
        return Verdict.NOT_APPLICABLE
    if isinstance(error, ENVIRONMENT_ERRORS):
        return Verdict.ENVIRONMENT_LIMIT
    if error is not None and not isinstance(error, AssertionError):
        return Verdict.SUITE_DEFECT
    if outcome.product_hung:
        # Once it stops answering, which of the calls in flight it had already served is timing: the hang is the
        # finding, the same in every run, and the books it left are reported beside it.
        return Verdict.ERROR
    if isinstance(error, InvariantBroken | ChargedForNothing) or outcome.books_broken:
        return Verdict.MONEY_OR_SECURITY
    if outcome.step_type == "given" or isinstance(error, CannotArrange):
        return Verdict.COULD_NOT_ARRANGE
    if outcome.step_type == "when" and outcome.product_failed:
        return Verdict.ERROR  # the act under test failed on the product's side: no claim about it was reached
    if outcome.claim is not None and outcome.claim.source is Source.INVARIANT:
        return Verdict.MONEY_OR_SECURITY
    if outcome.product_failed:
        return Verdict.ERROR
    if outcome.claim is None:
        return Verdict.SUITE_DEFECT  # a claim nobody can cite is not a verdict on the product
    return BY_CLAIM[outcome.claim.source]
