"""The reference Ops-Center against the live stack (real PostgreSQL, Redis, Keycloak, LiteLLM): every
endpoint's success and error paths, and money under concurrency."""

import re
import secrets
import time
from decimal import Decimal

import asyncpg
import httpx
import jwt
import pytest
import redis.asyncio as redis
from cryptography.hazmat.primitives.asymmetric import rsa

from creditflow.deployments.base import Payer, RefusalKind, Session
from creditflow.deployments.chat import conversation, server_timing
from creditflow.judging.invariants import violations
from creditflow.rules.money import ORGANIZATION, USER, MoneyTrail
from creditflow.screenplay.questions.keys import StoredKeys
from creditflow.screenplay.questions.money import (
    CachedBalance,
    LedgerBalance,
    MemberCharges,
    OwnBalance,
    OwnCharges,
    Subscriptions,
)
from creditflow.screenplay.questions.organizations import AllocationIn, PoolOf
from creditflow.screenplay.tasks.accounts import SignUp, StartWith
from creditflow.screenplay.tasks.calls import Ask, CallAtOnce, under_one_request_id
from creditflow.screenplay.tasks.money import BuyFor
from creditflow.screenplay.tasks.organizations import Allocate, CreateOrganization, Join
from creditflow.screenplay.tasks.provider import MakeTheProviderFail
from sandbox.opscenter.calls import CallRequest, own_count
from sandbox.opscenter.service import current_period

pytestmark = pytest.mark.live


async def test_health_reports_every_dependency_ok(api):
    answer = await api.health()
    assert answer.status == 200
    assert answer.body == {"postgres": "ok", "redis": "ok", "keycloak": "ok", "litellm": "ok", "lago": "ok",
                           "payments": "ok"}


async def forged_token(stack) -> str:
    """Under the key id of the realm's signing key, so the reference gets as far as the signature, which is another
    key's."""
    async with httpx.AsyncClient() as http:
        keys = (await http.get(f"{stack.urls['keycloak']}/realms/uchub/protocol/openid-connect/certs")).json()["keys"]
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = {"sub": "x", "azp": "ops-center", "iss": "http://127.0.0.1/realms/uchub", "exp": time.time() + 60}
    signing = next(k["kid"] for k in keys if k["use"] == "sig")
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": signing})


@pytest.mark.parametrize("token", [None, "garbage", "forged"])
async def test_every_endpoint_refuses_a_missing_or_foreign_token(api, stack, token):
    # from an address of its own: its five refusals never count against an address anyone else calls from
    stranger = Session(await forged_token(stack) if token == "forged" else token or "", 0.0,
                       origin=api.http.origin_for(f"stranger-{secrets.token_hex(4)}"))
    for answer in [
        await api.balance(stranger),
        await api.create_org(stranger, "Org", "platform"),
        await api.store_byok_key(stranger, "openrouter", "sk-or-v1-aaaaaaaaaaaa"),
        await api.chat(stranger, "gpt-4", 100),
        await api.grant(stranger, "a@b.c", 5),
    ]:
        assert answer.status == 401, answer.body
        assert answer.field("error") == "unauthorized" and answer.field("detail")


async def test_first_call_provisions_the_user_with_the_plans_quota_and_a_lago_subscription(scene):
    ivy = await scene.persona("Ivy").attempts_to(SignUp("professional"))
    balance = await ivy.asks(OwnBalance())
    assert (balance.credits, balance.calls_used, balance.calls_limit, balance.plan) == (0, 0, 10_000, "professional")
    known, plans = await scene.crew.asks(Subscriptions(ivy))
    assert known and plans == {"professional": Decimal(49)}
    assert ivy.email.endswith("@creditflow.test")


