"""Where an actor's money stands: her balance as Ops-Center tells it, her charges and balance in the ledger and the
cache, what billing has, and what the payment provider recorded. A question that cannot be answered fails with the
business fact."""

import asyncio
import time
from dataclasses import dataclass
from decimal import Decimal

from creditflow.deployments.base import Balance, Charge, PaidIn, Purchase
from creditflow.deployments.declarations import Capability
from creditflow.rules.money import ORGANIZATION, USER
from creditflow.screenplay.actors import Actor, FlowError, Organization, expect
from creditflow.systems.payment_provider import DELIVERED_WITHIN_S
from creditflow.verdicts import NotApplicable

SETTLING_S = 15  # how long a call its caller left may take to be settled
SECOND_CHARGE_S = 1.0  # the pause after the first charge in which a double charge would appear


def as_evidence(actor: Actor, charges: list[Charge]) -> list[Charge]:
    """The charges, kept as the evidence of the step that read them."""
    actor.stage.services.evidence.ledger_rows.extend(charge.__dict__ for charge in charges)
    return charges


@dataclass(frozen=True)
class OwnBalance:
    """The actor's balance and usage, as Ops-Center tells her."""

    async def answered_by(self, actor: Actor) -> Balance:
        reply = await actor.deployment.own_credits.balance(await actor.current_session())
        return expect(reply, f"{actor}'s balance could not be read")


@dataclass(frozen=True)
class OpeningBalance:
    """The actor's balance and usage before her first call in this scenario."""

    async def answered_by(self, actor: Actor) -> Balance:
        deployment = actor.deployment
        if not deployment.has(Capability.OWN_CREDITS):
            raise NotApplicable(deployment.lacks[Capability.OWN_CREDITS])
        if actor.opening is None:
            raise FlowError(f"{actor} has made no call in this scenario")
        return actor.opening


@dataclass(frozen=True)
class OwnCharges:
    """The ledger's charges to the actor's own credits."""

    async def answered_by(self, actor: Actor) -> list[Charge]:
        return as_evidence(actor, await actor.deployment.ledger.charges(actor.user_id))


@dataclass(frozen=True)
class ChargedForLastCall:
    """What the actor's own credits were charged for her last call: the charges under its request id, or, where the
    product records none, every charge of hers since the scenario began (its accounts are its own)."""

    async def answered_by(self, actor: Actor) -> Decimal:
        call = actor.last_call
        charges = await actor.asks(OwnCharges())
        if call.request_id and any(charge.request_id for charge in charges):
            charges = [charge for charge in charges if charge.request_id == call.request_id]
        return sum((charge.credits for charge in charges), Decimal(0))


@dataclass(frozen=True)
class ChargesOfLastCall:
    """The ledger's charges for the actor's last served call, to her own credits or to an organization of hers:
    those under its request id, or, where the product records none, every charge of hers since the scenario began
    (its accounts are its own)."""

    async def answered_by(self, actor: Actor) -> list[Charge]:
        call = actor.succeeded_call()
        charges = await actor.asks(OwnCharges())
        for org in actor.memberships:
            charges += await actor.asks(MemberCharges(org))
        if call.request_id and any(charge.request_id for charge in charges):
            charges = [charge for charge in charges if charge.request_id == call.request_id]
        return charges


@dataclass(frozen=True)
class ChargesOnceSettled:
    """The actor's own charges once a call she left is settled: Ops-Center settles it after the caller has gone, so
    the ledger is read until a charge appears (or SETTLING_S pass), then once more after a pause in which a second
    charge would show."""

    async def answered_by(self, actor: Actor) -> list[Charge]:
        ledger, deadline = actor.deployment.ledger, time.monotonic() + SETTLING_S
        while not (charges := await ledger.charges(actor.user_id)) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        if charges:
            await asyncio.sleep(SECOND_CHARGE_S)
        return await actor.asks(OwnCharges())


