"""The contract deployment maps the reference's recorded answers (tests/fixtures/contract, recorded from the
live reference with run-unique names scrubbed) to typed results: every refusal kind, payers and costs."""

import json
from decimal import Decimal

import httpx
import pytest

from creditflow.deployments.base import (
    Account,
    AddressHeader,
    Allocation,
    Balance,
    CallRequest,
    ClaimedAddress,
    MemberUsage,
    OrgRef,
    Payer,
    Pool,
    RefusalKind,
    Session,
)
from creditflow.deployments.contract.answers import created, payer
from creditflow.deployments.contract.deployment import ContractDeployment
from creditflow.deployments.http import Answer, HttpClient
from creditflow.evidence import Evidence
from creditflow.redaction import Redactor
from creditflow.systems.identity import Identity
from tests.recorded import client_answering

SESSION = Session("a-token", 0.0, owner="Ivy")
ACME = OrgRef("org_00000000-0000-0000-0000-0000000ac3e0", "Acme")


def over(client: HttpClient, identity: Identity | None = None) -> ContractDeployment:
    """The contract deployment's requests, sent through `client`: no ledger, cache or billing is connected."""
    return ContractDeployment.requests_only("http://ops-center.test", lambda _: client, identity)


def deployment_answering(name: str) -> tuple[ContractDeployment, list[httpx.Request]]:
    client, sent = client_answering("contract", name)
    return over(client), sent


async def call(name: str, request: CallRequest | None = None):
    deployment, sent = deployment_answering(name)
    result = await deployment.calls.make(SESSION, request or CallRequest("gpt-3.5-turbo", 100))
    return result, sent[0]


async def test_a_call_paid_from_own_credits_says_its_cost_payer_tokens_and_request_id():
    result, sent = await call("chat_own_credits")
    assert result.succeeded and result.refusal is None
    assert (result.cost, result.paid_by, result.tokens) == (Decimal(9), Payer.OWN_CREDITS, 100)
    assert result.request_id.startswith("req_") and {"usage", "credits", "provider"} <= set(result.phases)
    assert sent.headers["authorization"] == "Bearer a-token" and sent.url.path == "/api/v1/llm/chat/completions"


async def test_a_call_paid_by_the_organization_and_one_on_the_callers_own_key():
    org, _ = await call("chat_organization")
    byok, _ = await call("chat_byok", CallRequest("gpt-4", 100))
    assert (org.cost, org.paid_by) == (Decimal(9), Payer.ORGANIZATION)
    assert (byok.cost, byok.paid_by) == (Decimal(0), Payer.BYOK)


async def test_a_byok_opt_out_and_a_request_id_travel_as_the_contracts_headers():
    _, sent = await call("chat_own_credits", CallRequest("gpt-3.5-turbo", 100, use_byok=False, request_id="r-1"))
    assert (sent.headers["x-use-byok"], sent.headers["x-request-id"]) == ("false", "r-1")
    assert json.loads(sent.content)["max_tokens"] == 100


@pytest.mark.parametrize(("fixture", "kind", "status"), [
    ("chat_insufficient", RefusalKind.PAYMENT, 402),
    ("chat_no_allocation", RefusalKind.PAYMENT, 402),
    ("chat_quota_exceeded", RefusalKind.QUOTA, 429),
    ("chat_duplicate", RefusalKind.DUPLICATE, 409),
    ("chat_invalid", RefusalKind.INVALID, 422),
    ("chat_byok_not_configured", RefusalKind.INVALID, 400),
    ("chat_provider_failure", RefusalKind.PROVIDER_FAILURE, 502),
    ("chat_unauthorized", RefusalKind.UNAUTHORIZED, 401),
])
async def test_each_refusal_of_a_call_has_its_kind(fixture, kind, status):
    result, _ = await call(fixture)
    assert not result.succeeded and result.cost is None and result.paid_by is None
    assert (result.refusal.kind, result.refusal.status) == (kind, status)
    assert result.refusal.detail