async def test_granting_credits_takes_a_platform_admin_and_a_valid_amount(scene, services, api):
    ivy = await scene.persona("Ivy").attempts_to(SignUp("professional"))
    operator = await services.operator_session()
    assert (await api.grant(ivy.session, ivy.email, 5)).status == 403
    assert (await api.grant(operator, "nobody@creditflow.test", 5)).status == 404
    for bad in (0, -3, 1.5, "ten", None):
        answer = await api.grant(operator, ivy.email, bad)
        assert answer.status == 422, (bad, answer.body)
    granted = await api.grant(operator, ivy.email, 250)
    assert granted.status == 200 and granted.body["credits"] == 250
    services.money.credit(USER, ivy.user_id, "Ivy", Decimal(250))  # granted here, outside the driver's own grant
    assert (await ivy.asks(OwnBalance())).credits == 250


async def test_organization_endpoints_success_and_error_paths(scene, api, services):
    org = await scene.persona("Alice").attempts_to(CreateOrganization(scene.organization("Acme"), "platform"))
    alice = scene.actor("Alice")
    olivia = await scene.persona("Olivia").attempts_to(SignUp("platform"))
    nora = await scene.persona("Nora").attempts_to(SignUp("professional"))

    for name, tier in (("", "platform"), ("x" * 201, "platform"), ("Acme", "gold")):
        answer = await api.create_org(alice.session, name, tier)
        assert answer.status == 422, (name, tier)

    assert (await api.invite(alice.session, org.org_id, "ghost@creditflow.test")).status == 404
    assert (await api.invite(alice.session, org.org_id, "not-an-email")).status == 422
    assert (await api.invite(alice.session, org.org_id, olivia.email)).status == 201
    assert (await api.invite(alice.session, org.org_id, olivia.email)).status == 409
    assert (await api.invite(olivia.session, org.org_id, nora.email)).status == 403
    assert (await api.invite(nora.session, org.org_id, nora.email)).status == 404

    assert (await api.purchase(olivia.session, org.org_id, 1_000)).status == 403
    assert (await api.purchase(nora.session, org.org_id, 1_000)).status == 404
    assert (await api.purchase(alice.session, org.org_id, 100)).status == 422  # under the smallest package, $0.50
    bought = await api.purchase(alice.session, org.org_id, 1_000)
    assert bought.status == 201 and bought.body["total_credits"] == 1_000 and bought.body["status"] == "paid"
    assert (bought.body["credits"], bought.body["amount"], bought.body["currency"]) == (1_000, "1.00", "usd")

    assert (await api.allocate(alice.session, org.org_id, nora.email, 10)).status == 404
    assert (await api.allocate(alice.session, org.org_id, olivia.email, -1)).status == 422
    assert (await api.allocate(alice.session, org.org_id, olivia.email, 1_001)).status == 409
    allocated = await api.allocate(alice.session, org.org_id, olivia.email, 400)
    assert allocated.status == 200 and allocated.body["remaining"] == 400
    assert (await api.allocate(alice.session, org.org_id, alice.email, 700)).status == 409

    books = await api.org_credits(alice.session, org.org_id)
    assert books.body == {"total_credits": 1_000, "allocated_credits": 400, "used_credits": 0}
    assert (await api.org_credits(olivia.session, org.org_id)).status == 403
    mine = await api.my_allocation(olivia.session, org.org_id)
    assert mine.body == {"allocated": 400, "used": 0, "remaining": 400}
    assert (await api.my_allocation(nora.session, org.org_id)).status == 404
    usage = await api.usage_attribution(alice.session, org.org_id)
    assert {row["user_email"]: row["credits_used"] for row in usage.body} == {alice.email: 0, olivia.email: 0}
    assert (await api.usage_attribution(olivia.session, org.org_id)).status == 403

    assert (await api.delete_org(olivia.session, org.org_id)).status == 403
    # Deleted here, not by the scene's cleanup, which takes the closing statement the money check reads.
    services.money.close(ORGANIZATION, org.org_id, await services.deployment.ledger.org_statement(org.org_id))
    assert (await api.delete_org(alice.session, org.org_id)).status == 204
    assert (await api.org_credits(alice.session, org.org_id)).status == 404


