"""Organizations: an admin creates one (under a name of any length), adds members and allocates its credits (to a
member named however a client names one); anyone may try an act on one that is not theirs."""

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from creditflow.deployments.base import OrgRef, RefusalKind, Reply
from creditflow.rules.money import ORGANIZATION
from creditflow.screenplay.actors import Actor, FlowError, Organization, expect
from creditflow.screenplay.questions.organizations import OrgBooks, PoolAnswer
from creditflow.screenplay.tasks.accounts import SignUp
from creditflow.verdicts import CannotArrange, NotApplicable
from creditflow.wording import counted, number, of_length

MEMBER_PLAN = "platform"  # the plan of an organization's members
ATTEMPTED_CREDITS = 1_000  # what an attempt on another's organization tries to buy or allocate


class OrgAct(StrEnum):
    """What someone may try on an organization, allowed or not."""

    READ_CREDITS = "read its credits"
    READ_USAGE = "read its usage report"
    BUY = "buy credits for it"
    ALLOCATE_TO_SELF = "allocate credits to oneself in it"
    JOIN = "add oneself as a member"
    DELETE = "delete it"


def created(admin: Actor, org: Organization, ref: OrgRef) -> Organization:
    """`org`, now the product's: on the run's money trail, and deleted after the scenario."""
    stage = admin.stage
    org.created_as, org.created_by = ref, admin
    stage.orgs[org.name] = org
    stage.services.money.touch(ORGANIZATION, org.org_id, f"{org} ({ref.name})")
    stage.on_cleanup(f"delete the organization {org}", lambda: delete(org))
    return org


async def delete(org: Organization) -> None:
    admin = org.admin
    admin.stage.services.money.close(ORGANIZATION, org.org_id,
                                     await admin.deployment.ledger.org_statement(org.org_id))
    try:
        reply = await admin.deployment.orgs.remove(await admin.current_session(), org.ref)
    except NotApplicable:
        return  # the product cannot delete an organization: its report lists that among how it was run
    if not reply.ok and reply.refusal.kind is not RefusalKind.NOT_FOUND:
        raise FlowError(f"Ops-Center {reply.refusal.describe()}")


@dataclass(frozen=True)
class CreateOrganization:
    """Signs up on `plan` (once in a scenario) and creates `org`, which must be accepted."""

    org: Organization
    plan: str

    async def perform_as(self, actor: Actor) -> Organization:
        admin = await actor.attempts_to(SignUp(self.plan))
        reply = await admin.deployment.orgs.create(await admin.current_session(),
                                                   admin.stage.services.unique(self.org.name), self.plan)
        return created(admin, self.org, expect(reply, f"{admin} could not create the organization {self.org}"))


@dataclass(frozen=True)
class TryToCreateOrganization:
    """The actor, already in the scenario, creates an organization whose name is `name_length` characters long (its
    run-unique name, cut or padded); one that is accepted is removed after the scenario as any other."""

    org: Organization
    plan: str
    name_length: int

    async def perform_as(self, actor: Actor) -> Reply:
        actor.stage.acting(actor)
        name = of_length(actor.stage.services.unique(self.org.name), self.name_length)
        actor.last_reply = await actor.deployment.orgs.create(await actor.current_session(), name, self.plan)
        if actor.last_reply.ok:
            created(actor, self.org, actor.last_reply.value)
        return actor.last_reply


@dataclass(frozen=True)
class Join:
    """Signs up as a member (once in a scenario), and `org`'s admin adds her, which must be accepted."""

    org: Organization

    async def perform_as(self, actor: Actor) -> None:
        member = await actor.attempts_to(SignUp(MEMBER_PLAN))
        admin = self.org.admin
        reply = await admin.deployment.orgs.add_member(await admin.current_session(), self.org.ref, member.account)
        expect(reply, f"{member} could not join {self.org}")
        member.memberships.append(self.org)


@dataclass(frozen=True)
class Allocate:
    """The actor, `org`'s admin, allocates `credits` (any amount, valid or not) to `member`."""

    org: Organization
    member: Actor
    credits: Any

    async def perform_as(self, actor: Actor) -> Reply:
        actor.stage.acting(actor)
        actor.last_reply = await actor.deployment.orgs.allocate(await actor.current_session(), self.org.ref,
                                                                self.member.account, self.credits)
        return actor.last_reply


