"""Money in, as the scenario's people meet it: an admin or a user buys credits with the payment method on file, the
payment provider delivers its events (again, or forged by someone else), and a platform admin refunds a purchase.
What the provider recorded is asked of the provider (`Deployment.payments`), never of Ops-Center."""

import asyncio
import time
from decimal import Decimal
from typing import Any

from creditflow.actors import Actor, FlowError, Organization, expect
from creditflow.deployments.base import PaidIn, Purchase, Reply
from creditflow.deployments.declarations import Capability
from creditflow.money import ORGANIZATION, USER
from creditflow.scene import Scene
from creditflow.systems.payment_provider import DELIVERED_WITHIN_S, PayWith, Signing

CLEARED_WITHIN_S = 20  # a payment that clears later (a bank debit): how long until the provider says how it went


class Purchases:
    def __init__(self, scene: Scene):
        self.w = scene
        self.deliveries: list[Reply] = []  # Ops-Center's answers to the events delivered in this scenario
        self.delivered = ""  # what was delivered, in words: "Acme's payment event, delivered again with no signature"

    async def buy_for(self, org: Organization, amount: Any) -> Reply[Purchase]:
        """The organization's admin buys credits into its pool; `amount` may be invalid on purpose. Where the
        product takes no payment at the provider, the run counts what the purchase put in itself."""
        admin = self.w.acting(org.admin)
        admin.last_reply = await self.w.deployment.orgs.buy(await admin.current_session(), org.ref, amount)
        if admin.last_reply.ok:
            org.purchases.append(admin.last_reply.value)
            if not self.w.deployment.has(Capability.PAYMENTS):
                self.w.services.money.credit(ORGANIZATION, org.org_id, f"{org} ({org.ref.name})",
                                             Decimal(amount))
        return admin.last_reply

    async def buy_own(self, actor: Actor, amount: Any) -> Reply[Purchase]:
        self.w.acting(actor)
        actor.last_reply = await self.w.deployment.purchases.buy_own(await actor.current_session(), amount)
        if actor.last_reply.ok:
            actor.purchases.append(actor.last_reply.value)
        return actor.last_reply

    async def pay_with(self, org: Organization | None, actor: Actor, method: PayWith) -> Reply[None]:
        """`actor` puts `method` on file for `org` (as its admin), or for themself."""
        self.w.acting(actor)
        ref = org.ref if org else None
        actor.last_reply = await self.w.deployment.purchases.put_on_file(await actor.current_session(), ref, method)
        return actor.last_reply

    @staticmethod
    def last_purchase(whose: Actor | Organization) -> Purchase:
        purchases = whose.purchases
        if not purchases or purchases[-1].payment_id is None:
            raise FlowError(f"{whose} has made no purchase with a payment in this scenario")
        return purchases[-1]

    async def paid_in(self, whose: Actor | Organization) -> PaidIn:
        kind, key = (ORGANIZATION, whose.org_id) if isinstance(whose, Organization) else (USER, whose.user_id)
        return await self.w.deployment.payments.paid_in(kind, key)

    # -- the provider's events ----------------------------------------------------------------
    async def redeliver(self, whose: Actor | Organization, signing: Signing, copies: int = 1,
                        new_id: bool = False) -> list[Reply]:
        """The provider's event that reported `whose` last payment succeeded, delivered again as `signing` says;
        `copies` at once."""
        event = await self._event_about(self.last_purchase(whose).payment_id)
        delivery = self.w.services.payments(f"delivering {whose}'s payment event").deliver(event, signing, new_id)
        self.delivered = f"{whose}'s payment event, delivered again {signing.value}"
        self.deliveries = list(await asyncio.gather(*(self.w.deployment.purchases.deliver(delivery)
                                                      for _ in range(copies))))
        return self.deliveries

    async def _event_about(self, payment_id: str) -> dict:
        deadline = time.monotonic() + DELIVERED_WITHIN_S
        while (event := await self.w.deployment.payments.event_about(payment_id)) is None:
            if time.monotonic() > deadline:
                raise FlowError(f"the payment provider sent no event about the payment in {DELIVERED_WITHIN_S} s")
            await asyncio.sleep(0.2)
        return event

    async def paid_elsewhere(self, org: Organization, credits: Decimal) -> str:
        """Someone other than Ops-Center pays the provider `credits`' worth, labelled as the organization's; the
        provider tells Ops-Center as it tells it of every payment."""
        payment_id = await self.w.deployment.payments.paid_elsewhere(ORGANIZATION, org.org_id, credits)
        await self._told(payment_id)
        return payment_id

    async def settled(self, whose: Actor | Organization) -> str:
        """Waits until the provider says how `whose` last payment went, and has told Ops-Center; its outcome."""
        payment_id = self.last_purchase(whose).payment_id
        deadline = time.monotonic() + CLEARED_WITHIN_S
        while (status := await self.w.deployment.payments.status(payment_id)) == "processing":
            if time.monotonic() > deadline:
                raise FlowError(f"{whose}'s payment was still clearing after {CLEARED_WITHIN_S} s")
            await asyncio.sleep(0.2)
        await self._told(payment_id)
        return status

    async def _told(self, payment_id: str) -> None:
        """The provider delivers an event a moment after the payment's news; waits as long as it may take."""
        if await self.w.deployment.payments.status(payment_id) == "succeeded":
            await self._event_about(payment_id)
        await asyncio.sleep(DELIVERED_WITHIN_S)

    # -- refunds ------------------------------------------------------------------------------
    async def refund(self, org: Organization, credits: Decimal | None) -> Reply[Decimal]:
        """A platform admin refunds the organization's last purchase, all of it or `credits` of it."""
        operator = self.w.acting(await self.w.services.operator_actor())
        payment_id = self.last_purchase(org).payment_id
        operator.last_reply = await self.w.deployment.purchases.refund(operator.session, payment_id, credits)
        return operator.last_reply

    async def stock(self, org: Organization, credits: Decimal) -> None:
        """The credits an organization starts the scenario with: bought where the product takes payment, else a
        platform admin's grant, which the run counts as put in."""
        operator, admin = await self.w.services.operator_session(), org.admin
        reply = await self.w.deployment.orgs.stock_pool(operator, await admin.current_session(), org.ref, credits)
        org.purchases.append(expect(reply, f"{org}'s purchase of {credits:,} credits was not accepted"))
        org.bought += credits
        if org.purchases[-1].granted or not self.w.deployment.has(Capability.PAYMENTS):
            self.w.services.money.credit(ORGANIZATION, org.org_id, f"{org} ({org.ref.name})", credits)