async def test_byok_keys_are_validated_stored_encrypted_and_never_shown(scene, api):
    bea = await scene.persona("Bea").attempts_to(SignUp("professional"))
    for provider, key in (("openai", "sk-or-v1-abcdefgh1234"), ("openrouter", "short"), ("openrouter", "a b c d e f")):
        assert (await api.store_byok_key(bea.session, provider, key)).status == 422
    assert (await api.byok_keys(bea.session)).body == {"openrouter_configured": False, "keys": []}
    demanded = await api.chat(bea.session, "gpt-4", 100, use_byok=True)
    assert demanded.status == 400 and demanded.field("error") == "byok_not_configured"

    key = "sk-or-v1-" + "5" * 40 + "wxyz"
    stored = await api.store_byok_key(bea.session, "openrouter", key)
    assert stored.status == 201 and key not in str(stored.body)
    listed = await api.byok_keys(bea.session)
    assert listed.body == {"openrouter_configured": True, "keys": [{"provider": "openrouter",
                                                                   "key_hint": "sk-or-...wxyz"}]}
    assert all(key.encode() not in blob for blob in await bea.asks(StoredKeys()))


@pytest.mark.parametrize("body", [
    {"model": "gpt-4"},
    {"model": "gpt-4", "messages": []},
    {"model": "gpt-4", "messages": [{"role": "wizard", "content": "hi"}]},
    {"model": "nope", "messages": [{"role": "user", "content": "hi"}]},
    {"model": "gpt-4", "max_tokens": 0, "messages": [{"role": "user", "content": "hi"}]},
    {"model": "gpt-4", "max_tokens": "100", "messages": [{"role": "user", "content": "hi"}]},
    {"model": "gpt-4", "messages": [{"role": "user", "content": "x" * 100_001}]},
    "not json at all",
    ["a", "list"],
])
async def test_malformed_chat_requests_get_422_and_cost_nothing(scene, api, body):
    ivy = await scene.persona("Ivy").attempts_to(SignUp("professional", 100))
    answer = await api.chat_as_sent(ivy.session, body)
    assert answer.status == 422, answer.body
    assert answer.field("error") == "invalid_request" and answer.field("detail")
    balance = await ivy.asks(OwnBalance())
    assert (balance.credits, balance.calls_used) == (100, 0)


async def test_a_charged_call_answers_with_cost_payer_rate_headers_and_one_ledger_row(scene, api):
    ivy = await scene.persona("Ivy").attempts_to(SignUp("professional", 100))
    answer = await api.chat(ivy.session, "gpt-4", 100)
    assert answer.status == 200, answer.body
    body, headers = answer.body, answer.headers
    assert (body["cost_credits"], body["byok_used"], body["billed_to"]) == (48, False, "user")
    assert body["choices"][0]["message"]["content"]
    assert headers["x-ratelimit-limit"] == "10000" and headers["x-ratelimit-remaining"] == "9999"
    assert int(headers["x-ratelimit-reset"]) > time.time()
    assert {"usage", "credits", "provider"} <= set(server_timing(answer))
    charges = await ivy.asks(OwnCharges())
    assert [(c.credits, c.model, c.tokens, c.request_id) for c in charges] == [(48, "gpt-4", 100, body["request_id"])]
    assert await ivy.asks(CachedBalance()) == 52


async def test_a_streamed_call_relays_the_chunks_then_the_usage_and_cost_and_writes_one_ledger_row(scene, api):
    ivy = await scene.persona("Ivy").attempts_to(SignUp("professional", 100))
    answer = await api.chat(ivy.session, "gpt-4", 100, stream=True)
    assert answer.status == 200 and answer.headers["content-type"].startswith("text/event-stream")
    assert answer.headers["x-ratelimit-remaining"] == "9999" and answer.headers["x-request-id"].startswith("req_")
    *chunks, receipt, done = answer.events
    assert done == "[DONE]" and all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    assert sum(1 for chunk in chunks if chunk["choices"] and chunk["choices"][0]["delta"].get("content")) == 90
    assert receipt["choices"] == [] and receipt["usage"]["total_tokens"] == 100
    assert (receipt["cost_credits"], receipt["billed_to"], receipt["byok_used"]) == (48, "user", False)
    charges = await ivy.asks(OwnCharges())
    assert [(c.credits, c.request_id) for c in charges] == [(48, answer.headers["x-request-id"])]
    assert await ivy.asks(CachedBalance()) == 52


