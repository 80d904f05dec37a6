"""Arranging a scenario: people on plans with credits, organizations, members, allocations, keys."""

import uuid
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from creditflow.actors import Actor, FlowError, Organization, expect
from creditflow.books import Books
from creditflow.calls import of_length
from creditflow.deployments.base import OrgRef, RefusalKind, Reply
from creditflow.money import ORGANIZATION, USER
from creditflow.scene import Scene
from creditflow.systems.identity import EMAIL_DOMAIN
from creditflow.verdicts import CannotArrange, NotApplicable
from creditflow.wording import counted, figure, number

BYOK_PROVIDER = "openrouter"
MEMBER_PLAN = "platform"  # the plan of an organization's members

SLOW_PIECE_MS = 40  # 100 tokens take 4 s: the first words, under 2 s even on a loaded machine, come well before half
ATTEMPTED_CREDITS = 1_000  # what an attempt on another's organization tries to buy or allocate


class OrgAct(StrEnum):
    """What someone may try on an organization, allowed or not."""

    READ_CREDITS = "read its credits"
    READ_USAGE = "read its usage report"
    BUY = "buy credits for it"
    ALLOCATE_TO_SELF = "allocate credits to oneself in it"
    JOIN = "add oneself as a member"
    DELETE = "delete it"


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


