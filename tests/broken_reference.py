"""A test-only launcher of the reference Ops-Center with one function replaced, to break one rule.

    uvicorn --factory tests.broken_reference:create_app   (CREDITFLOW_BREAK names the breakage)

The reference itself has no defect switch: each breakage below patches one function from outside,
so the self-tests can prove that the suite fails, with the business fact, when a rule is broken.
"""

import asyncio
import base64
import json
import os
import time
import uuid
from collections import Counter

import jwt

from sandbox.opscenter import app, auth, calls, ledger, limits, models, payments, service
from sandbox.opscenter.calls import Reservation
from sandbox.opscenter.service import QuotaState, Refused


def charge_byok_to_own_credits(payer):
    return "user" if payer.kind == "byok" else payer.kind


async def reserve_without_checking(self, payer, request):
    return Reservation(None, 0)


async def record_nothing(connection, request_id, user_id, org_id, amount, model, tokens):
    return None


async def refuse_to_delete(self, caller, org_id):
    raise RuntimeError("the organization store is unavailable")


def bare_model_names_only(name):
    if name not in models.RATES:
        raise ValueError(f"unknown model {name!r}")
    return name


async def oldest_account_with_the_same_email(self, user_id, email):
    if user_id is not None:
        email = (await self.ledger.user(user_id))["email"]
    return sorted(await self.ledger.users_by_email(email), key=lambda row: row["created_at"])[0]


async def claim_nothing(self, caller, request):
    return request.request_id or f"req_{uuid.uuid4().hex}"


async def provider_always_fails(self, payer, request):
    raise Refused("provider_error", "The LLM provider failed (router answered 500); nothing was charged.")


settle_once = calls.LlmCalls.settle
record_once = ledger.Ledger._record_charge


async def record_for_a_phantom_too(connection, request_id, user_id, org_id, amount, model, tokens):
    await record_once(connection, request_id, user_id, org_id, amount, model, tokens)
    await record_once(connection, f"{request_id}-again", "unknown", None, amount, model, tokens)


async def settle_streams_twice(self, admission, request, tokens):
    charged = await settle_once(self, admission, request, tokens)
    if request.body.get("stream") and admission.reservation.account == "user":
        await self.s.ledger.settle_own(admission.caller.user_id, 0, charged, f"{admission.request_id}-final",
                                       request.model, tokens)
    return charged


async def settle_billing_the_reservation(self, admission, request, tokens):
    """Charged for what the call used, but billing is told its whole budget and what was reserved for it."""
    service, bill = self.s, type(self.s).bill_usage

    async def bill_reserved(request_id, customer_id, model, used, credits, email):
        await bill(service, request_id, customer_id, model, request.max_tokens, admission.reservation.amount, email)

    service.bill_usage = bill_reserved
    try:
        return await settle_once(self, admission, request, tokens)
    finally:
        del service.bill_usage


relay_to_the_end = calls.LlmCalls.relay_stream


async def relay_while_listened_to(self, admission, request, upstream, relay):
    relaying = asyncio.create_task(relay_to_the_end(self, admission, request, upstream, relay))
    while not relaying.done():
        if relay.qsize() > 5:  # the listener has gone: a settlement made inside the response dies with it
            relaying.cancel()
            await self.withdraw(admission, RuntimeError("the listener left"))
            return
        await asyncio.sleep(0.01)


grant_once = service.OpsCenter.grant


async def grant_twice(self, caller, user_id, email, credits):
    await grant_once(self, caller, user_id, email, credits)
    return await grant_once(self, caller, user_id, email, credits)


async def store_key_as_base64(self, caller, provider, api_key):
    hint = service.key_hint(api_key)
    await self.ledger.store_key(caller.user_id, provider, base64.b64encode(api_key.encode()), hint)
    return {"provider": provider, "key_hint": hint}


async def any_admin_in_any_organization(self, org_id, caller, admin):
    return await self.ledger.membership(org_id, caller.user_id) or "admin"


purchase_once = service.OpsCenter.purchase