async def test_an_unaffordable_or_failed_stream_is_a_plain_error_answer_before_any_event(scene, api):
    ivy = await scene.persona("Ivy").attempts_to(SignUp("professional", 10))
    answer = await api.chat(ivy.session, "gpt-4", 100, stream=True)
    assert answer.status == 402 and answer.field("error") == "insufficient_credits" and answer.events == ()
    await ivy.attempts_to(StartWith(100))
    await scene.crew.attempts_to(MakeTheProviderFail())
    answer = await api.chat(ivy.session, "gpt-4", 100, stream=True, messages=conversation(scene.scope))
    assert answer.status == 502 and answer.field("error") == "provider_error" and answer.events == ()
    balance = await ivy.asks(OwnBalance())
    assert (balance.credits, balance.calls_used) == (110, 0)


def test_a_stream_without_reported_usage_is_counted_a_token_a_piece_and_four_characters_a_prompt_token():
    request = CallRequest("gpt-4", 100, {"messages": [{"role": "user", "content": "x" * 41}]}, None, None)
    assert own_count(request, 30) == {"prompt_tokens": 11, "completion_tokens": 30, "total_tokens": 41}


async def test_a_refusal_for_payment_carries_the_rate_headers_and_changes_nothing(scene, api):
    ivy = await scene.persona("Ivy").attempts_to(SignUp("professional", 10))
    answer = await api.chat(ivy.session, "gpt-4", 100)
    assert answer.status == 402 and answer.field("error") == "insufficient_credits"
    assert (answer.body["required"], answer.body["available"]) == (48, 10) and answer.body["upgrade_url"]
    assert answer.headers["x-ratelimit-remaining"] == "10000"
    assert (await ivy.asks(OwnBalance())).credits == 10 and await ivy.asks(OwnCharges()) == []


async def test_a_retried_request_id_is_never_charged_twice(scene, services):
    ivy = await scene.persona("Ivy").attempts_to(SignUp("professional", 100))
    first_call, retry = under_one_request_id("retry", ("gpt-3.5-turbo", 100), ("gpt-3.5-turbo", 100))
    first, again = await ivy.attempts_to(first_call), await ivy.attempts_to(retry)
    assert first.succeeded and again.refusal.kind is RefusalKind.DUPLICATE and again.refusal.status == 409
    assert (await ivy.asks(OwnBalance())).credits == 91


async def test_a_provider_failure_charges_nothing_and_counts_nothing(scene):
    ivy = scene.persona("Ivy")
    await ivy.attempts_to(SignUp("professional", 100))
    await scene.crew.attempts_to(MakeTheProviderFail())
    call = await ivy.attempts_to(Ask("gpt-3.5-turbo", 100))
    assert call.refusal.status == 502 and "nothing was charged" in call.refusal.detail
    balance = await ivy.asks(OwnBalance())
    assert (balance.credits, balance.calls_used) == (100, 0)


async def test_200_simultaneous_calls_with_credits_for_100_charge_exactly_100(scene):
    cody = scene.persona("Cody")
    await cody.attempts_to(SignUp("professional", 900))
    calls = await cody.attempts_to(CallAtOnce(200, "gpt-3.5-turbo", 100))
    kinds = [call.refusal.kind if call.refusal else "ok" for call in calls]
    assert (kinds.count("ok"), kinds.count(RefusalKind.PAYMENT)) == (100, 100)
    assert {call.paid_by for call in calls if call.succeeded} == {Payer.OWN_CREDITS}
    assert (await cody.asks(OwnBalance())).credits == 0
    assert await cody.asks(LedgerBalance()) == 0
    charges = await cody.asks(OwnCharges())
    assert len(charges) == 100 and {c.credits for c in charges} == {9}
    assert len({c.request_id for c in charges}) == 100
    assert (await cody.asks(OwnBalance())).calls_used == 100


