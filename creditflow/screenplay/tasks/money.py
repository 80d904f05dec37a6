"""Money in, as the scenario's people meet it: a platform admin grants credits (to an account named however a client
names it) and refunds a purchase; an admin or a user buys credits with the payment method on file; anyone asks for
a balance naming another's account. What the provider recorded is asked of the provider, never of Ops-Center."""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from creditflow.deployments.base import Purchase, Reply
from creditflow.deployments.declarations import Capability
from creditflow.rules.money import ORGANIZATION
from creditflow.screenplay.actors import Actor, Organization, expect
from creditflow.screenplay.questions.money import last_purchase
from creditflow.screenplay.tasks.accounts import credited
from creditflow.systems.payment_provider import PayWith


@dataclass(frozen=True)
class Grant:
    """The actor, a platform admin, grants `to` credits: the act under test."""

    credits: Decimal
    to: Actor

    async def perform_as(self, actor: Actor) -> None:
        reply = await actor.deployment.own_credits.grant(await actor.current_session(), self.to.account, self.credits)
        expect(reply, f"the platform admin could not grant {self.credits} credits to {self.to}")
        credited(self.to, self.credits)


@dataclass(frozen=True)
class GrantNaming:
    """The actor, a platform admin, grants credits to an account named by `user_id` or by `email`, anyone's or
    not."""

    credits: Decimal
    user_id: str | None
    email: str | None

    async def perform_as(self, actor: Actor) -> Reply:
        actor.stage.acting(actor)
        actor.last_reply = await actor.deployment.own_credits.grant_naming(await actor.current_session(),
                                                                           self.user_id, self.email, self.credits)
        return actor.last_reply


@dataclass(frozen=True)
class GrantByEmail:
    """The actor, a platform admin, grants credits naming `to` only by e-mail."""

    credits: Decimal
    to: Actor

    async def perform_as(self, actor: Actor) -> Reply:
        reply = await actor.attempts_to(GrantNaming(self.credits, user_id=None, email=self.to.email))
        if reply.ok:
            credited(self.to, self.credits)
        return reply


@dataclass(frozen=True)
class AskForBalanceNaming:
    """Asks for a balance, naming `named`'s account in the request: an attempt on another's, its answer kept."""

    named: Actor

    async def perform_as(self, actor: Actor) -> None:
        actor.stage.acting(actor)
        actor.last_reply = await actor.deployment.own_credits.balance(await actor.current_session(),
                                                                      self.named.account)


@dataclass(frozen=True)
class Stock:
    """The credits `org` starts the scenario with, which its admin (the actor) buys where the product takes payment;
    else a platform admin's grant, which the run counts as put in."""

    org: Organization
    credits: Decimal

    async def perform_as(self, actor: Actor) -> None:
        org, services = self.org, actor.stage.services
        reply = await actor.deployment.orgs.stock_pool(await services.operator_session(),
                                                       await actor.current_session(), org.ref, self.credits)
        org.purchases.append(expect(reply, f"{org}'s purchase of {self.credits:,} credits was not accepted"))
        org.bought += self.credits
        if org.purchases[-1].granted or not actor.deployment.has(Capability.PAYMENTS):
            services.money.credit(ORGANIZATION, org.org_id, f"{org} ({org.ref.name})", self.credits)


@dataclass(frozen=True)
class BuyFor:
    """The actor, `org`'s admin, buys credits into its pool; `amount` may be invalid on purpose. Where the product
    takes no payment at the provider, the run counts what the purchase put in itself."""

    org: Organization
    amount: Any

    async def perform_as(self, actor: Actor) -> Reply[Purchase]:
        org = self.org
        actor.stage.acting(actor)
        actor.last_reply = await actor.deployment.orgs.buy(await actor.current_session(), org.ref, self.amount)
        if actor.last_reply.ok:
            org.purchases.append(actor.last_reply.value)
            if not actor.deployment.has(Capability.PAYMENTS):
                actor.stage.services.money.credit(ORGANIZATION, org.org_id, f"{org} ({org.ref.name})",
                                                  Decimal(self.amount))
        return actor.last_reply


@dataclass(frozen=True)
class BuyOwn:
    """The actor buys credits for herself; `amount` may be invalid on purpose."""

    amount: Any

    async def perform_as(self, actor: Actor) -> Reply[Purchase]:
        actor.stage.acting(actor)
        actor.last_reply = await actor.deployment.purchases.buy_own(await actor.current_session(), self.amount)
        if actor.last_reply.ok:
            actor.purchases.append(actor.last_reply.value)
        return actor.last_reply


@dataclass(frozen=True)
class PutOnFile:
    """The actor puts `method` on file for `org` (as its admin), or for herself."""

    method: PayWith
    org: Organization | None = None

    async def perform_as(self, actor: Actor) -> Reply[None]:
        actor.stage.acting(actor)
        ref = self.org.ref if self.org else None
        actor.last_reply = await actor.deployment.purchases.put_on_file(await actor.current_session(), ref,
                                                                        self.method)
        return actor.last_reply


@dataclass(frozen=True)
class Refund:
    """The actor, a platform admin, refunds `org`'s last purchase, all of it (`credits` None) or `credits` of it."""

    org: Organization
    credits: Decimal | None

    async def perform_as(self, actor: Actor) -> Reply[Decimal]:
        actor.stage.acting(actor)
        payment_id = last_purchase(self.org).payment_id
        actor.last_reply = await actor.deployment.purchases.refund(await actor.current_session(), payment_id,
                                                                   self.credits)
        return actor.last_reply
