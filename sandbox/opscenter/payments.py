"""Money in: purchases paid at the payment provider (Stripe's API), its signed events, and refunds.

Credits enter an account only when the payment provider says a payment for them succeeded: the purchase request
starts a payment, and the provider's signed event (or, for a payment still in flight, a later one) credits it, once,
for the credits recorded when the payment started, after the provider's own record of the payment confirms its
status, amount and currency. docs/contract.md, "Money in", states the rules.
"""

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg
import httpx

CREDITS_PER_CENT = 10  # 1 credit = $0.001
CURRENCY = "usd"
SIGNATURE_TOLERANCE_S = 300  # as Stripe's own libraries allow
CREDITED_WITHIN_S = 15  # how long a purchase waits for the provider's event before answering "processing"


class SignatureError(Exception):
    """An event whose Stripe-Signature is missing, wrong or too old: not the provider's."""


class PaymentRefused(Exception):
    """The provider refused a payment or a card: its reason code and its sentence."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def verify_signature(payload: bytes, header: str | None, secret: str, now: float | None = None) -> dict:
    """The event, if `header` signs `payload` with `secret` (HMAC-SHA256 over `timestamp.payload`) within the
    tolerance; as Stripe's libraries verify it."""
    if not header:
        raise SignatureError("the event carries no Stripe-Signature")
    parts = [part.split("=", 1) for part in header.split(",") if "=" in part]
    stamps = [value for key, value in parts if key == "t"]
    signatures = [value for key, value in parts if key == "v1"]
    if len(stamps) != 1 or not stamps[0].isdigit() or not signatures:
        raise SignatureError("the Stripe-Signature names no timestamp or no signature")
    expected = hmac.new(secret.encode(), stamps[0].encode() + b"." + payload, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, signature) for signature in signatures):
        raise SignatureError("the Stripe-Signature does not match the event")
    if abs((now or time.time()) - int(stamps[0])) > SIGNATURE_TOLERANCE_S:
        raise SignatureError(f"the event was signed more than {SIGNATURE_TOLERANCE_S} seconds from now")
    return json.loads(payload)


def form(data: dict, prefix: str = "") -> dict[str, str]:
    """Stripe's form encoding: nested fields as `outer[inner]`."""
    flat = {}
    for key, value in data.items():
        name = f"{prefix}[{key}]" if prefix else key
        if isinstance(value, dict):
            flat.update(form(value, name))
        elif value is not None:
            flat[name] = str(value).lower() if isinstance(value, bool) else str(value)
    return flat


class Stripe:
    """The few calls of Stripe's API Ops-Center makes, with its secret key."""

    def __init__(self, http: httpx.AsyncClient, base: str, key: str):
        self.http, self.base, self.key = http, base.rstrip("/"), key

    async def call(self, method: str, path: str, data: dict | None = None, idempotency_key: str | None = None) -> dict:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        answer = await self.http.request(method, f"{self.base}/v1{path}", data=form(data or {}), auth=(self.key, ""),
                                         headers=headers, timeout=20)
        try:
            body = answer.json()
        except ValueError:  # not the provider's API answering (a proxy's error page, say)
            raise PaymentRefused(502, "payment_error",
                                 f"the payment provider answered {answer.status_code}, not in its API's form") from None
        if answer.status_code >= 400:
            error = body.get("error", {}) if isinstance(body, dict) else {}
            raise PaymentRefused(answer.status_code, error.get("code") or "payment_error",
                                 error.get("message") or f"the payment provider answered {answer.status_code}")
        return body


@dataclass(frozen=True)
class Holder:
    """Whose credits a payment buys: a user's own ("user") or an organization's pool ("organization")."""

    kind: str
    key: str
    email: str  # whom the provider's customer is for


