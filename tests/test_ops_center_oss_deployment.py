"""The ops-center-oss deployment maps Ops-Center-OSS's answers (recorded live from af179f13cf24 by
tests/fixtures/record_oss.py, sessions and run-unique names scrubbed) to typed results; its prices
are the product's own formula."""

import json
from decimal import Decimal

import httpx
import pytest

from creditflow.deployments.base import (
    Account,
    AddressHeader,
    CallRequest,
    ClaimedAddress,
    OrgRef,
    Payer,
    RefusalKind,
    Session,
)
from creditflow.deployments.http import HttpClient
from creditflow.deployments.ops_center_oss.builds import BUILDS, OPS_CENTER_OSS, OssBuild
from creditflow.deployments.ops_center_oss.deployment import OpsCenterOssDeployment, OssPrices
from creditflow.evidence import Evidence
from creditflow.redaction import Redactor
from creditflow.verdicts import CannotArrange, NotApplicable
from tests.recorded import client_answering

SESSION = Session("SESSION", 0.0, owner="Ivy")
ACME = OrgRef("ORG-ID", "acme")


def over(client: HttpClient, build: OssBuild = OPS_CENTER_OSS) -> OpsCenterOssDeployment:
    """The deployment's requests to `build`, sent through `client`: no storage is connected."""
    return OpsCenterOssDeployment.requests_only("http://ops-center.test", lambda _, **options: client, None,
                                                build.commit)


def deployment_answering(*names: str, build: OssBuild = OPS_CENTER_OSS
                         ) -> tuple[OpsCenterOssDeployment, list[httpx.Request]]:
    client, sent = client_answering("ops-center-oss", *names, headers={"Accept-Encoding": "identity"})
    return over(client, build), sent


async def call(name: str, model: str = "gpt-3.5-turbo"):
    deployment, sent = deployment_answering(name)
    return await deployment.calls.make(SESSION, CallRequest(model, 100)), sent[0]


@pytest.mark.parametrize(("model", "tokens", "plan", "credits"), [
    ("gpt-3.5-turbo", 100, "professional", "0.0006"), ("gpt-4", 100, "professional", "0.0006"),
    ("claude-3-sonnet", 1000, "professional", "0.006"), ("gpt-3.5-turbo", 100, "trial", "0.000375"),
    ("gpt-3.5-turbo", 100, "platform", "0.0006"), ("gpt-3.5-turbo", 1, "professional", "0.000006"),
])
def test_prices_are_the_products_formula(model, tokens, plan, credits):
    assert OssPrices().price(model, tokens, plan) == Decimal(credits)


async def test_a_call_on_own_credits_is_priced_from_the_metadata_and_sent_with_the_session_cookie():
    result, sent = await call("chat_own_credits")
    assert result.succeeded and (result.cost, result.paid_by, result.tokens) == (Decimal("0.0006"),
                                                                                  Payer.OWN_CREDITS, 100)
    assert result.request_id
    assert sent.headers["cookie"] == "session_token=SESSION" and "authorization" not in sent.headers
    assert sent.headers["accept-encoding"] == "identity"


async def test_a_byok_call_is_paid_by_the_callers_key_at_no_cost():
    result, _ = await call("chat_byok", "gpt-4")
    assert (result.cost, result.paid_by) == (Decimal(0), Payer.BYOK)


@pytest.mark.parametrize(("fixture", "kind", "status", "no_allocation"), [
    ("chat_insufficient", RefusalKind.PAYMENT, 402, False),
    ("chat_no_allocation", RefusalKind.PAYMENT, 402, True),
    ("chat_organization", RefusalKind.SERVER_ERROR, 500, False),
])
async def test_the_products_refusals_of_a_call_have_their_kinds(fixture, kind, status, no_allocation):
    result, _ = await call(fixture)
    assert not result.succeeded and (result.refusal.kind, result.refusal.status) == (kind, status)
    assert result.refusal.no_allocation is no_allocation and not result.refusal.upgrade_offered
    assert result.refusal.detail


async def test_a_session_user_is_refused_without_a_session():
    deployment, _ = deployment_answering("unauthorized")
    reply = await deployment.own_credits.balance(Session("not-a-session", 0.0))
    assert reply.refusal.kind is RefusalKind.UNAUTHORIZED


async def test_the_balance_is_a_decimal_and_the_usage_comes_from_the_usage_route():
    deployment, sent = deployment_answering("balance", "usage")
    balance = (await deployment.own_credits.balance(SESSION)).value
    assert balance.credits == Decimal("1") and balance.plan == "professional"
    assert [request.url.path for request in sent] == ["/api/v1/credits/balance", "/api/v1/usage/current"]