async def test_200_simultaneous_calls_on_an_allocation_for_100_charge_exactly_100(scene):
    acme = scene.organization("Acme")
    await scene.persona("Alice").attempts_to(CreateOrganization(acme, "platform"))
    assert (await acme.admin.attempts_to(BuyFor(acme, 5_000))).ok
    olivia = scene.persona("Olivia")
    await olivia.attempts_to(Join(acme))
    assert (await acme.admin.attempts_to(Allocate(acme, olivia, 900))).ok
    calls = await olivia.attempts_to(CallAtOnce(200, "gpt-3.5-turbo", 100))
    assert sum(call.succeeded for call in calls) == 100
    assert sum(call.refusal is not None and call.refusal.kind is RefusalKind.PAYMENT for call in calls) == 100
    allocation = await olivia.asks(AllocationIn(acme))
    assert (allocation.allocated, allocation.used, allocation.remaining) == (900, 900, 0)
    assert (await acme.admin.asks(PoolOf(acme))).remaining == 4_100
    charges = await olivia.asks(MemberCharges(acme))
    assert len(charges) == 100 and len({c.request_id for c in charges}) == 100
    assert (await olivia.asks(OwnBalance())).credits == 0


async def test_a_trial_quotas_last_calls_arriving_at_once_are_admitted_exactly(scene, stack):
    """The 700 calls that spend a trial quota one after another are the scenario's (Tess's 701st call); here the
    quota's last 40 calls and one more arrive at once, 660 having been counted behind Ops-Center's back."""
    tess = await scene.persona("Tess").attempts_to(SignUp("trial", 7_000))
    await count_calls_behind_the_back(stack, tess.user_id, 660)
    calls = await tess.attempts_to(CallAtOnce(41, "gpt-3.5-turbo", 100, concurrency=41))
    assert sum(call.succeeded for call in calls) == 40
    refused = [call.refusal for call in calls if call.refusal is not None]
    assert len(refused) == 1 and refused[0].kind is RefusalKind.QUOTA and refused[0].status == 429
    assert refused[0].resets_at > time.time()
    assert len(await tess.asks(OwnCharges())) == 40


async def count_calls_behind_the_back(stack, user_id: str, calls: int) -> None:
    """Sets the period's count of the user's API calls in Ops-Center's Redis, where the reference keeps it."""
    period, reset = current_period()
    client = redis.from_url(stack.urls["redis"])
    try:
        await client.set(f"quota:{user_id}:{period}", calls, exat=reset + 86_400)
    finally:
        await client.aclose()


async def tamper(stack, sql: str, *args) -> None:
    """Changes the ledger behind Ops-Center's back, as the database superuser."""
    connection = await asyncpg.connect(stack.urls["postgres_admin"].rsplit("/", 1)[0] + "/unicorn_db",
                                       password=stack.secrets["postgres_password"])
    try:
        await connection.execute(sql, *args)
    finally:
        await connection.close()


async def test_the_invariant_check_catches_a_balance_that_disagrees_with_its_transactions(scene, stack):
    ivy = await scene.persona("Ivy").attempts_to(SignUp("professional", 100))
    assert await violations(scene) == []
    await tamper(stack, "UPDATE user_credits SET credits = credits + 7 WHERE user_id = $1", ivy.user_id)
    problems = await violations(scene)
    await tamper(stack, "UPDATE user_credits SET credits = credits - 7 WHERE user_id = $1", ivy.user_id)
    assert problems[0] == "Ivy's balance of 107 credits differs from the 100 credits its transactions add up to"
    assert re.fullmatch(r"Ivy \(ivy-\w+-\d+\) received 7 credits more than were paid for or granted: .*", problems[1])
    assert len(problems) == 2


