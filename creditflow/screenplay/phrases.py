"""How the Gherkin writes the values its steps take, as behave parse types: the scenario's personas and
organizations by their names ("Ivy", "Acme"), credits and counts as people write them ("10,000", "2.5"), a plan by
its name ("Professional"), and each phrase that names a value of the driver (a malformed request, a foreign sign-in,
an act on an organization). The phrases live here, and nowhere else."""

import re
from collections.abc import Callable
from decimal import Decimal

import parse
from behave import register_type

from creditflow.deployments.base import AddressHeader, ForeignSignIn, Malformed, RefusalKind
from creditflow.screenplay.actors import Actor, Organization
from creditflow.screenplay.scene import Scene
from creditflow.screenplay.tasks.accounts import NamedBy, NoOnesName
from creditflow.screenplay.tasks.calls import AtALimit
from creditflow.screenplay.tasks.organizations import OrgAct
from creditflow.systems.forgeries import Forgery
from creditflow.systems.payment_provider import PayWith, Signing


class Stage:
    """The scene of the scenario behave runs, which the persona and organization types read: behave hands a parse
    type the step's text alone. Set before each scenario; a dry run, which runs no hook, has none."""

    scene: Scene | None = None


STAGE = Stage()


# No pattern of their own: a name reads as a field without a type does, so each step matches the text it matched.
def persona(text: str) -> Actor:
    """The actor of that name in the scenario; one not introduced yet comes without an account (`Scene.persona`)."""
    return STAGE.scene.persona(text) if STAGE.scene is not None else Actor(text)


def organization(text: str) -> Organization:
    return STAGE.scene.organization(text) if STAGE.scene is not None else Organization(text)


def customer(text: str) -> Actor | Organization:
    """One who pays or is billed: an organization of the scenario by that name, or else a persona."""
    if STAGE.scene is not None and text in STAGE.scene.orgs:
        return STAGE.scene.orgs[text]
    return persona(text)


AMOUNT = r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|-?\d+(?:\.\d+)?"
COUNT = r"\d{1,3}(?:,\d{3})+|\d+"


@parse.with_pattern(AMOUNT)
def credits(text: str) -> Decimal:
    return Decimal(text.replace(",", ""))


@parse.with_pattern(COUNT)
def count(text: str) -> int:
    return int(text.replace(",", ""))


@parse.with_pattern(r"\$\d{1,3}(?:,\d{3})*\.\d\d")
def dollars(text: str) -> Decimal:
    return Decimal(text.removeprefix("$").replace(",", ""))


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
FORGERIES = {f"a sign-in {forgery.value}": forgery for forgery in Forgery}
ORG_ACTS = {
    "read the credits of": OrgAct.READ_CREDITS,
    "read the usage report of": OrgAct.READ_USAGE,
    "buy credits for": OrgAct.BUY,
    **{f"allocate credits to {self} in": OrgAct.ALLOCATE_TO_SELF for self in ("himself", "herself", "themselves")},
    **{f"add {self} as a member of": OrgAct.JOIN for self in ("himself", "herself", "themselves")},
    "delete": OrgAct.DELETE,
}

# How a payer pays: Stripe's test cards and accounts, by what the payer's bank does with them.
PAYMENT_METHODS = {
    "an ordinary card": PayWith.CARD,
    "a card its bank declines": PayWith.DECLINED_CARD,
    "a card its bank refuses as soon as it is put on file": PayWith.CARD_REFUSED_ON_FILE,
    "a card whose bank asks the cardholder to confirm each payment": PayWith.CARD_NEEDING_AUTHENTICATION,
    "a bank debit": PayWith.BANK_DEBIT,
    "a bank debit that bounces": PayWith.BOUNCING_BANK_DEBIT,
}
SIGNINGS = {signing.value: signing for signing in Signing}

# A call at, or just past, a limit of the chat body: each phrase, with the count it names where it names one.
AT_A_LIMIT = {
    rf"a budget of ({COUNT}) tokens?": lambda tokens: AtALimit(tokens=tokens),
    rf"a question signed with a name of ({COUNT}) characters?": lambda length: AtALimit(sender_length=length),
    rf"an answer to a tool call whose id has ({COUNT}) characters?": lambda length: AtALimit(
        tool_call_id_length=length),
    "an answer to a tool call whose id is empty": lambda _: AtALimit(tool_call_id_length=0),
}

# A name of no one's account at, or just past, a limit of a name's length: each phrase, with the length it names.
NO_ONES_NAMES = {
    rf"an identity of ({COUNT}) characters?": lambda length: NoOnesName(NamedBy.IDENTITY, length),
    rf"an e-mail of ({COUNT}) characters?": lambda length: NoOnesName(NamedBy.EMAIL, length),
    "an empty identity": lambda _: NoOnesName(NamedBy.IDENTITY, 0),
}

# How a request that names no one's account is refused: as invalid past a limit, as not found within the limits.
NAME_REFUSALS = {"invalid": RefusalKind.INVALID, "not found": RefusalKind.NOT_FOUND}


def counting(phrases: dict[str, Callable[[int | None], object]], what: str) -> Callable[[str], object]:
    """A parse type that takes each phrase (a regular expression with at most one count in it) to its value."""

    @parse.with_pattern("|".join(phrases), regex_group_count=sum(re.compile(p).groups for p in phrases))
    def value(text: str) -> object:
        for pattern, make in phrases.items():
            if found := re.fullmatch(pattern, text):
                return make(count(found.group(1)) if found.groups() else None)
        raise ValueError(f"no {what} reads {text!r}")

    return value


at_a_limit = counting(AT_A_LIMIT, "limit of the chat body")
no_ones_name = counting(NO_ONES_NAMES, "name of an account")


def register() -> None:
    """Before the step modules load (behave loads environment.py first)."""
    register_type(Persona=persona, Org=organization, Customer=customer,
                  Credits=credits, Count=count, Plan=plan, Dollars=dollars, Malformed=one_of(MALFORMED),
                  PayWith=one_of(PAYMENT_METHODS), Signing=one_of(SIGNINGS),
                  ForeignSignIn=one_of(FOREIGN_SIGN_INS), Forgery=one_of(FORGERIES),
                  OrgAct=one_of(ORG_ACTS), AtALimit=at_a_limit,
                  NoOnesName=no_ones_name, NameRefusal=one_of(NAME_REFUSALS),
                  AddressHeader=one_of({header.value: header for header in AddressHeader}))
