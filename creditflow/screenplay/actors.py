"""The people and organizations of one scenario. Each actor holds its own session and memory, and acts as the
screenplay pattern has actors act (cucumber/screenplay.js, serenity-js): it performs tasks (screenplay/tasks/) and
asks questions (screenplay/questions/) with its abilities, which its scene gives it: the deployment and its own
session, the book readers (the deployment's ledger and cache), the provider double, and the scene's record of who
acted last and what to undo."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from creditflow.deployments.base import Account, Balance, CallResult, OrgRef, Purchase, Refusal, Reply, Session

Answer = TypeVar("Answer", covariant=True)


class FlowError(AssertionError):
    """A fact the scenario relies on did not hold; the message names the business fact."""


class ActFailed(FlowError):
    """The act a step asks about did not happen (the call was refused): the step's own claim, about what the act
    cost say, was not reached, so the verdict follows the Rule's claim."""


class Stage(Protocol):
    """The abilities an actor acts with, which the scene (creditflow.screenplay.scene) gives each actor it casts."""

    services: Any  # the run's: the operator, the money trail, the redactor, the metrics, the configuration
    scope: str  # named in every call of the scenario, so that what it reads of a double's log is its own
    cast: dict[str, Actor]
    orgs: dict[str, Organization]
    deliveries: list[Reply]  # Ops-Center's answers to the payment events the crew delivered
    delivered: str  # what the crew delivered, in words

    @property
    def deployment(self) -> Any: ...  # the product, with the book readers (its ledger and cache)

    def acting(self, actor: Actor) -> Actor: ...  # records who acted last: the subject of "the call"

    def on_cleanup(self, description: str, undo: Callable[[], Awaitable[object]]) -> None: ...

    def provider(self, purpose: str) -> Any: ...  # the provider double, to read its log

    def provider_for_this_scenario(self, purpose: str) -> Any: ...  # the provider double, to set it


class Task(Protocol):
    """Something an actor does to the product (or, for the scene's crew, to a double): it may change what it acts
    on, and records what it tried in the actor's memory; it never judges the outcome (the steps do)."""

    async def perform_as(self, actor: Actor) -> object: ...


class Question(Protocol[Answer]):
    """Something an actor finds out; answering changes nothing, in the product or in anyone's memory (it may leave
    evidence: the ledger rows it read, the time an organization query took)."""

    async def answered_by(self, actor: Actor) -> Answer: ...


# An actor and an organization are someone, not a value: two are the same only if they are one (and an actor's
# organizations name their admins, so comparing their fields would go round in a circle).
@dataclass(eq=False)
class Actor:
    """A persona of the scenario. Named in a step before they are introduced (the step that introduces them, or a
    dry run), they have no account yet: whatever needs one fails as a scenario that never introduced them."""

    name: str
    enrolled_as: Account | None = None
    session: Session | None = None
    # Signs the actor in again; given by whoever enrolled the actor (the run's services).
    sign_in_again: Callable[[Actor], Awaitable[object]] | None = field(default=None, repr=False)
    session_max_age_s: float = float("inf")  # the deployment's: a session this old is renewed before use
    opening: Balance | None = None  # the balance and usage before the actor's first call in the scenario
    calls: list[CallResult] = field(default_factory=list)
    batch: list[CallResult] = field(default_factory=list)  # the last batch of calls made at once
    last_reply: Reply | None = None  # the answer to the last thing the actor tried that was not a call
    samples: list[float] = field(default_factory=list)  # the last latency measurement, milliseconds
    memberships: list[Organization] = field(default_factory=list)  # the organizations the actor joined
    purchases: list[Purchase] = field(default_factory=list)  # the actor's accepted purchases for themself
    stage: Stage | None = field(default=None, repr=False)  # the scene the actor plays in, whence their abilities

    async def attempts_to(self, *tasks: Task) -> object:
        """Performs the tasks in turn; what the last one came to (a reply a Given step expects to be accepted)."""
        done = None
        for task in tasks:
            done = await task.perform_as(self)
        return done

    async def asks(self, question: Question[Answer]) -> Answer:
        return await question.answered_by(self)

    @property
    def deployment(self):
        return self.stage.deployment

    def __str__(self) -> str:
        return self.name  # what the business sentences call the actor

    @property
    def account(self) -> Account:
        if self.enrolled_as is None:
            raise self.not_introduced()
        return self.enrolled_as

    @account.setter
    def account(self, account: Account) -> None:
        self.enrolled_as = account

    def not_introduced(self) -> FlowError:
        return FlowError(f"{self.name} has not been introduced in this scenario")

    async def current_session(self) -> Session:
        """The actor's session, renewed first when it is about to expire."""
        if self.session is None:
            raise self.not_introduced()
        if self.sign_in_again is not None and time.monotonic() - self.session.signed_in_at > self.session_max_age_s:
            await self.sign_in_again(self)
        return self.session

    @property
    def member_of(self) -> Organization:
        if not self.memberships:
            raise FlowError(f"{self.name} is a member of no organization in this scenario")
        return self.memberships[-1]

    @property
    def email(self) -> str:
        return self.account.email

    @property
    def user_id(self) -> str:
        return self.account.user_id

    @property
    def last_call(self) -> CallResult:
        if not self.calls:
            raise FlowError(f"{self.name} has made no LLM call in this scenario")
        return self.calls[-1]

    def succeeded_call(self) -> CallResult:
        """The actor's last call, which the step needs to have succeeded."""
        call = self.last_call
        if not call.succeeded:
            raise ActFailed(f"{self.name}'s call should have succeeded, but Ops-Center {call.describe()}")
        return call

    def tried(self) -> Reply:
        if self.last_reply is None:
            raise FlowError(f"{self.name} has tried nothing in this scenario")
        return self.last_reply


@dataclass(eq=False)
class Organization:
    """An organization of the scenario; named in a step before it is created, it has no id and no admin yet."""

    name: str
    created_as: OrgRef | None = None
    created_by: Actor | None = field(default=None, repr=False)
    bought: Decimal = Decimal(0)  # what the scenario bought into its pool
    purchases: list[Purchase] = field(default_factory=list)  # its admin's accepted purchases, oldest first
    books_before: tuple | None = None  # its books in the ledger before someone else's attempt on it

    def __str__(self) -> str:
        return self.name

    @property
    def ref(self) -> OrgRef:
        if self.created_as is None:
            raise self.not_created()
        return self.created_as

    @property
    def admin(self) -> Actor:
        if self.created_by is None:
            raise self.not_created()
        return self.created_by

    def not_created(self) -> FlowError:
        return FlowError(f"the organization {self.name} has not been created in this scenario")

    @property
    def org_id(self) -> str:
        return self.ref.org_id


def expect(reply: Reply, failure: str):
    """The reply's value; a refusal fails the arrangement with the business fact."""
    if not reply.ok:
        refusal: Refusal = reply.refusal
        raise FlowError(f"{failure}: Ops-Center {refusal.describe()}")
    return reply.value
