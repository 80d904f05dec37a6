"""Who is in the scenario: a user signed up on a plan (with the credits she starts with), her account made again,
the API calls she has already used, and the names of no one's account a careless client might send."""

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from creditflow.rules.money import USER
from creditflow.screenplay.actors import Actor, expect
from creditflow.screenplay.questions.money import OwnBalance
from creditflow.systems.identity import EMAIL_DOMAIN
from creditflow.verdicts import CannotArrange
from creditflow.wording import figure, number, of_length


def touched(actor: Actor) -> None:
    """The actor's account joins the run's money trail."""
    actor.stage.services.money.touch(USER, actor.user_id, f"{actor.name} ({actor.account.username})")


def credited(actor: Actor, credits: Decimal) -> None:
    """What came into the actor's account, on the run's money trail."""
    actor.stage.services.money.credit(USER, actor.user_id, f"{actor.name} ({actor.account.username})", credits)


@dataclass(frozen=True)
class SignUp:
    """Signs up on `plan`, once in a scenario, and is given `credits` to start with. `arranged=False`: the user as
    the product alone makes them, none of the deployment's workarounds."""

    plan: str
    credits: Decimal = Decimal(0)
    arranged: bool = True

    async def perform_as(self, actor: Actor) -> Actor:
        stage = actor.stage
        if actor.name in stage.cast:
            return stage.cast[actor.name]
        await stage.services.enroll(actor, self.plan, arranged=self.arranged)
        stage.cast[actor.name] = actor
        touched(actor)
        stage.on_cleanup(f"remove the account of {actor}", lambda: actor.deployment.accounts.remove(actor.account))
        if self.credits:
            await actor.attempts_to(StartWith(self.credits))
        return actor


@dataclass(frozen=True)
class StartWith:
    """The credits the actor starts the scenario with, which a platform admin gives her."""

    credits: Decimal

    async def perform_as(self, actor: Actor) -> None:
        operator = await actor.stage.services.operator_session()
        reply = await actor.deployment.own_credits.arrange_credits(operator, actor.account, self.credits)
        expect(reply, f"{actor} could not be given {self.credits} credits")
        credited(actor, self.credits)


@dataclass(frozen=True)
class MakeAccountAgain:
    """The actor's account removed and created again with the same e-mail, as support staff do."""

    async def perform_as(self, actor: Actor) -> Actor:
        actor.account, actor.session = await actor.deployment.accounts.recreate(actor.account, actor.name)
        actor.stage.services.redactor.remember(actor.account.password, actor.session.secret)
        touched(actor)
        actor.opening = None
        return actor


@dataclass(frozen=True)
class UseCalls:
    """The actor has already used `used` of her plan's `limit` API calls this period: set where the product counts
    them, then read back from the product, which must report just that."""

    used: int
    limit: int

    async def perform_as(self, actor: Actor) -> None:
        await actor.deployment.calls.arrange_used(actor.account, self.used)
        balance = await actor.asks(OwnBalance())
        if (balance.calls_used, balance.calls_limit) != (self.used, self.limit):
            raise CannotArrange(f"{actor} should have used {number(self.used)} of her {number(self.limit)} API "
                                f"calls, but Ops-Center reports {figure(balance.calls_used, 'no count')} of "
                                f"{figure(balance.calls_limit, 'no limit')}")


class NamedBy(StrEnum):
    """How a request names an account (docs/contract.md, "Endpoints")."""

    IDENTITY = "identity"
    EMAIL = "e-mail"


@dataclass(frozen=True)
class NoOnesName:
    """A name of `length` characters, by identity or by e-mail, that names no account: at a limit of a name's
    length, or just past it."""

    by: NamedBy
    length: int

    def spelled_out(self, unique: str) -> tuple[str | None, str | None]:
        """(user_id, email): the name made of `unique` (run-unique), padded to its length. A name too short to carry
        the run's mark is no one's either: the suite's accounts have Keycloak's 36-character ids and e-mails at
        EMAIL_DOMAIN."""
        if self.by is NamedBy.IDENTITY:
            return of_length(unique, self.length), None
        if self.length > len(EMAIL_DOMAIN):
            return None, of_length(unique, self.length - len(EMAIL_DOMAIN)) + EMAIL_DOMAIN
        return None, of_length(f"{unique[0]}@{unique[1:]}", self.length)


def no_ones(actor: Actor, name: NoOnesName) -> tuple[str | None, str | None]:
    """(user_id, email): `name` spelled out with a mark of the run's, as the actor sends it."""
    return name.spelled_out(actor.stage.services.unique("nobody"))