async def credit_purchase_twice(self, caller, org_id, amount):
    """A paid purchase credited, and credited again with a ledger row of its own that no payment stands behind."""
    answer = await purchase_once(self, caller, org_id, amount)
    async with self.pg.acquire() as connection, connection.transaction():
        await connection.execute(
            """INSERT INTO credit_transactions (request_id, user_id, org_id, kind, amount)
               VALUES ($1, $2, $3, 'purchase', $4)""", f"again_{uuid.uuid4().hex}", caller.user_id, org_id, amount)
        await connection.execute(
            """UPDATE organization_credits SET allocated = allocated + $2, remaining = remaining + $2
               WHERE org_id = $1 AND holder = 'pool'""", org_id, amount)
    return answer


settle_own_once = ledger.Ledger.settle_own
settling = Counter()  # each user's settlements in flight


async def settle_twice_when_contended(self, user_id, reserved, charged, request_id, model, tokens):
    settling[user_id] += 1
    try:
        row = await settle_own_once(self, user_id, reserved, charged, request_id, model, tokens)
        # The settlement waits, up to a second, for another of the user's calls to settle beside it: under a load
        # the race is then met on every run, not only when two settlements happen to overlap for a millisecond.
        deadline = time.monotonic() + 1
        while settling[user_id] < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        if settling[user_id] > 1:  # the charge leaves the balance a second time, with no second ledger row
            row = await self.release_own(user_id, -charged)
    finally:
        settling[user_id] -= 1
    return row


buy_and_pay = payments.Payments.buy


async def credit_even_if_declined(self, holder, buyer_id, credits):
    try:
        return await buy_and_pay(self, holder, buyer_id, credits)
    except payments.PaymentRefused:
        started = await self.pg.fetchval(
            "SELECT id FROM payments WHERE holder_id = $1 ORDER BY created_at DESC LIMIT 1", holder.key)
        await self._credit(started, f"pi_declined_{started}")
        raise


def read_without_verifying(payload, signature, secret, now=None):
    return json.loads(payload)


class SignaturesUnchecked:
    """PyJWT as the reference's verifier calls it, but decoding a token never checks its signature: the claims (issuer,
    client, expiry) are still read and checked."""

    def __getattr__(self, name):
        return getattr(jwt, name)

    @staticmethod
    def decode(token, key, algorithms, options):
        return jwt.decode(token, options=options | {"verify_signature": False, "verify_exp": True, "verify_nbf": True})


async def keys_read_once(self, kid):
    if kid not in self._keys:
        raise auth.AuthError("the token was not signed by this realm")
    return self._keys[kid]


async def credit_each_delivery(self, payload, signature):
    """Every delivery of a success event credits its payment's credits, with a ledger row of its own."""
    event = payments.verify_signature(payload, signature, self.webhook_secret)
    reported = event["data"]["object"]
    payment = await self.pg.fetchrow("SELECT * FROM payments WHERE id = $1",
                                     (reported.get("metadata") or {}).get("ops_center_payment"))
    if event["type"] == "payment_intent.succeeded" and payment is not None and payment["holder_kind"] != "user":
        async with self.pg.acquire() as connection, connection.transaction():
            await connection.execute(
                """INSERT INTO credit_transactions (request_id, user_id, org_id, kind, amount)
                   VALUES ($1, $2, $3, 'purchase', $4)""",
                f"{reported['id']}-{uuid.uuid4().hex}", payment["buyer_id"], payment["holder_id"], payment["credits"])
            await connection.execute(
                """UPDATE organization_credits SET allocated = allocated + $2, remaining = remaining + $2
                   WHERE org_id = $1 AND holder = 'pool'""", payment["holder_id"], payment["credits"])
    return {"received": True}


take_call_as_written = service.OpsCenter.take_call


async def refuse_the_last_call(self, caller):
    quota = await take_call_as_written(self, caller)
    if quota.used < quota.limit:
        return quota
    await self.return_call(caller, quota)
    refusal = Refused("quota_exceeded", f"The {quota.limit:,} API calls of this period are used up.")
    refusal.quota = QuotaState(quota.limit, quota.limit, quota.reset, quota.period)
    raise refusal


def address_the_client_claims(request):
    """The first address of X-Forwarded-For, believed from anyone, as a limiter keyed on it does."""
    claimed = request.headers.get("x-forwarded-for", "").split(",")[0].strip()
    return claimed or (request.client.host if request.client else "")