async def test_the_invariant_check_catches_allocations_beyond_the_pool(scene, stack):
    org = await scene.persona("Alice").attempts_to(CreateOrganization(scene.organization("Acme"), "platform"))
    assert (await org.admin.attempts_to(BuyFor(org, 1_000))).ok
    olivia = scene.persona("Olivia")
    await olivia.attempts_to(Join(org))
    assert (await org.admin.attempts_to(Allocate(org, olivia, 1_000))).ok
    olivia = scene.actor("Olivia").user_id
    await tamper(stack, "UPDATE organization_credits SET allocated = 1050, remaining = 1050 "
                        "WHERE org_id = $1 AND holder = $2", org.org_id, olivia)
    problems = await violations(scene)
    await tamper(stack, "UPDATE organization_credits SET allocated = 1000, remaining = 1000 "
                        "WHERE org_id = $1 AND holder = $2", org.org_id, olivia)
    assert problems == ["the allocations of Acme (1050) exceed its pool (1000)"]  # named by persona, not by id


async def test_money_conservation_catches_credits_created_with_a_matching_ledger_row(scene, stack, services):
    """A balance raised with a transaction to match passes the ledger's invariants; money conservation from the
    payment, after the scenario and over the run, names the account."""
    ivy = await scene.persona("Ivy").attempts_to(SignUp("professional", 100))
    await ivy.attempts_to(Ask("gpt-4", 100))
    trail = MoneyTrail()
    trail.credit(USER, ivy.user_id, "Ivy (ivy)", Decimal(100))
    assert (await trail.check(services.deployment)).holds
    await tamper(stack, """UPDATE user_credits SET credits = credits + 7 WHERE user_id = $1;""", ivy.user_id)
    await tamper(stack, """INSERT INTO credit_transactions (request_id, user_id, kind, amount)
                           VALUES ($1, $2, 'grant', 7)""", f"tamper-{ivy.user_id}", ivy.user_id)
    after_scenario = await violations(scene)
    money = await trail.check(services.deployment)
    await tamper(stack, "DELETE FROM credit_transactions WHERE request_id = $1", f"tamper-{ivy.user_id}")
    await tamper(stack, "UPDATE user_credits SET credits = credits - 7 WHERE user_id = $1", ivy.user_id)
    assert len(after_scenario) == 1 and re.fullmatch(
        r"Ivy \(ivy-\w+-\d+\) received 7 credits more than were paid for or granted: 107 are left or were charged, "
        r"but no payment succeeded at the payment provider and 100 were granted", after_scenario[0])
    assert money.problems == ["Ivy (ivy) received 7 credits more than were paid for or granted: 107 are left or were "
                              "charged, but no payment succeeded at the payment provider and 100 were granted",
                              "over all 1 account: 100 credits came in, but 59 are left and 48 were charged"]


async def test_money_conservation_reads_a_removed_organization_from_its_closing_statement(scene, services):
    org = await scene.persona("Alice").attempts_to(CreateOrganization(scene.organization("Acme"), "platform"))
    assert (await org.admin.attempts_to(BuyFor(org, 1_000))).ok  # paid at the provider: the provider's records count it
    olivia = scene.persona("Olivia")
    await olivia.attempts_to(Join(org))
    assert (await org.admin.attempts_to(Allocate(org, olivia, 100))).ok
    await olivia.attempts_to(Ask("gpt-4", 100))
    trail = MoneyTrail()
    trail.touch(ORGANIZATION, org.org_id, "Acme")
    trail.close(ORGANIZATION, org.org_id, await services.deployment.ledger.org_statement(org.org_id))
    await scene.clean_up()
    assert await services.deployment.ledger.org_statement(org.org_id) is None
    money = await trail.check(services.deployment)
    assert money.holds and (money.credited, money.left, money.charged) == (1_000, 952, 48)
