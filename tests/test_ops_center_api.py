"""The reference Ops-Center against the live stack (real PostgreSQL, Redis, Keycloak, LiteLLM): every
endpoint's success and error paths, and money under concurrency."""

import time

import asyncpg
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

pytestmark = pytest.mark.live


async def test_health_reports_every_dependency_ok(services):
    answer = await services.api.health()
    assert answer.status == 200
    assert answer.body == {"postgres": "ok", "redis": "ok", "keycloak": "ok", "litellm": "ok", "lago": "ok"}


def forged_token() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = {"sub": "x", "azp": "ops-center", "iss": "http://127.0.0.1/realms/uchub", "exp": time.time() + 60}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "forged"})


@pytest.mark.parametrize("token", [None, "garbage", "forged"])
async def test_every_endpoint_refuses_a_missing_or_foreign_token(services, token):
    token = forged_token() if token == "forged" else token
    api = services.api
    for answer in [
        await api.balance("x", token),
        await api.create_org("x", token, "Org", "platform"),
        await api.store_byok_key("x", token, "openrouter", "sk-or-v1-aaaaaaaaaaaa"),
        await api.chat("x", token, "gpt-4", 100),
        await api.grant("x", token, "a@b.c", 5),
    ]:
        assert answer.status == 401, answer.body
        assert answer.error_code == "unauthorized" and answer.detail


async def test_first_call_provisions_the_user_with_the_plans_quota_and_a_lago_subscription(flow):
    await flow.sign_up("Ivy", "professional")
    snapshot = await flow.snapshot("Ivy")
    assert (snapshot.credits, snapshot.calls_used, snapshot.calls_limit, snapshot.plan) == (0, 0, 10_000,
                                                                                          "professional")
    customer, plans = await flow.billing_customer("Ivy")
    assert customer.email == flow.persona("Ivy").email and plans == ["professional"]


async def test_granting_credits_takes_a_platform_admin_and_a_valid_amount(flow, services):
    ivy = await flow.sign_up("Ivy", "professional")
    api, operator = services.api, await services.operator_token()
    assert (await api.grant("Ivy", ivy.token, ivy.email, 5)).status == 403
    assert (await api.grant("op", operator, "nobody@creditflow.test", 5)).status == 404
    for bad in (0, -3, 1.5, "ten", None):
        answer = await api.grant("op", operator, ivy.email, bad)
        assert answer.status == 422, (bad, answer.body)
    granted = await api.grant("op", operator, ivy.email, 250)
    assert granted.status == 200 and granted.body["credits"] == 250
    assert (await flow.snapshot("Ivy")).credits == 250


async def test_organization_endpoints_success_and_error_paths(flow, services):
    api = services.api
    org = await flow.create_org("Alice", "Acme", "platform")
    alice = flow.persona("Alice")
    olivia = await flow.sign_up("Olivia", "platform")
    nora = await flow.sign_up("Nora", "professional")

    for name, tier in (("", "platform"), ("x" * 201, "platform"), ("Acme", "gold")):
        answer = await api.create_org("Alice", alice.token, name, tier)
        assert answer.status == 422, (name, tier)

    assert (await api.invite("Alice", alice.token, org.org_id, "ghost@creditflow.test")).status == 404
    assert (await api.invite("Alice", alice.token, org.org_id, "not-an-email")).status == 422
    assert (await api.invite("Alice", alice.token, org.org_id, olivia.email)).status == 201
    assert (await api.invite("Alice", alice.token, org.org_id, olivia.email)).status == 409
    assert (await api.invite("Olivia", olivia.token, org.org_id, nora.email)).status == 403
    assert (await api.invite("Nora", nora.token, org.org_id, nora.email)).status == 404

    assert (await api.purchase("Olivia", olivia.token, org.org_id, 100)).status == 403
    assert (await api.purchase("Nora", nora.token, org.org_id, 100)).status == 404
    bought = await api.purchase("Alice", alice.token, org.org_id, 1_000)
    assert bought.status == 201 and bought.body == {"total_credits": 1_000}

    assert (await api.allocate("Alice", alice.token, org.org_id, nora.email, 10)).status == 404
    assert (await api.allocate("Alice", alice.token, org.org_id, olivia.email, -1)).status == 422
    assert (await api.allocate("Alice", alice.token, org.org_id, olivia.email, 1_001)).status == 409
    allocated = await api.allocate("Alice", alice.token, org.org_id, olivia.email, 400)
    assert allocated.status == 200 and allocated.body["remaining"] == 400
    assert (await api.allocate("Alice", alice.token, org.org_id, alice.email, 700)).status == 409

    books = await api.org_credits("Alice", alice.token, org.org_id)
    assert books.body == {"total_credits": 1_000, "allocated_credits": 400, "used_credits": 0}
    assert (await api.org_credits("Olivia", olivia.token, org.org_id)).status == 403
    mine = await api.my_allocation("Olivia", olivia.token, org.org_id)
    assert mine.body == {"allocated": 400, "used": 0, "remaining": 400}
    assert (await api.my_allocation("Nora", nora.token, org.org_id)).status == 404
    usage = await api.usage_attribution("Alice", alice.token, org.org_id)
    assert {row["user_email"]: row["credits_used"] for row in usage.body} == {alice.email: 0, olivia.email: 0}
    assert (await api.usage_attribution("Olivia", olivia.token, org.org_id)).status == 403

    assert (await api.delete_org("Olivia", olivia.token, org.org_id)).status == 403
    assert (await api.delete_org("Alice", alice.token, org.org_id)).status == 204
    assert (await api.org_credits("Alice", alice.token, org.org_id)).status == 404
    flow.orgs.clear()


