"""The payment provider, as the suite meets it in three roles: the payer's browser, which turns a test card into a
payment method (Stripe.js's part); the provider's records, read to learn what was paid, by whom, and refunded; and the
provider's webhook sender, which delivers (and redelivers) signed events, and whose signature an attacker forges.

It speaks Stripe's API, so it reads the sandbox's localstripe and would read a Stripe account in test mode. Which
payments are an account's depends on how each Ops-Center labels them: the deployment modules say (`PaymentsReader`).
"""

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from enum import Enum

import httpx

STRIPE_TOLERANCE_S = 300  # how old a signature Stripe's libraries accept
# How long after a payment's news its event has reached the webhook endpoint: localstripe sends it a second later, a
# tenth of that as the sandbox runs it (sandbox/payments.py); Stripe's own take a few seconds at most.
DELIVERED_WITHIN_S = 3


class PayWith(Enum):
    """Stripe's test payment methods, by what the payer's bank does with them (Stripe's documented numbers)."""

    CARD = ("card", "4242424242424242")  # pays
    DECLINED_CARD = ("card", "4000000000000341")  # put on file, then every charge to it is declined
    CARD_REFUSED_ON_FILE = ("card", "4000000000000002")  # declined as soon as it is put on file
    CARD_NEEDING_AUTHENTICATION = ("card", "4000002760003184")  # every payment asks the cardholder for 3-D Secure
    BANK_DEBIT = ("sepa_debit", "DE89370400440532013000")  # pays, a moment later
    BOUNCING_BANK_DEBIT = ("sepa_debit", "DE62370400440532013001")  # fails, a moment later

    def as_stripe(self) -> dict:
        kind, number = self.value
        if kind == "card":
            return {"type": "card", "card[number]": number, "card[exp_month]": "12", "card[exp_year]": "2034",
                    "card[cvc]": "123"}
        return {"type": "sepa_debit", "sepa_debit[iban]": number}


class Signing(Enum):
    """How an event delivered to Ops-Center is signed."""

    BY_PROVIDER = "signed by the payment provider"
    UNSIGNED = "with no signature"
    WRONG_SECRET = "signed with another secret"
    STALE = "signed by the payment provider ten minutes ago"


@dataclass(frozen=True)
class Delivery:
    payload: bytes
    headers: dict[str, str]


class PaymentProvider:
    def __init__(self, url: str, api_key: str, webhook_secret: str):
        self._http = httpx.AsyncClient(base_url=url.rstrip("/"), auth=(api_key, ""), timeout=15)
        self._webhook_secret = webhook_secret

    async def close(self) -> None:
        await self._http.aclose()

    async def _get(self, path: str, **params) -> dict:
        answer = await self._http.get(f"/v1{path}", params=params)
        answer.raise_for_status()
        return answer.json()

    async def _all(self, path: str, after: str | None = None, **params) -> list[dict]:
        """Every object of a list that comes after `after` in the provider's order (all, for None), page by page."""
        found = []
        while True:
            page = await self._get(path, limit=100, **params, **({"starting_after": after} if after else {}))
            found += page["data"]
            if not page.get("has_more") or not page["data"]:
                return found
            after = page["data"][-1]["id"]

    async def _ahead_of(self, path: str, known: set[str]) -> list[dict]:
        """The objects a list shows before the first one in `known`: a single one is asked for first, since a list
        that grows at its other end shows a known one there."""
        found, after, limit = [], None, 1
        while True:
            page = await self._get(path, limit=limit, **({"starting_after": after} if after else {}))
            for listed in page["data"]:
                if listed["id"] in known:
                    return found
                found.append(listed)
            if not page.get("has_more") or not page["data"]:
                return found
            after, limit = page["data"][-1]["id"], 100

    def listing(self, path: str) -> "Listing":
        return Listing(self, path)

    # -- the payer's browser ------------------------------------------------------------------
    async def payment_method(self, method: PayWith) -> str:
        """A payment method made from a test card or account, as Stripe.js makes one in the payer's browser."""
        answer = await self._http.post("/v1/payment_methods", data=method.as_stripe())
        answer.raise_for_status()
        return answer.json()["id"]

    async def pay_directly(self, method: PayWith, cents: int, metadata: dict[str, str]) -> str:
        """A payment made at the provider by someone other than Ops-Center (another application on the same
        account): its customer, its card, its own labels. Returns the payment's id."""
        customer = (await self._post("/customers", {"description": "not an Ops-Center customer"}))["id"]
        card = await self.payment_method(method)
        await self._post(f"/payment_methods/{card}/attach", {"customer": customer})
        intent = await self._post("/payment_intents", {
            "amount": str(cents), "currency": "usd", "customer": customer, "payment_method": card,
            "confirm": "true", **{f"metadata[{key}]": value for key, value in metadata.items()}})
        return intent["id"]

    async def _post(self, path: str, data: dict[str, str]) -> dict:
        answer = await self._http.post(f"/v1{path}", data=data)
        answer.raise_for_status()
        return answer.json()

    # -- the provider's records ---------------------------------------------------------------
    async def charges_of(self, customer: str) -> list[dict]:
        return await self._all("/charges", customer=customer)

    async def payment_intent(self, payment_id: str) -> dict:
        return await self._get(f"/payment_intents/{payment_id}")

    async def events_about(self, payment_id: str, kind: str) -> list[dict]:
        """The events of `kind` the provider sent about one payment."""
        return [event for event in await self._all("/events", type=kind)
                if event["data"]["object"].get("id") == payment_id]

    # -- the webhook sender -------------------------------------------------------------------
    def deliver(self, event: dict, signing: Signing, new_id: bool = False) -> Delivery:
        """`event` as the provider delivers it (or an attacker imitates it); `new_id`: the same news under another
        event id, as a second event reporting the same payment would carry."""
        if new_id:
            event = {**event, "id": f"evt_{secrets.token_hex(12)}"}
        payload = json.dumps(event, sort_keys=True).encode()
        if signing is Signing.UNSIGNED:
            return Delivery(payload, {"Content-Type": "application/json"})
        stamp = int(time.time()) - (2 * STRIPE_TOLERANCE_S if signing is Signing.STALE else 0)
        secret = secrets.token_urlsafe(24) if signing is Signing.WRONG_SECRET else self._webhook_secret
        signature = hmac.new(secret.encode(), f"{stamp}.".encode() + payload, hashlib.sha256).hexdigest()
        return Delivery(payload, {"Content-Type": "application/json", "Stripe-Signature": f"t={stamp},v1={signature}"})


class Listing:
    """One of the provider's lists (customers, charges), read again and again: each read gives what the list gained
    since the one before, at whichever end the provider adds. Stripe lists the newest first (docs.stripe.com/api/
    pagination: "sorted by creation date, with the most recently created appearing first"), localstripe the oldest
    first; both page with starting_after, which goes on towards the end the list started from."""

    def __init__(self, provider: PaymentProvider, path: str):
        self._provider, self._path = provider, path
        self._known: set[str] = set()
        self._last: str | None = None  # the one the list showed last: what came after it is new where lists grow there

    async def gained(self) -> list[dict]:
        """Everything the list holds, the first time; then only what was added since."""
        if self._last is None:
            new = await self._provider._all(self._path)
        else:
            new = await self._provider._ahead_of(self._path, self._known)
            behind = await self._provider._all(self._path, after=self._last)
            new += behind
            if behind:
                self._last = behind[-1]["id"]
        if self._last is None and new:
            self._last = new[-1]["id"]
        self._known.update(listed["id"] for listed in new)
        return new