class Payments:
    def __init__(self, pool: asyncpg.Pool, stripe: Stripe, webhook_secret: str, starter_card: str | None,
                 balance_changed: Callable[[str, asyncpg.Record], Awaitable[None]]):
        self.pg, self.stripe, self.webhook_secret, self.starter_card = pool, stripe, webhook_secret, starter_card
        self.balance_changed = balance_changed  # a user's balance moved: the cache follows

    # -- the card on file ---------------------------------------------------------------------
    async def customer(self, holder: Holder) -> asyncpg.Record:
        """The holder's customer at the provider, made at first need with the sandbox's starter card on file."""
        row = await self._customer_row(holder)
        if row is not None:
            return row
        customer = await self.stripe.call("POST", "/customers", {
            "email": holder.email, "metadata": {"ops_center_holder": f"{holder.kind}:{holder.key}"}})
        card = None
        if self.starter_card:
            method = await self.stripe.call("POST", "/payment_methods", {"type": "card", "card": {
                "number": self.starter_card, "exp_month": 12, "exp_year": 2034, "cvc": "123"}})
            await self.stripe.call("POST", f"/payment_methods/{method['id']}/attach", {"customer": customer["id"]})
            card = method["id"]
        await self.pg.execute(
            """INSERT INTO payment_accounts (holder_kind, holder_id, customer_id, payment_method)
               VALUES ($1, $2, $3, $4) ON CONFLICT (holder_kind, holder_id) DO NOTHING""",
            holder.kind, holder.key, customer["id"], card)
        return await self._customer_row(holder)

    async def _customer_row(self, holder: Holder) -> asyncpg.Record | None:
        return await self.pg.fetchrow(
            "SELECT * FROM payment_accounts WHERE holder_kind = $1 AND holder_id = $2", holder.kind, holder.key)

    async def put_card_on_file(self, holder: Holder, payment_method: str) -> dict:
        """A payment method the holder's browser made at the provider becomes the card on file; a card the bank
        declines is refused here, before any purchase."""
        customer = await self.customer(holder)
        attached = await self.stripe.call("POST", f"/payment_methods/{payment_method}/attach",
                                          {"customer": customer["customer_id"]})
        await self.pg.execute(
            "UPDATE payment_accounts SET payment_method = $3 WHERE holder_kind = $1 AND holder_id = $2",
            holder.kind, holder.key, attached["id"])
        return {"payment_method": attached["id"], "card_last4": (attached.get("card") or {}).get("last4")}

    # -- a purchase ---------------------------------------------------------------------------
    async def buy(self, holder: Holder, buyer_id: str, credits: int) -> dict:
        """Charges the card on file for `credits` and waits for the provider's event that credits them.
        Returns the payment's state: "paid" (credited), or "processing" (credited when the provider says so)."""
        customer = await self.customer(holder)
        if customer["payment_method"] is None:
            raise PaymentRefused(402, "no_payment_method", "No card is on file to pay with.")
        payment_id = f"pay_{uuid.uuid4().hex}"
        cents = credits // CREDITS_PER_CENT
        await self.pg.execute(
            """INSERT INTO payments (id, holder_kind, holder_id, buyer_id, credits, amount, currency, status)
               VALUES ($1, $2, $3, $4, $5, $6, $7, 'started')""",
            payment_id, holder.kind, holder.key, buyer_id, credits, cents, CURRENCY)
        try:
            intent = await self.stripe.call("POST", "/payment_intents", {
                "amount": cents, "currency": CURRENCY, "customer": customer["customer_id"],
                "payment_method": customer["payment_method"], "confirm": True, "off_session": True,
                "metadata": {"ops_center_payment": payment_id, "ops_center_holder": f"{holder.kind}:{holder.key}",
                             "credits": credits},
            }, idempotency_key=payment_id)
        except PaymentRefused:
            await self._settle_unpaid(payment_id, "failed")
            raise
        await self.pg.execute("UPDATE payments SET payment_intent = $2 WHERE id = $1", payment_id, intent["id"])
        if intent["status"] == "requires_action":
            await self._settle_unpaid(payment_id, "requires_action")
            raise PaymentRefused(402, "authentication_required",
                                 "The card's bank asks the cardholder to confirm this payment (3-D Secure).")
        status = await self._credited_within(payment_id, CREDITED_WITHIN_S if intent["status"] == "succeeded" else 0)
        return {"payment_id": intent["id"], "status": status, "credits": credits,
                "amount": f"{cents / 100:.2f}", "currency": CURRENCY}

    async def _credited_within(self, payment_id: str, seconds: float) -> str:
        deadline = time.monotonic() + seconds
        while True:
            status = await self.pg.fetchval("SELECT status FROM payments WHERE id = $1", payment_id)
            if status == "paid" or time.monotonic() >= deadline:
                return "paid" if status == "paid" else "processing"
            await asyncio.sleep(0.05)

    async def _settle_unpaid(self, payment_id: str, status: str) -> None:
        await self.pg.execute("UPDATE payments SET status = $2 WHERE id = $1 AND status <> 'paid'", payment_id, status)

    # -- the provider's events ----------------------------------------------------------------
    async def receive(self, payload: bytes, signature: str | None) -> dict:
        """A webhook delivery: verified, received once per event id, then acted on from the provider's record."""
        event = verify_signature(payload, signature, self.webhook_secret)
        event_id, kind = event.get("id"), event.get("type")
        if not await self.pg.fetchval(
                """INSERT INTO payment_events (event_id, type) VALUES ($1, $2)
                   ON CONFLICT (event_id) DO NOTHING RETURNING true""", event_id, kind):
            return {"received": True, "outcome": "already received"}
        try:
            outcome = await self._act_on(kind, (event.get("data") or {}).get("object") or {})
        except BaseException:
            await self.pg.execute("DELETE FROM payment_events WHERE event_id = $1", event_id)  # so a retry is acted on
            raise
        return {"received": True, "outcome": outcome}

    async def _act_on(self, kind: str, reported: dict) -> str:
        if not (kind or "").startswith("payment_intent."):
            return "ignored"
        payment = await self.pg.fetchrow(
            "SELECT * FROM payments WHERE id = $1", (reported.get("metadata") or {}).get("ops_center_payment"))
        if payment is None or payment["payment_intent"] not in (None, reported.get("id")):
            return "not a payment of this Ops-Center"
        # The provider's record as it stands now, never the event's copy: events come late and out of order.
        intent = await self.stripe.call("GET", f"/payment_intents/{reported.get('id')}")
        if intent["status"] == "succeeded":
            if intent["amount"] != payment["amount"] or intent["currency"] != payment["currency"]:
                return "paid another amount than the purchase's price: nothing credited"
            return "credited" if await self._credit(payment["id"], intent["id"]) else "already credited"
        if intent["status"] in ("requires_payment_method", "canceled"):
            await self._settle_unpaid(payment["id"], "failed")
            return "failed"
        return intent["status"]

    async def _credit(self, payment_id: str, intent_id: str) -> bool:
        """Credits a paid payment's credits, once: whichever event comes first does it."""
        balance = None
        async with self.pg.acquire() as connection, connection.transaction():
            payment = await connection.fetchrow(
                """UPDATE payments SET status = 'paid', payment_intent = $2, credited_at = now()
                   WHERE id = $1 AND status <> 'paid' AND status <> 'refunded' RETURNING *""", payment_id, intent_id)
            if payment is None:
                return False
            await connection.execute(
                """INSERT INTO credit_transactions (request_id, user_id, org_id, kind, amount)
                   VALUES ($1, $2, $3, 'purchase', $4)""",
                intent_id, payment["buyer_id"], payment["holder_id"] if payment["holder_kind"] == "organization"
                else None, payment["credits"])
            if payment["holder_kind"] == "organization":
                await connection.execute(
                    """UPDATE organization_credits SET allocated = allocated + $2, remaining = remaining + $2
                       WHERE org_id = $1 AND holder = 'pool'""", payment["holder_id"], payment["credits"])
            else:
                balance = await connection.fetchrow(
                    """UPDATE user_credits SET credits = credits + $2, version = version + 1 WHERE user_id = $1
                       RETURNING credits, version""", payment["holder_id"], payment["credits"])
        if balance is not None:
            await self.balance_changed(payment["holder_id"], balance)
        return True

    # -- refunds --------------------------------------------------------------------------------
    async def payment(self, intent_id: str) -> asyncpg.Record | None:
        return await self.pg.fetchrow("SELECT * FROM payments WHERE payment_intent = $1", intent_id)

    async def refund(self, intent_id: str, credits: int | None) -> dict:
        """Gives back the money of a paid purchase's credits that are still unspent, and takes those credits back:
        never more than the purchase added, nor more than the account holds unspent and (for a pool) unallocated."""
        if credits is not None and credits % CREDITS_PER_CENT:
            raise PaymentRefused(422, "invalid_request", "A refund gives back whole cents: its credits are a multiple "
                                 f"of {CREDITS_PER_CENT}.")
        async with self.pg.acquire() as connection, connection.transaction():
            payment = await connection.fetchrow(
                "SELECT * FROM payments WHERE payment_intent = $1 FOR UPDATE", intent_id)
            if payment is None or payment["status"] not in ("paid", "refunded"):
                raise PaymentRefused(404, "payment_not_found", "No paid purchase with that payment id.")
            refundable = payment["credits"] - payment["refunded_credits"]
            unspent = await self._unspent(connection, payment)
            wanted = refundable if credits is None else credits
            if wanted > refundable or wanted == 0:
                raise PaymentRefused(409, "refund_exceeds_purchase", f"Of this purchase's {payment['credits']:,} "
                                     f"credits, {refundable:,} can still be refunded.")
            if wanted > unspent:
                raise PaymentRefused(409, "credits_spent", f"Only {unspent:,} of the purchase's credits are unspent "
                                     f"and unallocated; {payment['credits'] - unspent:,} were spent or allocated, "
                                     f"so at most {unspent:,} credits can be refunded.")
            refund = await self.stripe.call("POST", "/refunds", {"payment_intent": intent_id,
                                                                "amount": wanted // CREDITS_PER_CENT})
            balance = await self._take_back(connection, payment, wanted, refund["id"])
        if balance is not None:
            await self.balance_changed(payment["holder_id"], balance)
        return {"payment_id": intent_id, "refund_id": refund["id"], "credits_taken_back": wanted,
                "amount": f"{wanted / CREDITS_PER_CENT / 100:.2f}", "currency": payment["currency"],
                "credits_kept": payment["credits"] - payment["refunded_credits"] - wanted}

    @staticmethod
    async def _unspent(connection: asyncpg.Connection, payment: asyncpg.Record) -> int:
        if payment["holder_kind"] == "organization":
            return await connection.fetchval(
                """SELECT p.allocated - COALESCE((SELECT sum(m.allocated) FROM organization_credits m
                                                 WHERE m.org_id = p.org_id AND m.holder <> 'pool'), 0)
                   FROM organization_credits p WHERE p.org_id = $1 AND p.holder = 'pool' FOR UPDATE""",
                payment["holder_id"]) or 0
        return await connection.fetchval(
            "SELECT credits FROM user_credits WHERE user_id = $1 FOR UPDATE", payment["holder_id"]) or 0

    @staticmethod
    async def _take_back(connection: asyncpg.Connection, payment: asyncpg.Record, credits: int,
                         refund_id: str) -> asyncpg.Record | None:
        """Takes the refunded credits back; a user's balance after it, for the cache."""
        await connection.execute(
            """UPDATE payments SET refunded_credits = refunded_credits + $2,
               status = CASE WHEN refunded_credits + $2 = credits THEN 'refunded' ELSE status END WHERE id = $1""",
            payment["id"], credits)
        organization = payment["holder_kind"] == "organization"
        await connection.execute(
            """INSERT INTO credit_transactions (request_id, user_id, org_id, kind, amount)
               VALUES ($1, $2, $3, 'refund', $4)""",
            refund_id, payment["buyer_id"], payment["holder_id"] if organization else None, -credits)
        if organization:
            await connection.execute(
                """UPDATE organization_credits SET allocated = allocated - $2, remaining = remaining - $2
                   WHERE org_id = $1 AND holder = 'pool'""", payment["holder_id"], credits)
            return None
        return await connection.fetchrow(
            """UPDATE user_credits SET credits = credits - $2, version = version + 1 WHERE user_id = $1
               RETURNING credits, version""", payment["holder_id"], credits)