async def test_allocating_beyond_the_pool_is_a_server_error_and_within_it_an_allocation():
    member = Account("OLIVIA-ID", "olivia", "olivia@creditflow.test", "", "platform")
    deployment, sent = deployment_answering("allocate_over_pool", "allocate")
    over = await deployment.orgs.allocate(SESSION, ACME, member, Decimal(5000))
    assert over.refusal.kind is RefusalKind.SERVER_ERROR and over.refusal.status == 500
    within = await deployment.orgs.allocate(SESSION, ACME, member, Decimal(500))
    assert (within.value.allocated, within.value.remaining) == (Decimal(500), Decimal(500))
    assert json.loads(sent[1].content) == {"user_id": "OLIVIA-ID", "allocated_credits": 500, "reset_period": "monthly"}


async def test_an_allocation_naming_no_member_is_sent_without_one_and_one_by_e_mail_is_not_applicable():
    deployment, sent = deployment_answering("allocate")
    await deployment.orgs.allocate_naming(SESSION, ACME, None, None, Decimal(500))
    assert json.loads(sent[0].content) == {"allocated_credits": 500, "reset_period": "monthly"}
    with pytest.raises(NotApplicable, match="user id only"):
        await deployment.orgs.allocate_naming(SESSION, ACME, "OLIVIA-ID", "max@creditflow.test", Decimal(500))
    assert len(sent) == 1


async def test_a_grant_and_a_new_member_are_named_by_user_id_and_by_e_mail_are_not_applicable():
    deployment, sent = deployment_answering("allocate")
    await deployment.own_credits.grant_naming(SESSION, "x" * 256, None, Decimal(100))
    await deployment.orgs.invite_naming(SESSION, ACME, "x" * 255, None)
    assert [json.loads(request.content) for request in sent] == [
        {"user_id": "x" * 256, "amount": 100, "source": "manual"}, {"user_id": "x" * 255, "role": "member"}]
    with pytest.raises(NotApplicable, match="grants credits to a user id only"):
        await deployment.own_credits.grant_naming(SESSION, None, "n@o", Decimal(100))
    with pytest.raises(NotApplicable, match="adds a member by user id only"):
        await deployment.orgs.invite_naming(SESSION, ACME, None, "n@o")
    assert len(sent) == 2


async def test_a_question_signed_with_a_name_and_an_answer_to_a_tool_call_travel_as_openai_messages():
    deployment, sent = deployment_answering("chat_own_credits")
    await deployment.calls.make(SESSION, CallRequest("gpt-3.5-turbo", 100, sender="Ivy", answers_tool_call="call_1"))
    assert [message.get("name") or message.get("tool_call_id") or message["role"]
            for message in json.loads(sent[0].content)["messages"]] == ["Ivy", "assistant", "call_1"]


async def test_pool_allocation_attribution_and_key_settings_are_typed():
    deployment, _ = deployment_answering("pool", "my_billing", "org_usage", "keys")
    pool = (await deployment.orgs.pool(SESSION, ACME)).value
    assert (pool.remaining, pool.allocated, pool.used) == (Decimal(1000), Decimal(500), Decimal(0))
    mine = (await deployment.orgs.allocation(SESSION, ACME)).value
    assert (mine.allocated, mine.used, mine.remaining) == (Decimal(500), Decimal(0), Decimal(500))
    assert (await deployment.orgs.attribution(SESSION, ACME)).value == []
    settings = (await deployment.keys.settings(SESSION)).value
    assert settings.openrouter_configured and settings.hints == ("***...open",)


async def test_the_sign_in_reads_the_session_cookie_from_the_raw_header():
    deployment, sent = deployment_answering("login")
    account = Account("IVY-ID", "ivy", "ivy@creditflow.test", "a password", "professional")
    session = await deployment.accounts.sign_in(account, "Ivy")
    assert session.secret == '"SESSION"' and session.owner == "Ivy"  # as the server set it, quotes and all
    assert json.loads(sent[0].content) == {"username": "ivy", "password": "a password"}
    assert await deployment.accounts.plan_in_identity(session) == ("ivy@creditflow.test", "professional")


async def test_an_unanswered_request_is_a_refusal_and_is_counted():
    def hang(_request):
        raise httpx.ReadTimeout("no answer")

    client = HttpClient("http://ops-center.test", Evidence(Redactor()), transport=httpx.MockTransport(hang))
    deployment = over(client)
    result = await deployment.calls.make(SESSION, CallRequest("gpt-4", 100))
    assert result.refusal.kind is RefusalKind.NO_ANSWER and deployment.unanswered == 1


async def test_the_shared_client_keeps_no_actors_cookie():
    seen = []

    def handler(request):
        seen.append(request.headers.get("cookie"))
        return httpx.Response(200, headers={"set-cookie": "session_token=someone; Path=/"}, json={})

    client = HttpClient("http://ops-center.test", Evidence(Redactor()), transport=httpx.MockTransport(handler))
    await client.send("Ivy", "GET", "/one")
    await client.send("a stranger", "GET", "/two")
    assert seen == [None, None]