async def test_a_payment_refusal_names_what_is_required_and_available_and_offers_an_upgrade():
    result, _ = await call("chat_insufficient", CallRequest("gpt-4", 1000))
    refusal = result.refusal
    assert (refusal.required, refusal.available) == (Decimal(480), Decimal(82))
    assert refusal.upgrade_offered and not refusal.no_allocation


async def test_a_member_without_allocation_is_told_so():
    result, _ = await call("chat_no_allocation")
    assert result.refusal.no_allocation and result.refusal.required is None


async def test_an_answer_says_how_many_api_calls_are_left_and_when_they_come_back():
    result, _ = await call("chat_own_credits")
    assert (result.calls_left, result.resets_at) == (9_999, 1796083200)


async def test_a_question_signed_with_a_name_and_an_answer_to_a_tool_call_travel_as_openai_messages():
    _, sent = await call("chat_own_credits", CallRequest("gpt-3.5-turbo", 100, scope="s-1", sender="Ivy",
                                                         answers_tool_call="call_1"))
    asked, called, answered = json.loads(sent.content)["messages"]
    assert (asked["role"], asked["name"]) == ("user", "Ivy") and asked["content"].endswith("[s-1]")
    assert called["role"] == "assistant" and [tool["id"] for tool in called["tool_calls"]] == ["call_1"]
    assert (answered["role"], answered["tool_call_id"]) == ("tool", "call_1") and answered["content"]
    _, sent = await call("chat_own_credits")
    assert [set(message) for message in json.loads(sent.content)["messages"]] == [{"role", "content"}]


async def test_a_quota_refusal_says_when_the_quota_resets():
    result, _ = await call("chat_quota_exceeded")
    assert result.refusal.resets_at == 1796083200 and not result.refusal.upgrade_offered
    assert result.refusal.calls_left == 0


async def test_sampling_settings_travel_in_the_body_in_the_order_written():
    _, sent = await call("chat_own_credits", CallRequest("gpt-3.5-turbo", 100, settings=(("top_p", 0.9),
                                                                                        ("temperature", 0.5))))
    body = json.loads(sent.content)
    assert list(body)[-2:] == ["top_p", "temperature"] and (body["top_p"], body["temperature"]) == (0.9, 0.5)


async def test_balance_pool_allocation_attribution_and_keys_are_typed():
    deployment, _ = deployment_answering("balance")
    assert (await deployment.own_credits.balance(SESSION)).value == Balance(Decimal(100), 0, 10_000, "professional")
    deployment, _ = deployment_answering("org_credits")
    assert (await deployment.orgs.pool(SESSION, ACME)).value == Pool(Decimal(991), Decimal(500), Decimal(9))
    deployment, _ = deployment_answering("my_allocation")
    assert (await deployment.orgs.allocation(SESSION, ACME)).value == Allocation(Decimal(500), Decimal(9), Decimal(491))
    deployment, _ = deployment_answering("usage_attribution")
    usage = (await deployment.orgs.attribution(SESSION, ACME)).value
    assert MemberUsage("olivia@creditflow.test", Decimal(9), 1) in usage
    deployment, _ = deployment_answering("byok_keys")
    settings = (await deployment.keys.settings(SESSION)).value
    assert settings.openrouter_configured and settings.hints == ("sk-or-...bea1",)


@pytest.mark.parametrize(("fixture", "operation", "kind"), [
    ("allocate_over_pool", "allocate", RefusalKind.CONFLICT),
    ("purchase_invalid", "buy", RefusalKind.INVALID),
    ("org_credits_forbidden", "pool", RefusalKind.FORBIDDEN),
    ("org_credits_not_found", "pool", RefusalKind.NOT_FOUND),
])
async def test_each_refusal_of_an_organization_operation_has_its_kind(fixture, operation, kind):
    deployment, _ = deployment_answering(fixture)
    member = Account("00000000-0000-0000-0000-0000000011fa", "olivia", "olivia@creditflow.test", "", "platform")
    reply = await {
        "allocate": lambda: deployment.orgs.allocate(SESSION, ACME, member, Decimal(5000)),
        "buy": lambda: deployment.orgs.buy(SESSION, ACME, Decimal(-5)),
        "pool": lambda: deployment.orgs.pool(SESSION, ACME),
    }[operation]()
    assert not reply.ok and reply.value is None and reply.refusal.kind is kind