@dataclass(frozen=True)
class MemberCharges:
    """The ledger's charges to the actor as a member of `org`."""

    org: Organization

    async def answered_by(self, actor: Actor) -> list[Charge]:
        return as_evidence(actor, await actor.deployment.ledger.charges(actor.user_id, self.org.org_id))


@dataclass(frozen=True)
class LedgerBalance:
    async def answered_by(self, actor: Actor) -> Decimal | None:
        return await actor.deployment.ledger.own_balance(actor.user_id)


@dataclass(frozen=True)
class CallsCounted:
    """The API calls usage tracking counts for the actor this period."""

    async def answered_by(self, actor: Actor) -> int | None:
        return await actor.deployment.ledger.calls_counted(actor.user_id)


@dataclass(frozen=True)
class CachedBalance:
    async def answered_by(self, actor: Actor) -> Decimal | None:
        return await actor.deployment.cache.cached_balance(actor.user_id)


@dataclass(frozen=True)
class CachedCallCount:
    async def answered_by(self, actor: Actor) -> int | None:
        return await actor.deployment.cache.calls_this_period(actor.user_id)


@dataclass(frozen=True)
class Subscriptions:
    """Whether billing knows a persona or an organization, and the plans it is actively subscribed to, each with its
    monthly price in dollars."""

    customer: Actor | Organization

    async def answered_by(self, actor: Actor) -> tuple[bool, dict[str, Decimal | None]]:
        customer = self.customer
        external_id = customer.org_id if isinstance(customer, Organization) else customer.user_id
        return await actor.deployment.billing.customer_plans(external_id)


@dataclass(frozen=True)
class PaidAtTheProvider:
    """What the payment provider recorded of what a persona or an organization paid, and was given back."""

    whose: Actor | Organization

    async def answered_by(self, actor: Actor) -> PaidIn:
        whose = self.whose
        kind, key = (ORGANIZATION, whose.org_id) if isinstance(whose, Organization) else (USER, whose.user_id)
        return await actor.deployment.payments.paid_in(kind, key)


CLEARED_WITHIN_S = 20  # a payment that clears later (a bank debit): how long until the provider says how it went


def last_purchase(whose: Actor | Organization) -> Purchase:
    """The last purchase of a persona or an organization that was paid at the payment provider."""
    purchases = whose.purchases
    if not purchases or purchases[-1].payment_id is None:
        raise FlowError(f"{whose} has made no purchase with a payment in this scenario")
    return purchases[-1]


async def event_about(actor: Actor, payment_id: str) -> dict:
    """The payment provider's event about the payment, once it has sent one."""
    deadline = time.monotonic() + DELIVERED_WITHIN_S
    while (event := await actor.deployment.payments.event_about(payment_id)) is None:
        if time.monotonic() > deadline:
            raise FlowError(f"the payment provider sent no event about the payment in {DELIVERED_WITHIN_S} s")
        await asyncio.sleep(0.2)
    return event


async def told(actor: Actor, payment_id: str) -> None:
    """The provider delivers an event a moment after the payment's news; waits as long as it may take."""
    if await actor.deployment.payments.status(payment_id) == "succeeded":
        await event_about(actor, payment_id)
    await asyncio.sleep(DELIVERED_WITHIN_S)


@dataclass(frozen=True)
class PaymentOutcome:
    """How `whose` last payment went, once the provider says and has told Ops-Center."""

    whose: Actor | Organization

    async def answered_by(self, actor: Actor) -> str:
        payment_id = last_purchase(self.whose).payment_id
        deadline = time.monotonic() + CLEARED_WITHIN_S
        while (status := await actor.deployment.payments.status(payment_id)) == "processing":
            if time.monotonic() > deadline:
                raise FlowError(f"{self.whose}'s payment was still clearing after {CLEARED_WITHIN_S} s")
            await asyncio.sleep(0.2)
        await told(actor, payment_id)
        return status
