"""The payment provider's events, as the stage crew works the provider: an event delivered again (signed as the
scenario says, or at once in copies), and a payment someone else made, labelled as an organization's."""

import asyncio
from dataclasses import dataclass
from decimal import Decimal

from creditflow.deployments.base import Reply
from creditflow.rules.money import ORGANIZATION
from creditflow.screenplay.actors import Actor, Organization
from creditflow.screenplay.questions.money import event_about, last_purchase, told
from creditflow.systems.payment_provider import Signing


@dataclass(frozen=True)
class Redeliver:
    """The provider's event that reported `whose` last payment succeeded, delivered again as `signing` says;
    `copies` at once; `new_id`: as an event of its own. Ops-Center's answers are the scene's deliveries."""

    whose: Actor | Organization
    signing: Signing = Signing.BY_PROVIDER
    copies: int = 1
    new_id: bool = False

    async def perform_as(self, actor: Actor) -> list[Reply]:
        event = await event_about(actor, last_purchase(self.whose).payment_id)
        delivery = actor.stage.services.payments(f"delivering {self.whose}'s payment event").deliver(
            event, self.signing, self.new_id)
        actor.stage.delivered = f"{self.whose}'s payment event, delivered again {self.signing.value}"
        actor.stage.deliveries = list(await asyncio.gather(*(actor.deployment.purchases.deliver(delivery)
                                                             for _ in range(self.copies))))
        return actor.stage.deliveries


@dataclass(frozen=True)
class PayElsewhere:
    """Someone other than Ops-Center pays the provider `credits`' worth, labelled as `org`'s; the provider tells
    Ops-Center as it tells it of every payment."""

    org: Organization
    credits: Decimal

    async def perform_as(self, actor: Actor) -> str:
        payment_id = await actor.deployment.payments.paid_elsewhere(ORGANIZATION, self.org.org_id, self.credits)
        await told(actor, payment_id)
        return payment_id