async def test_byok_keys_are_validated_stored_encrypted_and_never_shown(flow, services):
    bea = await flow.sign_up("Bea", "professional")
    api = services.api
    for provider, key in (("openai", "sk-or-v1-abcdefgh1234"), ("openrouter", "short"), ("openrouter", "a b c d e f")):
        assert (await api.store_byok_key("Bea", bea.token, provider, key)).status == 422
    assert (await api.byok_keys("Bea", bea.token)).body == {"openrouter_configured": False, "keys": []}
    demanded = await api.chat("Bea", bea.token, "gpt-4", 100, use_byok=True)
    assert demanded.status == 400 and demanded.error_code == "byok_not_configured"

    key = "sk-or-v1-" + "5" * 40 + "wxyz"
    stored = await api.store_byok_key("Bea", bea.token, "openrouter", key)
    assert stored.status == 201 and key not in str(stored.body)
    listed = await api.byok_keys("Bea", bea.token)
    assert listed.body == {"openrouter_configured": True, "keys": [{"provider": "openrouter",
                                                                   "key_hint": "sk-or-...wxyz"}]}
    assert all(key.encode() not in blob for blob in await flow.stored_key_ciphertexts("Bea"))


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
async def test_malformed_chat_requests_get_422_and_cost_nothing(flow, services, body):
    await flow.sign_up("Ivy", "professional", credits=100)
    answer = await flow.send_raw("Ivy", body)
    assert answer.status == 422, answer.body
    assert answer.error_code == "invalid_request" and answer.detail
    snapshot = await flow.snapshot("Ivy")
    assert (snapshot.credits, snapshot.calls_used) == (100, 0)


async def test_a_charged_call_answers_with_cost_payer_rate_headers_and_one_ledger_row(flow):
    await flow.sign_up("Ivy", "professional", credits=100)
    outcome = await flow.call("Ivy", "gpt-4", 100)
    assert outcome.succeeded, outcome.describe()
    body, headers = outcome.answer.body, outcome.answer.headers
    assert (body["cost_credits"], body["byok_used"], body["billed_to"]) == (48, False, "user")
    assert body["choices"][0]["message"]["content"]
    assert headers["x-ratelimit-limit"] == "10000" and headers["x-ratelimit-remaining"] == "9999"
    assert int(headers["x-ratelimit-reset"]) > time.time()
    assert {"usage", "credits", "provider"} <= set(outcome.answer.server_timing())
    charges = await flow.own_charges("Ivy")
    assert [(c.credits, c.model, c.tokens, c.request_id) for c in charges] == [(48, "gpt-4", 100, body["request_id"])]
    assert await flow.cached_balance("Ivy") == 52


async def test_a_refusal_for_payment_carries_the_rate_headers_and_changes_nothing(flow):
    await flow.sign_up("Ivy", "professional", credits=10)
    outcome = await flow.call("Ivy", "gpt-4", 100)
    answer = outcome.answer
    assert answer.status == 402 and answer.error_code == "insufficient_credits"
    assert (answer.body["required"], answer.body["available"]) == (48, 10) and answer.body["upgrade_url"]
    assert answer.headers["x-ratelimit-remaining"] == "10000"
    assert (await flow.snapshot("Ivy")).credits == 10 and await flow.own_charges("Ivy") == []


async def test_a_retried_request_id_is_never_charged_twice(flow):
    await flow.sign_up("Ivy", "professional", credits=100)
    first = await flow.call("Ivy", "gpt-3.5-turbo", 100, request_id="same-id-for-both-" + flow.s.run_id)
    again = await flow.call("Ivy", "gpt-3.5-turbo", 100, request_id="same-id-for-both-" + flow.s.run_id)
    assert first.succeeded and again.answer.status == 409 and again.answer.error_code == "duplicate_request"
    assert (await flow.snapshot("Ivy")).credits == 91