async def test_a_streamed_answer_carries_the_pieces_but_neither_cost_nor_payer_nor_usage():
    deployment, sent = deployment_answering("chat_stream")
    result = await deployment.calls.make(SESSION, CallRequest("gpt-3.5-turbo", 14, stream=True))
    assert result.succeeded and result.pieces == 4
    assert (result.cost, result.paid_by, result.tokens) == (None, None, None)
    assert json.loads(sent[0].content)["stream"] is True and sent[0].headers["cookie"] == "session_token=SESSION"


@pytest.mark.parametrize("detail", ["Too many login attempts. Try again in 42 seconds",  # rate_limiter.py:52
                                    "Monthly spending cap exceeded"])  # litellm_api.py:945
def test_the_products_429s_are_rate_limits_never_the_plans_quota_of_api_calls(detail):
    """Each of the product's 429s comes from a limiter or a spending cap; none says the plan's API calls are used
    up, so none may pass for the quota a step expects."""
    from creditflow.deployments.http import Answer
    from creditflow.deployments.ops_center_oss.answers import refusal

    assert refusal(Answer(429, {"detail": detail})).kind is RefusalKind.TOO_MANY


MALLORY = Account("MALLORY-ID", "mallory", "mallory@creditflow.test", "her password", "trial")
# The product's sign-in refusals as its source writes them (not recorded: the product was not run for them).
WRONG_CREDENTIALS = httpx.Response(401, json={"success": False, "detail": "Invalid username or password"})  # :5999
TOO_MANY = httpx.Response(429, headers={"Retry-After": "60"},
                          json={"detail": "Too many login attempts. Try again in 60 seconds"})  # server.py:5853-5857


def deployment_giving(answer: httpx.Response) -> tuple[OpsCenterOssDeployment, list[httpx.Request]]:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return answer

    client = HttpClient("http://ops-center.test", Evidence(Redactor()), transport=httpx.MockTransport(handler))
    return over(client), sent


@pytest.mark.parametrize(("answer", "kind", "retry_after_s"), [
    (WRONG_CREDENTIALS, RefusalKind.UNAUTHORIZED, None), (TOO_MANY, RefusalKind.TOO_MANY, 60)])
async def test_an_invalid_sign_in_is_a_wrong_password_at_its_sign_in_and_reads_its_refusal(answer, kind, retry_after_s):
    deployment, sent = deployment_giving(answer)
    claim = ClaimedAddress(AddressHeader.FORWARDED_FOR, "203.0.113.7")
    reply = await deployment.sign_ins.present(MALLORY, SESSION, False, claim)
    assert (reply.refusal.kind, reply.refusal.retry_after_s) == (kind, retry_after_s)
    body = json.loads(sent[0].content)
    assert sent[0].url.path == "/auth/direct-login" and body["username"] == "mallory"
    assert body["password"] != "her password" and sent[0].headers["x-forwarded-for"] == "203.0.113.7"


@pytest.mark.parametrize(("header", "sent_as"), [
    (AddressHeader.FORWARDED_FOR, "203.0.113.9"), (AddressHeader.REAL_IP, "203.0.113.9"),
    (AddressHeader.FORWARDED, "for=203.0.113.9")])
async def test_a_sign_in_as_another_account_carries_the_claimed_address_in_its_header(header, sent_as):
    deployment, sent = deployment_giving(WRONG_CREDENTIALS)
    ivy = Account("IVY-ID", "ivy", "ivy@creditflow.test", "ivy's password", "professional")
    reply = await deployment.sign_ins.attempt(ivy, "a guess", MALLORY, ClaimedAddress(header, "203.0.113.9"))
    assert reply.refusal.kind is RefusalKind.UNAUTHORIZED
    assert json.loads(sent[0].content) == {"username": "ivy", "password": "a guess"}
    assert sent[0].headers[header.value] == sent_as


async def test_a_valid_sign_in_is_the_senders_own_password():
    deployment, sent = deployment_answering("login")
    assert (await deployment.sign_ins.present(MALLORY, SESSION, True)).ok
    assert json.loads(sent[0].content) == {"username": "mallory", "password": "her password"}


@pytest.mark.parametrize("build", BUILDS, ids=lambda build: build.commit)
async def test_api_calls_already_used_cannot_be_arranged_where_no_count_is_kept_and_nothing_is_sent(build):
    deployment, sent = deployment_answering("allocate", build=build)
    with pytest.raises(CannotArrange, match=r"keeps no count of API calls .*backend/litellm_api.py:\d+-\d+"):
        await deployment.calls.arrange_used(MALLORY, 699)
    assert sent == []