class People:
    def __init__(self, scene: Scene, books: Books):
        self.w = scene
        self.books = books
        self._provider_set = False  # this scenario has set the provider double (its settings end with it)

    async def sign_up(self, actor: Actor, plan: str, credits: Decimal = Decimal(0), arranged: bool = True) -> Actor:
        """`arranged=False`: the user as the product alone makes them, none of the deployment's workarounds."""
        if actor.name in self.w.cast:
            return self.w.cast[actor.name]
        await self.w.services.enroll(actor, plan, arranged=arranged)
        self.w.cast[actor.name] = actor
        self._touch(actor)
        self.w.on_cleanup(f"remove the account of {actor}", lambda: self.w.deployment.accounts.remove(actor.account))
        if credits:
            await self.grant(actor, credits)
        return actor

    async def grant(self, actor: Actor, credits: Decimal) -> None:
        """The credits `actor` starts the scenario with."""
        operator = await self.w.services.operator_session()
        reply = await self.w.deployment.own_credits.arrange_credits(operator, actor.account, credits)
        expect(reply, f"{actor} could not be given {credits} credits")
        self._credit(actor, credits)

    async def admin_grants(self, actor: Actor, credits: Decimal) -> None:
        """A platform administrator grants `actor` credits: the act under test."""
        operator = await self.w.services.operator_session()
        reply = await self.w.deployment.own_credits.grant(operator, actor.account, credits)
        expect(reply, f"the platform admin could not grant {credits} credits to {actor}")
        self._credit(actor, credits)

    async def use_calls(self, actor: Actor, used: int, limit: int) -> None:
        """`actor` has already used `used` of her plan's `limit` API calls this period: set where the product counts
        them, then read back from the product, which must report just that."""
        await self.w.deployment.calls.arrange_used(actor.account, used)
        balance = await self.books.balance(actor)
        if (balance.calls_used, balance.calls_limit) != (used, limit):
            raise CannotArrange(f"{actor} should have used {number(used)} of her {number(limit)} API calls, but "
                                f"Ops-Center reports {figure(balance.calls_used, 'no count')} of "
                                f"{figure(balance.calls_limit, 'no limit')}")

    async def recreate(self, actor: Actor) -> Actor:
        """`actor`'s account removed and created again with the same e-mail, as support staff do."""
        actor.account, actor.session = await self.w.deployment.accounts.recreate(actor.account, actor.name)
        self.w.services.redactor.remember(actor.account.password, actor.session.secret)
        self._touch(actor)
        actor.opening = None
        return actor

    async def grant_by_email(self, actor: Actor, credits: Decimal) -> Reply:
        """The platform admin grants credits naming `actor` only by e-mail."""
        reply = await self.grant_naming(credits, user_id=None, email=actor.email)
        if reply.ok:
            self._credit(actor, credits)
        return reply

    async def grant_naming(self, credits: Decimal, user_id: str | None, email: str | None) -> Reply:
        """The platform admin grants credits to an account named by `user_id` or by `email`, anyone's or not."""
        operator = self.w.acting(await self.w.services.operator_actor())
        operator.last_reply = await self.w.deployment.own_credits.grant_naming(operator.session, user_id, email,
                                                                               credits)
        return operator.last_reply

    def no_ones(self, name: NoOnesName) -> tuple[str | None, str | None]:
        """(user_id, email): `name` spelled out, run-unique and padded to its length. A name too short to carry the
        run's mark is no one's either: the suite's accounts have Keycloak's 36-character ids and e-mails at
        EMAIL_DOMAIN."""
        unique = self.w.services.unique("nobody")
        if name.by is NamedBy.IDENTITY:
            return of_length(unique, name.length), None
        if name.length > len(EMAIL_DOMAIN):
            return None, of_length(unique, name.length - len(EMAIL_DOMAIN)) + EMAIL_DOMAIN
        return None, of_length(f"{unique[0]}@{unique[1:]}", name.length)

    async def attempt(self, actor: Actor, act: OrgAct, org: Organization) -> Reply:
        """`actor` tries `act` on an organization, with their own sign-in and the organization's real id; its
        books are read first, so that a later step can prove that nothing moved."""
        self.w.acting(actor)
        org.books_before = await self.books.org_books(org)
        session, deployment = await actor.current_session(), self.w.deployment
        attempts = {
            OrgAct.READ_CREDITS: lambda: deployment.orgs.pool(session, org.ref),
            OrgAct.READ_USAGE: lambda: deployment.orgs.attribution(session, org.ref),
            OrgAct.BUY: lambda: deployment.orgs.buy(session, org.ref, ATTEMPTED_CREDITS),
            OrgAct.ALLOCATE_TO_SELF: lambda: deployment.orgs.allocate(session, org.ref, actor.account,
                                                                      ATTEMPTED_CREDITS),
            OrgAct.JOIN: lambda: deployment.orgs.add_member(session, org.ref, actor.account),
            OrgAct.DELETE: lambda: deployment.orgs.delete(session, org.ref),
        }
        actor.last_reply = await attempts[act]()
        return actor.last_reply

    def _touch(self, actor: Actor) -> None:
        self.w.services.money.touch(USER, actor.user_id, f"{actor.name} ({actor.account.username})")

    def _credit(self, actor: Actor, credits: Decimal) -> None:
        self.w.services.money.credit(USER, actor.user_id, f"{actor.name} ({actor.account.username})", credits)

    async def create_org(self, admin: Actor, org: Organization, plan: str) -> Organization:
        admin = await self.sign_up(admin, plan)
        session = await admin.current_session()
        reply = await self.w.deployment.orgs.create(session, self.w.services.unique(org.name), plan)
        return self._created(org, expect(reply, f"{admin} could not create the organization {org}"), admin)

    async def try_create_org(self, admin: Actor, org: Organization, plan: str, name_length: int) -> Reply:
        """`admin`, already in the scenario, creates an organization whose name is `name_length` characters long
        (its run-unique name, cut or padded); one that is accepted is removed after the scenario as any other."""
        self.w.acting(admin)
        name = of_length(self.w.services.unique(org.name), name_length)
        admin.last_reply = await self.w.deployment.orgs.create(await admin.current_session(), name, plan)
        if admin.last_reply.ok:
            self._created(org, admin.last_reply.value, admin)
        return admin.last_reply

    def _created(self, org: Organization, ref: OrgRef, admin: Actor) -> Organization:
        org.created_as, org.created_by = ref, admin
        self.w.orgs[org.name] = org
        self.w.services.money.touch(ORGANIZATION, org.org_id, f"{org} ({ref.name})")
        self.w.on_cleanup(f"delete the organization {org}", lambda: self._delete(org))
        return org

    async def _delete(self, org: Organization) -> None:
        money = self.w.services.money
        money.close(ORGANIZATION, org.org_id, await self.w.deployment.ledger.org_statement(org.org_id))
        try:
            reply = await self.w.deployment.orgs.remove(await org.admin.current_session(), org.ref)
        except NotApplicable:
            return  # the product cannot delete an organization: its report lists that among how it was run
        if not reply.ok and reply.refusal.kind is not RefusalKind.NOT_FOUND:
            raise FlowError(f"Ops-Center {reply.refusal.describe()}")

    async def join(self, member: Actor, org: Organization) -> None:
        member = await self.sign_up(member, MEMBER_PLAN)
        reply = await self.w.deployment.orgs.add_member(await org.admin.current_session(), org.ref, member.account)
        expect(reply, f"{member} could not join {org}")
        member.memberships.append(org)

    async def allocate(self, org: Organization, member: Actor, credits: Any) -> Reply:
        admin = self.w.acting(org.admin)
        reply = await self.w.deployment.orgs.allocate(await admin.current_session(), org.ref, member.account, credits)
        admin.last_reply = reply
        return reply

    async def allocate_exactly(self, org: Organization, member: Actor, credits: Decimal, what: str) -> Reply:
        """Allocates `credits`, `what` the rule needs exactly. Where the product refuses the amount itself as
        invalid, no other amount tests the rule: it cannot be arranged, and the product's answer says why."""
        reply = await self.allocate(org, member, credits)
        if reply.refusal is not None and reply.refusal.kind is RefusalKind.INVALID:
            raise CannotArrange(f"{what} comes to {number(credits)} credits, and Ops-Center refused to allocate that "
                                f"amount ({reply.describe()}); no other amount is exactly {what}")
        return reply

    async def allocate_under(self, org: Organization, member: Actor, credits: Decimal, what: str) -> Reply:
        """Allocates `credits`, just under `what`, which any smaller amount also is. Where the product refuses the
        amount itself as invalid, the nearest smaller amount it holds (a whole multiple of its allocation unit) is
        asked instead, and the product's answer to that one stands."""
        reply = await self.allocate(org, member, credits)
        if reply.refusal is None or reply.refusal.kind is not RefusalKind.INVALID:
            return reply
        unit = self.w.deployment.prices.allocation_unit
        nearest = (credits // unit) * unit
        if nearest < 0 or nearest == credits:
            raise CannotArrange(f"Ops-Center refused to allocate {number(credits)} credits, just under {what} "
                                f"({reply.describe()}), and holds no smaller amount in its allocation unit of "
                                f"{counted(unit, 'credit')}")
        return await self.allocate(org, member, nearest)

    async def invite_naming(self, org: Organization, user_id: str | None, email: str | None) -> Reply:
        """The organization's admin adds a member named by `user_id` or by `email`, anyone's or not."""
        admin = self.w.acting(org.admin)
        admin.last_reply = await self.w.deployment.orgs.invite_naming(await admin.current_session(), org.ref, user_id,
                                                                      email)
        return admin.last_reply

    async def allocate_naming(self, org: Organization, credits: Any, user_id: str | None, email: str | None) -> Reply:
        """The organization's admin allocates credits to a member named by `user_id`, by `email`, by both or by
        neither, as a careless client might name one."""
        admin = self.w.acting(org.admin)
        admin.last_reply = await self.w.deployment.orgs.allocate_naming(await admin.current_session(), org.ref,
                                                                        user_id, email, credits)
        return admin.last_reply

    async def store_byok_key(self, actor: Actor) -> Reply:
        """Stores the run's OpenRouter key (TEST_OPENROUTER_KEY) as `actor`'s own."""
        return await self._store_key(actor, self.w.services.config.byok_key)

    async def try_store_byok_key(self, actor: Actor, length: int) -> Reply:
        """`actor` stores a made-up OpenRouter key of `length` characters, as a client might send one whose length is
        what is judged."""
        return await self._store_key(self.w.acting(actor), of_length(f"sk-or-v1-{uuid.uuid4().hex}", length))

    async def _store_key(self, actor: Actor, key: str) -> Reply:
        self.w.services.redactor.remember(key)
        actor.last_reply = await self.w.deployment.keys.store(await actor.current_session(), BYOK_PROVIDER, key)
        return actor.last_reply

    async def break_provider(self) -> None:
        provider = self._provider_for_this_scenario("making the provider fail")
        await provider.fail_calls(self.w.scope, "error")

    async def provider_uses(self, percent: int) -> None:
        provider = self._provider_for_this_scenario("choosing the tokens the provider reports")
        await provider.use_share(self.w.scope, percent)

    @staticmethod
    def slow_writing_ms(tokens: int) -> float:
        """How long the provider, writing slowly (a piece a token), takes to write an answer of `tokens` tokens."""
        return tokens * SLOW_PIECE_MS

    async def provider_streams(self, slowly: bool = False, usage: bool = True, breaks_after: int | None = None) -> None:
        """Slowly: a piece every SLOW_PIECE_MS, so a caller can leave long before the answer ends; `breaks_after`:
        the pieces the provider sends before it breaks the stream off."""
        provider = self._provider_for_this_scenario("choosing how the provider streams")
        await provider.stream_as(self.w.scope, SLOW_PIECE_MS if slowly else 0, usage, breaks_after)

    def _provider_for_this_scenario(self, purpose: str):
        """The provider double, whose settings for this scenario's calls end with the scenario."""
        provider = self.w.services.provider_double(purpose)
        if not self._provider_set:
            self._provider_set = True
            self.w.on_cleanup("let the LLM provider answer as usual", lambda: provider.forget(self.w.scope))
        return provider
