"""What an organization's books hold, as Ops-Center shows them to an admin or a member, and as the ledger holds them.
Each organization query that succeeds is timed: the guide budgets them."""

from dataclasses import dataclass

from creditflow.deployments.base import Allocation, Charge, MemberUsage, Pool, Reply
from creditflow.screenplay.actors import Actor, Organization, expect
from creditflow.screenplay.questions.money import as_evidence
from creditflow.wording import number

ORG_QUERIES = "organization queries"


def timed(actor: Actor, reply: Reply) -> Reply:
    """An organization query's latency, when it succeeded: a refusal's time measures no query."""
    if reply.ok:
        actor.stage.services.metrics.add(ORG_QUERIES, reply.elapsed_ms)
    return reply


@dataclass(frozen=True)
class PoolAnswer:
    """Ops-Center's answer to the actor asking for `org`'s pool, whatever it is."""

    org: Organization

    async def answered_by(self, actor: Actor) -> Reply[Pool]:
        return timed(actor, await actor.deployment.orgs.pool(await actor.current_session(), self.org.ref))


@dataclass(frozen=True)
class PoolOf:
    """`org`'s pool, which the actor (its admin) must be shown."""

    org: Organization

    async def answered_by(self, actor: Actor) -> Pool:
        return expect(await actor.asks(PoolAnswer(self.org)), f"{actor} could not read {self.org}'s credits")


@dataclass(frozen=True)
class AllocationIn:
    """The actor's allocation in `org`, as Ops-Center shows it to her."""

    org: Organization

    async def answered_by(self, actor: Actor) -> Allocation:
        reply = timed(actor, await actor.deployment.orgs.allocation(await actor.current_session(), self.org.ref))
        return expect(reply, f"{actor} could not read their allocation in {self.org}")


@dataclass(frozen=True)
class Attributed:
    """What `org`'s usage report, read by the actor (its admin), attributes to `member` (None: it omits them)."""

    org: Organization
    member: Actor

    async def answered_by(self, actor: Actor) -> MemberUsage | None:
        reply = timed(actor, await actor.deployment.orgs.attribution(await actor.current_session(), self.org.ref))
        rows = expect(reply, f"{actor} could not read {self.org}'s usage report")
        member = self.member.account
        return next((row for row in rows if row.member in (member.email, member.user_id)), None)


@dataclass(frozen=True)
class OrgCharges:
    """The ledger's charges to `org`'s pool."""

    org: Organization

    async def answered_by(self, actor: Actor) -> list[Charge]:
        return as_evidence(actor, await actor.deployment.ledger.org_charges(self.org.org_id))


@dataclass(frozen=True)
class OrgStatement:
    """What the ledger holds for `org` (None: it has no pool)."""

    org: Organization

    async def answered_by(self, actor: Actor):
        return await actor.deployment.ledger.org_statement(self.org.org_id)


@dataclass(frozen=True)
class OrgBooks:
    """`org`'s books in the ledger: its statement, its pool and allocations, its charges."""

    org: Organization

    async def answered_by(self, actor: Actor) -> tuple:
        ledger, org_id = actor.deployment.ledger, self.org.org_id
        _, rows = await ledger.org_violations(org_id)
        return (await ledger.org_statement(org_id), sorted(repr(sorted(row.items())) for row in rows),
                len(await ledger.org_charges(org_id)))


@dataclass(frozen=True)
class Members:
    """Who the ledger lists as `org`'s members, by name and sorted; an account of no one in the scenario as "someone
    else"."""

    org: Organization

    async def answered_by(self, actor: Actor) -> list[str]:
        names = {cast.user_id: cast.name for cast in actor.stage.cast.values()}
        return sorted(names.get(user_id, "someone else")
                      for user_id in await actor.deployment.ledger.members(self.org.org_id))


@dataclass(frozen=True)
class OrganizationsCreated:
    """The organizations the actor has created that the ledger still holds, by their names in this scenario (an
    unknown one by its id)."""

    async def answered_by(self, actor: Actor) -> list[str]:
        known = {org.org_id: name for name, org in actor.stage.orgs.items()}
        return [known.get(org_id, org_id) for org_id in await actor.deployment.ledger.orgs_created_by(actor.user_id)]


def books_change(before: tuple, after: tuple) -> str:
    """What moved between two readings of `OrgBooks`, in words."""
    (statement_before, rows_before, charges_before), (statement_now, rows_now, charges_now) = before, after
    changes = []
    if statement_before != statement_now:
        held = [number(s.left) if s else "no pool" for s in (statement_before, statement_now)]
        changes.append(f"it held {held[0]} credits and now holds {held[1]}")
    if charges_before != charges_now:
        changes.append(f"its charges went from {number(charges_before)} to {number(charges_now)}")
    if rows_before != rows_now:
        changes.append("its pool or allocations changed")
    return "; ".join(changes)
