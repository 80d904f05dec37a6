"""How the Gherkin writes the values its steps take, as behave parse types: credits and counts as people write
them ("10,000", "2.5"), a plan by its name ("Professional")."""

from decimal import Decimal

import parse
from behave import register_type

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


def register() -> None:
    """Before the step modules load (behave loads environment.py first)."""
    register_type(Credits=credits, Count=count, Plan=plan)