async def test_a_server_error_that_is_not_json_is_a_server_error_refusal():
    client = HttpClient("http://ops-center.test", Evidence(Redactor()),
                        transport=httpx.MockTransport(lambda _: httpx.Response(500, text="Internal Server Error")))
    deployment = over(client)
    reply = await deployment.own_credits.balance(SESSION)
    assert reply.refusal.kind is RefusalKind.SERVER_ERROR and reply.refusal.detail == "Internal Server Error"


async def test_accounts_are_named_by_their_identity_and_by_e_mail_only_when_asked():
    deployment, sent = deployment_answering("allocate")
    olivia = Account("00000000-0000-0000-0000-0000000011fa", "olivia", "olivia@creditflow.test", "", "platform")
    await deployment.orgs.allocate(SESSION, ACME, olivia, Decimal(500))
    await deployment.own_credits.grant(SESSION, olivia, Decimal(100))
    await deployment.own_credits.grant_naming(SESSION, None, olivia.email, Decimal(100))
    bodies = [json.loads(request.content) for request in sent]
    assert bodies == [{"user_id": olivia.user_id, "credits": 500}, {"user_id": olivia.user_id, "credits": 100},
                      {"user_email": olivia.email, "credits": 100}]


async def test_an_allocation_names_its_member_by_each_name_it_is_given():
    deployment, sent = deployment_answering("allocate")
    await deployment.orgs.allocate_naming(SESSION, ACME, None, None, Decimal(500))
    await deployment.orgs.allocate_naming(SESSION, ACME, "olivia-id", "max@creditflow.test", Decimal(500))
    await deployment.orgs.allocate_naming(SESSION, ACME, "", None, Decimal(500))
    assert [json.loads(request.content) for request in sent] == [
        {"credits": 500}, {"user_id": "olivia-id", "user_email": "max@creditflow.test", "credits": 500},
        {"user_id": "", "credits": 500}]


async def test_a_grant_and_an_invitation_name_their_account_by_each_name_they_are_given():
    deployment, sent = deployment_answering("allocate")
    await deployment.own_credits.grant_naming(SESSION, "x" * 256, None, Decimal(100))
    await deployment.own_credits.grant_naming(SESSION, None, None, Decimal(100))
    await deployment.orgs.invite_naming(SESSION, ACME, "", None)
    await deployment.orgs.invite_naming(SESSION, ACME, None, "n@o")
    assert [json.loads(request.content) for request in sent] == [
        {"user_id": "x" * 256, "credits": 100}, {"credits": 100}, {"user_id": "", "role": "member"},
        {"email": "n@o", "role": "member"}]


async def test_a_streamed_call_is_read_piece_by_piece_and_its_last_chunk_says_cost_payer_and_tokens():
    result, sent = await call("chat_stream", CallRequest("gpt-3.5-turbo", 14, stream=True))
    assert result.succeeded and not result.left_early
    assert (result.pieces, result.cost, result.paid_by, result.tokens) == (4, Decimal(2), Payer.OWN_CREDITS, 14)
    assert result.request_id.startswith("req_")
    assert json.loads(sent.content)["stream"] is True


async def test_a_caller_who_leaves_a_stream_has_read_only_the_first_pieces_and_no_cost():
    result, _ = await call("chat_stream", CallRequest("gpt-3.5-turbo", 14, stream=True, leave_after=2))
    assert result.left_early and result.pieces == 2 and result.cost is None
    assert "left by the caller after 2 pieces" in result.describe()


async def test_a_refused_stream_is_a_plain_refusal():
    result, _ = await call("chat_insufficient", CallRequest("gpt-4", 100, stream=True))
    assert result.refusal.kind is RefusalKind.PAYMENT and result.pieces == 0


