"""Ops-Center-OSS's payments, as the payment provider records them, and what the product offers for money in.

The product labels the one payment it takes at the provider, a user's card charge (POST /api/v1/llm/credits/purchase,
backend/litellm_api.py:2242-2306), with `metadata.user_id`. It starts none for an organization's pool: the pool's
purchase adds the credits and calls no payment provider (backend/org_billing_api.py:532-597), so no payment at the
provider is ever an organization's, and what the provider shows paid for one is nothing.
"""

from decimal import Decimal

from creditflow.deployments.base import PaidIn
from creditflow.deployments.readers import PaymentsReader
from creditflow.systems.payment_provider import PaymentProvider
from creditflow.verdicts import NotApplicable

# The packages the product's card charge sells, dollars to credits: the same table in every build (litellm_api.py:2258
# in af179f13cf24, :2031 in 283233d, :2060 in v2.5.0); it refuses any other amount before it charges.
PACKAGES = {10: 10_000, 50: 55_000, 100: 120_000}
ORG_PAYMENTS = ("an organization's pool is never paid for at a payment provider: its purchase, POST "
                "/api/v1/org-billing/credits/{org_id}/add, adds the credits and calls no provider "
                "(backend/org_billing_api.py:532-597; its own page says it simulates the purchase, "
                "src/pages/organization/CreditPurchase.jsx:151-152), so there is no card on file, payment, event or "
                "refund of an organization's to try")
PAYMENT_REFUNDS = ("nothing gives back the money of a purchase of credits: stripe.Refund.create is called only for "
                   "add-ons (backend/stripe_extensions.py:248), and the one charge.refunded handler "
                   "(backend/stripe_webhook_handler.py:31-32) is for add-ons and imported by no module")


class OssPayments(PaymentsReader):
    def __init__(self, provider: PaymentProvider | None):
        self.provider = provider
        self._charges: dict[str, list[dict]] = {}  # the product's charges, by the user its metadata names
        self._new_charges = provider.listing("/charges") if provider else None  # each read: those added since

    async def paid_in(self, kind: str, key: str) -> PaidIn:
        if kind != "user" or self.provider is None:
            return PaidIn(Decimal(0), Decimal(0), 0)  # the provider holds no payment the product made for a pool
        for charge in await self._new_charges.gained():
            user = (charge.get("metadata") or {}).get("user_id")
            if user:
                self._charges.setdefault(user, []).append(charge)
        paid = [charge for charge in self._charges.get(key, []) if charge.get("status") == "succeeded"]
        cents = sum(charge["amount"] for charge in paid)
        # A charge of another amount buys nothing at the product's prices: credits it brought would be unpaid for.
        credits = sum(PACKAGES.get(charge["amount"] / 100, 0) for charge in paid)
        return PaidIn(Decimal(credits), Decimal(0), len(paid), Decimal(cents) / 100, Decimal(0))

    async def status(self, payment_id: str) -> str:
        raise NotApplicable(ORG_PAYMENTS)

    async def event_about(self, payment_id: str) -> dict | None:
        raise NotApplicable(ORG_PAYMENTS)

    async def paid_elsewhere(self, kind: str, key: str, credits: Decimal) -> str:
        raise NotApplicable(ORG_PAYMENTS)
