"""How the Gherkin writes the values its steps take, as behave parse types: credits and counts as people write
them ("10,000", "2.5"), a plan by its name ("Professional"), and each phrase that names a value of the driver
(a malformed request, a foreign sign-in, an act on an organization). The phrases live here, and nowhere else."""

import re
from collections.abc import Callable
from decimal import Decimal

import parse
from behave import register_type

from creditflow.deployments.base import ForeignSignIn, Malformed
from creditflow.people import OrgAct

AMOUNT = r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|-?\d+(?:\.\d+)?"


@parse.with_pattern(AMOUNT)
def credits(text: str) -> Decimal:
    return Decimal(text.replace(",", ""))


@parse.with_pattern(r"\d{1,3}(?:,\d{3})+|\d+")
def count(text: str) -> int:
    return int(text.replace(",", ""))


@parse.with_pattern(r"[A-Z][a-z]+")
def plan(text: str) -> str:
    return text.lower()


def one_of(phrases: dict[str, object]) -> Callable[[str], object]:
    """A parse type that takes exactly these phrases, each to its value."""

    @parse.with_pattern("|".join(re.escape(phrase) for phrase in sorted(phrases, key=len, reverse=True)))
    def value(text: str) -> object:
        return phrases[text]

    return value


MALFORMED = {
    "an unknown model": Malformed.UNKNOWN_MODEL,
    "no messages": Malformed.NO_MESSAGES,
    "a negative token budget": Malformed.NEGATIVE_BUDGET,
    "a fractional budget": Malformed.FRACTIONAL_BUDGET,
    "a budget beyond what the model can write": Malformed.BUDGET_BEYOND_CONTEXT,
    "a body that is not JSON": Malformed.NOT_JSON,
}
FOREIGN_SIGN_INS = {"an expired sign-in": ForeignSignIn.EXPIRED,
                    "a sign-in from another realm": ForeignSignIn.OTHER_REALM}
ORG_ACTS = {
    "read the credits of": OrgAct.READ_CREDITS,
    "read the usage report of": OrgAct.READ_USAGE,
    "buy credits for": OrgAct.BUY,
    **{f"allocate credits to {self} in": OrgAct.ALLOCATE_TO_SELF for self in ("himself", "herself", "themselves")},
    **{f"add {self} as a member of": OrgAct.JOIN for self in ("himself", "herself", "themselves")},
    "delete": OrgAct.DELETE,
}


def register() -> None:
    """Before the step modules load (behave loads environment.py first)."""
    register_type(Credits=credits, Count=count, Plan=plan, Malformed=one_of(MALFORMED),
                  ForeignSignIn=one_of(FOREIGN_SIGN_INS), OrgAct=one_of(ORG_ACTS))