async def test_an_unanswered_request_is_a_refusal_and_is_counted_by_the_deployment():
    """after_scenario's restart check reads Deployment.unanswered: it must count this deployment's requests."""

    def hang(_request):
        raise httpx.ReadTimeout("no answer")

    client = HttpClient("http://ops-center.test", Evidence(Redactor()), transport=httpx.MockTransport(hang))
    deployment = over(client)
    result = await deployment.calls.make(SESSION, CallRequest("gpt-4", 100))
    assert result.refusal.kind is RefusalKind.NO_ANSWER and deployment.unanswered == 1


@pytest.mark.parametrize(("billed_to", "byok_used", "paid_by"), [
    ("byok", True, Payer.BYOK), ("user", False, Payer.OWN_CREDITS), ("organization", False, Payer.ORGANIZATION),
    ("user", True, None), ("byok", False, None), ("user", None, None), ("someone", False, None)])
def test_an_answer_says_who_paid_only_where_its_two_ways_of_saying_it_agree(billed_to, byok_used, paid_by):
    assert payer(billed_to, byok_used) is paid_by


@pytest.mark.parametrize(("status", "accepted"), [(201, True), (200, False), (202, False)])
def test_a_creation_is_the_contracts_success_only_when_answered_201_created(status, accepted):
    answer = Answer(status, {"status": "invited"}, {}, 5.0)
    result = created(answer)
    assert result.ok is accepted
    if not accepted:
        assert result.refusal.kind is RefusalKind.UNREADABLE and "201 Created" in result.refusal.detail


def test_only_the_contracts_quota_refusal_is_the_quota_and_any_other_429_a_rate_limit():
    from creditflow.deployments.contract.answers import refusal
    from creditflow.deployments.http import Answer

    assert refusal(Answer(429, {"error": "quota_exceeded", "detail": "..."})).kind is RefusalKind.QUOTA
    assert refusal(Answer(429, {"error": "too_many_requests", "detail": "..."})).kind is RefusalKind.TOO_MANY


MALLORY = Account("MALLORY-ID", "mallory-r1-1", "mallory-r1-1@creditflow.test", "her password", "trial")
IVY = Account("IVY-ID", "ivy-r1-1", "ivy-r1-1@creditflow.test", "ivy's password", "professional")


async def test_a_failed_sign_in_at_keycloak_is_unauthorized_and_claims_the_address_it_was_given():
    client, sent = client_answering("contract", "sign_in_wrong_credentials")
    identity = Identity("http://keycloak.test", "uchub", "ops-center", "client-secret", "admin", "admin-password")
    deployment = over(client, identity)
    claim = ClaimedAddress(AddressHeader.FORWARDED, "203.0.113.7")
    reply = await deployment.sign_ins.attempt(IVY, "a guess", MALLORY, claim)
    assert reply.refusal.kind is RefusalKind.UNAUTHORIZED and reply.refusal.detail == "Invalid user credentials"
    assert str(sent[0].url) == "http://keycloak.test/realms/uchub/protocol/openid-connect/token"
    form = dict(httpx.QueryParams(sent[0].content.decode()))
    assert (form["username"], form["password"], form["grant_type"]) == ("ivy-r1-1", "a guess", "password")
    assert sent[0].headers["forwarded"] == "for=203.0.113.7"


async def test_an_address_refused_for_invalid_sign_ins_is_too_many_and_says_for_how_long():
    deployment, sent = deployment_answering("sign_in_too_many")
    claim = ClaimedAddress(AddressHeader.FORWARDED_FOR, "203.0.113.8")
    reply = await deployment.sign_ins.present(MALLORY, SESSION, False, claim)
    assert (reply.refusal.kind, reply.refusal.status, reply.refusal.retry_after_s) == (RefusalKind.TOO_MANY, 429, 60)
    assert sent[0].url.path == "/api/v1/credits/balance" and sent[0].headers["x-forwarded-for"] == "203.0.113.8"
    assert sent[0].headers["authorization"] != f"Bearer {SESSION.secret}"


async def test_a_valid_sign_in_presents_the_actors_own_token():
    deployment, sent = deployment_answering("balance")
    assert (await deployment.sign_ins.present(MALLORY, SESSION, True)).ok
    assert sent[0].headers["authorization"] == "Bearer a-token" and "x-forwarded-for" not in sent[0].headers