BREAKAGES = {
    # a BYOK call is charged to the caller's own credits
    "byok_charged": (calls, "account_charged", charge_byok_to_own_credits),
    # a call nobody can pay for is served for free
    "no_payment_check": (calls.LlmCalls, "reserve", reserve_without_checking),
    # a charge leaves the balance but writes no ledger row
    "unrecorded_charge": (ledger.Ledger, "_record_charge", staticmethod(record_nothing)),
    # deleting an organization crashes (a 500 from an unhandled error)
    "org_delete_crashes": (service.OpsCenter, "delete_org", refuse_to_delete),
    # every call fails at the provider
    "provider_down": (calls.LlmCalls, "route", provider_always_fails),
    # credits go to the oldest account with the named account's e-mail: a removed one, when it was re-created
    "grant_to_dead_account": (service.OpsCenter, "account_named", oldest_account_with_the_same_email),
    # the request id is never claimed: every copy of a call reaches the provider, and only the ledger's unique
    # request id stops the second charge (every copy, so the self-test does not hang on how copies interleave)
    "copies_served": (calls.LlmCalls, "claim_request_id", claim_nothing),
    # a model named with its provider's prefix is refused
    "prefixed_id_rejected": (models, "canonical_model", bare_model_names_only),
    # a streamed call is charged at its last chunk and again when the stream closes
    "stream_charged_twice": (calls.LlmCalls, "settle", settle_streams_twice),
    # billing is told what a call reserved, not what the ledger charged for it
    "billed_the_reservation": (calls.LlmCalls, "settle", settle_billing_the_reservation),
    # a stream is settled only while its caller listens: one the caller left is served free
    "left_stream_free": (calls.LlmCalls, "relay_stream", relay_while_listened_to),
    # a grant is booked twice, each time with its ledger row: every balance agrees with its rows, but money
    # was made from nothing
    "grant_booked_twice": (service.OpsCenter, "grant", grant_twice),
    # a BYOK key is stored base64-encoded: not plain text, yet anyone reading the table reads the key
    "key_stored_as_base64": (service.OpsCenter, "store_key", store_key_as_base64),
    # the organization named in the path is trusted: an admin of one organization acts in any (OWASP API1)
    "any_admin_in_any_organization": (service.OpsCenter, "org_role", any_admin_in_any_organization),
    # a purchase is credited twice, each time with its ledger row: the books balance, but only one payment was made
    "purchase_credited_twice": (service.OpsCenter, "purchase", credit_purchase_twice),
    # a call settled while another of the same user's settles is charged twice: only simultaneous calls show it
    "charged_twice_under_contention": (ledger.Ledger, "settle_own", settle_twice_when_contended),
    # the limit on invalid sign-ins is keyed on the address X-Forwarded-For claims, believed from anyone: a client
    # that claims a new one on every request is never refused
    "trusts_forwarded_for": (limits, "client_address", address_the_client_claims),
    # a purchase whose card the bank declined is credited all the same
    "declined_purchase_credited": (payments.Payments, "buy", credit_even_if_declined),
    # an event is believed without its signature: anyone can tell Ops-Center a payment succeeded
    "unsigned_events_believed": (payments, "verify_signature", read_without_verifying),
    # every charge is taken a second time from an account of the product's own, "unknown": the caller's books are
    # right, and only the ledger's charges to accounts nobody in the run holds show it
    "charged_to_a_phantom_too": (ledger.Ledger, "_record_charge", staticmethod(record_for_a_phantom_too)),
    # a bearer token is believed without its signature: anyone who has seen a token of the realm signs in as anyone
    "signature_unchecked": (auth, "jwt", SignaturesUnchecked()),
    # the realm's keys are read only by the health probe (asked once Ops-Center starts), never for a key id they lack:
    # a key the realm publishes later (a rotation) is not looked up, and every sign-in it signs is turned away
    "keys_read_once": (auth.TokenVerifier, "_key_for", keys_read_once),
    # the quota is one call short: the plan's last call of the period is refused as past the limit
    "quota_one_short": (service.OpsCenter, "take_call", refuse_the_last_call),
    # each delivery of a payment's success event credits it again
    "each_delivery_credited": (payments.Payments, "receive", credit_each_delivery),
}


def create_app():
    owner, name, replacement = BREAKAGES[os.environ["CREDITFLOW_BREAK"]]
    setattr(owner, name, replacement)
    return app.create_app()
