"""The contract's payments, as the payment provider records them (docs/contract.md, "Money in").

The reference labels each customer it makes at the provider with `metadata.ops_center_holder` = `<kind>:<id>`: an
account's payments are the ones its customers made, so a payment anyone else made (another application on the same
provider account, whatever it says of itself) is never counted as the account's.
"""

from decimal import Decimal

from creditflow.deployments.base import PaidIn
from creditflow.deployments.readers import PaymentsReader
from creditflow.systems.payment_provider import PaymentProvider, PayWith

CREDITS_PER_CENT = 10  # 1 credit = $0.001 (docs/contract.md, "Units and prices")
SMALLEST_PURCHASE = 500  # $0.50, Stripe's smallest charge in dollars
HOLDER_LABEL = "ops_center_holder"
# Where the provider's state names the payment's outcome the suite reads (Stripe's PaymentIntent statuses).
FAILED = ("requires_payment_method", "canceled")


class ContractPayments(PaymentsReader):
    def __init__(self, provider: PaymentProvider):
        self.provider = provider
        self._customers: dict[str, list[str]] = {}  # each holder's customers at the provider, by its label
        self._new_customers = provider.listing("/customers") if provider else None  # each read: those added since

    async def paid_in(self, kind: str, key: str) -> PaidIn:
        """The holder's customers' charges that succeeded, and what of them was refunded."""
        for customer in await self._new_customers.gained():
            label = (customer.get("metadata") or {}).get(HOLDER_LABEL)
            if label and customer["id"] not in self._customers.get(label, []):
                self._customers.setdefault(label, []).append(customer["id"])
        paid = [charge for customer in self._customers.get(f"{kind}:{key}", [])
                for charge in await self.provider.charges_of(customer) if charge.get("status") == "succeeded"]
        cents = sum(charge["amount"] for charge in paid)
        refunded = sum(charge.get("amount_refunded", 0) for charge in paid)
        return PaidIn(Decimal(cents * CREDITS_PER_CENT), Decimal(refunded * CREDITS_PER_CENT), len(paid),
                      Decimal(cents) / 100, Decimal(refunded) / 100)

    async def status(self, payment_id: str) -> str:
        status = (await self.provider.payment_intent(payment_id))["status"]
        return "failed" if status in FAILED else status

    async def event_about(self, payment_id: str) -> dict | None:
        events = await self.provider.events_about(payment_id, "payment_intent.succeeded")
        return events[0] if events else None

    async def paid_elsewhere(self, kind: str, key: str, credits: Decimal) -> str:
        """Paid by another application's customer, with labels naming the account and a payment of its own."""
        return await self.provider.pay_directly(PayWith.CARD, int(credits) // CREDITS_PER_CENT, {
            HOLDER_LABEL: f"{kind}:{key}", "ops_center_payment": "pay_not_started_here", "credits": str(int(credits))})