async def test_a_provider_failure_charges_nothing_and_counts_nothing(flow):
    await flow.sign_up("Ivy", "professional", credits=100)
    await flow.break_provider()
    outcome = await flow.call("Ivy", "gpt-3.5-turbo", 100)
    assert outcome.answer.status == 502 and "nothing was charged" in outcome.answer.detail
    snapshot = await flow.snapshot("Ivy")
    assert (snapshot.credits, snapshot.calls_used) == (100, 0)


async def test_200_simultaneous_calls_with_credits_for_100_charge_exactly_100(flow):
    await flow.sign_up("Cody", "professional", credits=900)
    outcomes = await flow.call_many("Cody", 200, "gpt-3.5-turbo", 100)
    statuses = [o.answer.status for o in outcomes]
    assert (statuses.count(200), statuses.count(402)) == (100, 100)
    assert (await flow.snapshot("Cody")).credits == 0
    assert await flow.ledger_balance("Cody") == 0
    charges = await flow.own_charges("Cody")
    assert len(charges) == 100 and {c.credits for c in charges} == {9}
    assert len({c.request_id for c in charges}) == 100
    assert (await flow.snapshot("Cody")).calls_used == 100


async def test_200_simultaneous_calls_on_an_allocation_for_100_charge_exactly_100(flow):
    await flow.create_org("Alice", "Acme", "platform")
    assert (await flow.buy("Acme", 5_000)).status == 201
    await flow.join("Olivia", "Acme")
    assert (await flow.allocate("Acme", "Olivia", 900)).ok
    outcomes = await flow.call_many("Olivia", 200, "gpt-3.5-turbo", 100)
    statuses = [o.answer.status for o in outcomes]
    assert (statuses.count(200), statuses.count(402)) == (100, 100)
    assert await flow.allocation("Olivia", "Acme") == {"allocated": 900, "used": 900, "remaining": 0}
    assert (await flow.pool("Acme"))["total_credits"] == 4_100
    charges = await flow.member_charges("Olivia", "Acme")
    assert len(charges) == 100 and len({c.request_id for c in charges}) == 100
    assert (await flow.snapshot("Olivia")).credits == 0


async def test_a_trial_quota_refuses_the_701st_call_with_429_and_rate_headers(flow):
    await flow.sign_up("Tess", "trial", credits=7_000)
    outcomes = await flow.call_many("Tess", 701, "gpt-3.5-turbo", 100, concurrency=40)
    statuses = [o.answer.status for o in outcomes]
    assert (statuses.count(200), statuses.count(429)) == (700, 1)
    refused = next(o for o in outcomes if o.answer.status == 429).answer
    assert refused.headers["x-ratelimit-remaining"] == "0" and int(refused.headers["retry-after"]) > 0
    assert int(refused.headers["x-ratelimit-reset"]) > time.time()
    assert len(await flow.own_charges("Tess")) == 700


async def tamper(stack, sql: str, *args) -> None:
    """Changes the ledger behind Ops-Center's back, as the database superuser."""
    connection = await asyncpg.connect(stack.urls["postgres_admin"].rsplit("/", 1)[0] + "/unicorn_db",
                                       password=stack.secrets["postgres_password"])
    try:
        await connection.execute(sql, *args)
    finally:
        await connection.close()


async def test_the_invariant_check_catches_a_balance_that_disagrees_with_its_transactions(flow, stack):
    ivy = await flow.sign_up("Ivy", "professional", credits=100)
    assert await flow.invariant_violations() == []
    await tamper(stack, "UPDATE user_credits SET credits = credits + 7 WHERE user_id = $1", ivy.account.user_id)
    problems = await flow.invariant_violations()
    await tamper(stack, "UPDATE user_credits SET credits = credits - 7 WHERE user_id = $1", ivy.account.user_id)
    assert problems == [f"{ivy.email}'s balance of 107 credits differs from the 100 credits its transactions add up to"]


async def test_the_invariant_check_catches_allocations_beyond_the_pool(flow, stack):
    org = await flow.create_org("Alice", "Acme", "platform")
    assert (await flow.buy("Acme", 100)).status == 201
    await flow.join("Olivia", "Acme")
    assert (await flow.allocate("Acme", "Olivia", 100)).ok
    olivia = flow.persona("Olivia").account.user_id
    await tamper(stack, "UPDATE organization_credits SET allocated = 150, remaining = 150 "
                        "WHERE org_id = $1 AND holder = $2", org.org_id, olivia)
    problems = await flow.invariant_violations()
    await tamper(stack, "UPDATE organization_credits SET allocated = 100, remaining = 100 "
                        "WHERE org_id = $1 AND holder = $2", org.org_id, olivia)
    assert problems == [f"the allocations of {org.org_id} (150) exceed its pool (100)"]