@dataclass(frozen=True)
class AllocateExactly:
    """Allocates `credits`, `what` the rule needs exactly. Where the product refuses the amount itself as invalid,
    no other amount tests the rule: it cannot be arranged, and the product's answer says why."""

    org: Organization
    member: Actor
    credits: Decimal
    what: str

    async def perform_as(self, actor: Actor) -> Reply:
        reply = await actor.attempts_to(Allocate(self.org, self.member, self.credits))
        if reply.refusal is not None and reply.refusal.kind is RefusalKind.INVALID:
            raise CannotArrange(f"{self.what} comes to {number(self.credits)} credits, and Ops-Center refused to "
                                f"allocate that amount ({reply.describe()}); no other amount is exactly {self.what}")
        return reply


@dataclass(frozen=True)
class AllocateJustUnder:
    """Allocates `credits`, just under `what`, which any smaller amount also is. Where the product refuses the amount
    itself as invalid, the nearest smaller amount it holds (a whole multiple of its allocation unit) is asked
    instead, and the product's answer to that one stands."""

    org: Organization
    member: Actor
    credits: Decimal
    what: str

    async def perform_as(self, actor: Actor) -> Reply:
        reply = await actor.attempts_to(Allocate(self.org, self.member, self.credits))
        if reply.refusal is None or reply.refusal.kind is not RefusalKind.INVALID:
            return reply
        unit = actor.deployment.prices.allocation_unit
        nearest = (self.credits // unit) * unit
        if nearest < 0 or nearest == self.credits:
            raise CannotArrange(f"Ops-Center refused to allocate {number(self.credits)} credits, just under "
                                f"{self.what} ({reply.describe()}), and holds no smaller amount in its allocation "
                                f"unit of {counted(unit, 'credit')}")
        return await actor.attempts_to(Allocate(self.org, self.member, nearest))


@dataclass(frozen=True)
class AllocateNaming:
    """The actor, `org`'s admin, allocates credits to a member named by `user_id`, by `email`, by both or by
    neither, as a careless client might name one."""

    org: Organization
    credits: Any
    user_id: str | None
    email: str | None

    async def perform_as(self, actor: Actor) -> Reply:
        actor.stage.acting(actor)
        actor.last_reply = await actor.deployment.orgs.allocate_naming(await actor.current_session(), self.org.ref,
                                                                       self.user_id, self.email, self.credits)
        return actor.last_reply


@dataclass(frozen=True)
class InviteNaming:
    """The actor, `org`'s admin, adds a member named by `user_id` or by `email`, anyone's or not."""

    org: Organization
    user_id: str | None
    email: str | None

    async def perform_as(self, actor: Actor) -> Reply:
        actor.stage.acting(actor)
        actor.last_reply = await actor.deployment.orgs.invite_naming(await actor.current_session(), self.org.ref,
                                                                     self.user_id, self.email)
        return actor.last_reply


@dataclass(frozen=True)
class Attempt:
    """The actor tries `act` on `org`, with her own sign-in and the organization's real id; its books are read
    first, so that a later step can prove that nothing moved."""

    act: OrgAct
    org: Organization

    async def perform_as(self, actor: Actor) -> Reply:
        org = self.org
        actor.stage.acting(actor)
        org.books_before = await actor.asks(OrgBooks(org))
        session, orgs = await actor.current_session(), actor.deployment.orgs
        attempts = {
            OrgAct.READ_CREDITS: lambda: orgs.pool(session, org.ref),
            OrgAct.READ_USAGE: lambda: orgs.attribution(session, org.ref),
            OrgAct.BUY: lambda: orgs.buy(session, org.ref, ATTEMPTED_CREDITS),
            OrgAct.ALLOCATE_TO_SELF: lambda: orgs.allocate(session, org.ref, actor.account, ATTEMPTED_CREDITS),
            OrgAct.JOIN: lambda: orgs.add_member(session, org.ref, actor.account),
            OrgAct.DELETE: lambda: orgs.delete(session, org.ref),
        }
        actor.last_reply = await attempts[self.act]()
        return actor.last_reply


@dataclass(frozen=True)
class AskForCredits:
    """Asks for `org`'s credits, allowed or not: its answer kept."""

    org: Organization

    async def perform_as(self, actor: Actor) -> Reply:
        actor.stage.acting(actor)
        actor.last_reply = await actor.asks(PoolAnswer(self.org))
        return actor.last_reply
