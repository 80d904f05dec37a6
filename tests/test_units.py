"""Unit tests of the support library: prices, redaction, percentiles, configuration and reports."""

import asyncio
import base64
import os
import socket
import subprocess
import time
from decimal import Decimal

import parse
import pytest
from cryptography.fernet import Fernet

from creditflow.config import ConfigError, resolve
from creditflow.deployments.contract.deployment import ContractPrices
from creditflow.deployments.http import HttpClient, address_of
from creditflow.evidence import Evidence
from creditflow.flows import title_of
from creditflow.metrics import Metrics, percentile
from creditflow.redaction import Redactor, hint
from creditflow.reporting.guide_reports import ScenarioResult, error_log, text_report
from creditflow.rules.keys_at_rest import opens_with, opens_with_another_key, readable_in
from creditflow.run.leftovers import left_by_a_dead_run
from creditflow.screenplay import phrases
from creditflow.screenplay.actors import Actor, FlowError, Organization
from creditflow.screenplay.phrases import at_a_limit, no_ones_name
from creditflow.screenplay.scene import Scene
from creditflow.screenplay.tasks.accounts import NamedBy, NoOnesName, no_ones
from creditflow.screenplay.tasks.calls import AtALimit
from creditflow.systems.identity import EMAIL_DOMAIN, MarkedAccount, MarkedKey, marked_key, signing_key_name
from creditflow.wording import listing, number, of_length


@pytest.mark.parametrize(("model", "tokens", "credits"), [
    ("gpt-3.5-turbo", 100, 9), ("gpt-4", 100, 48), ("gpt-4-turbo", 100, 24), ("claude-3-sonnet", 100, 15),
    ("gpt-3.5-turbo", 250, 23), ("gpt-3.5-turbo", 1111, 100), ("gpt-4", 1, 1), ("gpt-4", 0, 0),
])
def test_credits_are_the_rate_times_tokens_rounded_up(model, tokens, credits):
    assert ContractPrices().price(model, tokens) == Decimal(credits)


def test_an_unpriced_model_is_an_error():
    with pytest.raises(ValueError, match="prices no model"):
        ContractPrices().price("gpt-99", 100)


def test_provider_keys_keep_only_a_hint_and_passwords_nothing():
    assert hint("sk-or-v1-0123456789abcdef1234") == "sk-or-...1234"
    assert hint("Cf-secretpassword1234") == "***"


def test_redactor_masks_known_secrets_tokens_and_keys_everywhere():
    redactor = Redactor(["TestPassword123!"])
    text = ("login TestPassword123! with eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln and key "
            "sk-or-v1-abcdefabcdefabcdef9876")
    cleaned = redactor.text(text)
    assert "TestPassword123!" not in cleaned
    assert "eyJhbGciOiJSUzI1NiJ9" not in cleaned
    assert "abcdefabcdef" not in cleaned and "sk-or-...9876" in cleaned


def test_redactor_masks_a_token_whose_signature_is_removed():
    cleaned = Redactor().text("sent eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0. as a sign-in")
    assert cleaned == "sent <token redacted> as a sign-in"


def test_redactor_masks_secret_fields_in_bodies():
    body = {"provider": "openrouter", "api_key": "anything", "nested": [{"password": "p"}], "credits": 5}
    assert Redactor().data(body) == {"provider": "openrouter", "api_key": "<redacted>",
                                     "nested": [{"password": "<redacted>"}], "credits": 5}


def test_percentile_is_nearest_rank():
    samples = list(range(1, 101))
    assert percentile(samples, 0.95) == 95
    assert percentile(samples, 0.5) == 50
    assert percentile([7.0], 0.95) == 7.0


def test_metrics_summary_judges_the_budget_at_p95():
    metrics = Metrics()
    for value in [10] * 95 + [900] * 5:
        metrics.add("credit deduction", value)
    summary = metrics.summary("credit deduction")
    assert summary == {"count": 100, "p50_ms": 10, "p95_ms": 10, "max_ms": 900, "budget_ms": 100,
                       "within_budget": True}
    metrics.add("credit deduction", 900)
    assert metrics.summary("credit deduction")["within_budget"] is False


def test_configuration_precedence_environment_over_userdata_over_target():
    environ = {"OPS_CENTER_URL": "http://env:1"}
    config = resolve({"target": "compose", "ops_center_url": "http://userdata:1", "redis_url": "redis://u:1"},
                     environ=environ)
    assert config.ops_center_url == "http://env:1"
    assert config.redis_url == "redis://u:1"
    assert config.keycloak_url == "http://127.0.0.1:8080"


def test_unknown_target_and_missing_remote_settings_are_clear_errors():
    with pytest.raises(ConfigError, match="unknown target 'moon'"):
        resolve({"target": "moon"}, environ={})
    with pytest.raises(ConfigError, match=r"target remote needs: ops_center_url \(OPS_CENTER_URL\)"):
        resolve({"target": "remote"}, environ={})


REMOTE = {"CREDITFLOW_TARGET": "remote", "OPS_CENTER_URL": "https://ops.staging.example:8443",
          "KEYCLOAK_URL": "https://auth.staging.example", "KEYCLOAK_CLIENT_SECRET": "x", "KEYCLOAK_ADMIN_PASSWORD": "x",
          "DATABASE_URL": "postgresql://u@db/x", "REDIS_URL": "redis://r", "LAGO_URL": "http://l", "LAGO_API_KEY": "x"}


@pytest.mark.parametrize("named", ["", "ops.staging.example", "auth.staging.example, ops.example",
                                   "ops.staging.example:9999,auth.staging.example"])
def test_a_remote_target_not_named_as_a_test_system_is_refused(named):
    with pytest.raises(ConfigError, match=r"target remote: the suite creates users and moves credits at "
                                          r"'(ops|auth)\.staging\.example' .*CREDITFLOW_TEST_SYSTEMS="):
        resolve({}, environ=REMOTE | {"CREDITFLOW_TEST_SYSTEMS": named})


@pytest.mark.parametrize("named", ["ops.staging.example,auth.staging.example",
                                   "OPS.staging.example:8443, auth.staging.example"])
def test_a_remote_target_named_as_a_test_system_is_accepted(named):
    config = resolve({}, environ=REMOTE | {"CREDITFLOW_TEST_SYSTEMS": named})
    assert config.target == "remote" and config.ops_center_url == "https://ops.staging.example:8443"


def test_the_embedded_and_compose_targets_need_no_test_system_named():
    assert resolve({"target": "compose"}, environ={}).test_systems == ""


def test_the_embedded_target_asks_the_sandbox_and_keeps_explicit_overrides():
    sandbox = {"ops_center_url": "http://sandbox:1", "keycloak_url": "http://kc:1", "keycloak_client_secret": "s",
               "keycloak_admin_password": "a", "database_url": "postgresql://db", "database_password": "d",
               "redis_url": "redis://r", "lago_url": "http://lago", "lago_api_key": "l", "provider_url": "http://p"}
    config = resolve({}, environ={"OPS_CENTER_URL": "http://other:2"}, start_embedded=lambda: sandbox)
    assert config.ops_center_url == "http://other:2"
    assert config.keycloak_url == "http://kc:1"
    assert config.byok_key.startswith("sk-or-v1-")


def test_text_report_has_the_guides_sections_and_marks_failures():
    results = [
        ScenarioResult("Individual Flow", "f", "Ivy pays", "passed", facts=("Ivy has 991 credits left",),
                       rule="A call costs credits"),
        ScenarioResult("Individual Flow", "f", "Ivy streams", "passed", rule="A stream is charged once"),
        ScenarioResult("BYOK Flow", "f", "Bea pays nothing", "failed", "Then ...: Bea's call should cost 0 credits"),
        ScenarioResult("Edge Cases", "f", "Tess is refused", "passed"),
    ]
    report = text_report(results, {"Target": "embedded"})
    assert "✓ Individual Flow: PASSED (2 of 2 scenarios passed)" in report
    assert ("  Rule: A call costs credits\n   ✓ Ivy pays: PASSED\n       ✓ Ivy has 991 credits left\n"
            "  Rule: A stream is charged once\n   ✓ Ivy streams: PASSED") in report
    assert "✗ BYOK Flow: FAILED (0 of 1 scenarios passed)" in report
    assert "Bea's call should cost 0 credits" in report
    assert "manual test required" not in report.lower()
    log = error_log(results)
    assert "BYOK Flow / f / Bea pays nothing: FAILED" in log and "should cost 0 credits" in log
    assert error_log(results[:1]) is None


def test_flows_come_from_tags():
    assert title_of(["organization", "critical"]) == "Org Flow"
    assert title_of(["edge", "concurrency"]) == "Edge Cases"
    assert title_of(["smoke"]) == "Other"


KEY = "sk-or-v1-" + "4f" * 24


@pytest.mark.parametrize(("stored", "form"), [
    (KEY.encode(), "plain text"), (KEY[::-1].encode(), "reversed"), (KEY.encode().hex().encode(), "hex"),
    (KEY.encode().hex().upper().encode(), "upper-case hex"), (base64.b64encode(KEY.encode()), "base64"),
    (base64.urlsafe_b64encode(KEY.encode()).rstrip(b"="), "URL-safe base64"),
    (b'{"v": 1, "k": "' + base64.b64encode(KEY.encode()) + b'"}', "base64"),
    (base64.b64encode(b'{"key": "' + KEY.encode() + b'"}'), "plain text, under base64"),
])
def test_every_reversible_encoding_of_a_stored_key_is_found(stored, form):
    assert form in readable_in(stored, KEY)


def test_a_fernet_token_hides_the_key_and_opens_only_with_its_own_key():
    cipher_key = Fernet.generate_key().decode()
    token = Fernet(cipher_key.encode()).encrypt(KEY.encode())
    assert readable_in(token, KEY) == []
    assert opens_with(token, cipher_key) == KEY.encode()
    assert opens_with(token, Fernet.generate_key().decode()) is None and not opens_with_another_key(token)
    assert opens_with(base64.b64encode(KEY.encode()), cipher_key) is None


def test_an_account_is_a_leftover_when_its_run_died_here_or_is_old_elsewhere():
    here, now = socket.gethostname(), time.time()
    dead = subprocess.Popen(["true"])
    dead.wait()

    def user(host: str, pid: int, age_s: float) -> MarkedAccount:
        return MarkedAccount("id", "ivy-r1-1", "ivy-r1-1@creditflow.test",
                             {"creditflow_run": "r1", "creditflow_host": host, "creditflow_pid": str(pid)}, now - age_s)

    assert left_by_a_dead_run(user(here, dead.pid, 60), now)
    assert not left_by_a_dead_run(user(here, os.getpid(), 99_999), now)
    assert not left_by_a_dead_run(user("elsewhere", 1, 3600), now)
    assert left_by_a_dead_run(user("elsewhere", 1, 13 * 3600), now)


def test_a_signing_key_the_suite_added_to_the_realm_carries_its_runs_marks_and_is_a_leftover_when_the_run_died():
    dead = subprocess.Popen(["true"])
    dead.wait()
    marks = {"creditflow_run": "r1", "creditflow_host": socket.gethostname(), "creditflow_pid": str(dead.pid)}
    key = marked_key("component-1", signing_key_name(marks, 1_000.0))
    assert key == MarkedKey("component-1", marks, 1_000)
    assert left_by_a_dead_run(key)
    assert marked_key("component-2", "rsa-generated") is None


def test_samples_taken_beside_other_shards_are_listed_apart_and_not_judged():
    metrics = Metrics(under_load=True)
    metrics.add("authentication", 900.0)
    metrics.add("credit deduction under load", 5.0)
    report = metrics.report()
    assert set(report) == {"authentication under load", "credit deduction under load"}
    assert report["authentication under load"]["within_budget"] is None


def test_a_validation_error_reads_as_each_field_and_what_is_wrong_without_links():
    from creditflow.deployments.http import meaning_of

    raw = [{"type": "int_parsing", "loc": ["body", "allocated_credits"], "input": "0.005999",
            "msg": "Input should be a valid integer, unable to parse string as an integer",
            "url": "https://errors.pydantic.dev/2.6/v/int_parsing"}]
    assert meaning_of(raw) == "allocated_credits: Input should be a valid integer, unable to parse string as an integer"
    assert meaning_of("Credit pool not found") == "Credit pool not found"


def test_an_exchange_cited_as_evidence_leaves_out_the_validation_librarys_links():
    from creditflow.evidence import Evidence, Exchange
    from creditflow.redaction import Redactor

    answer = {"detail": [{"type": "string_too_short", "loc": ["body", "api_key"], "msg": "String should have at least "
                          "10 characters", "ctx": {"min_length": 10}, "url": "https://errors.pydantic.dev/2.9/v/"
                          "string_too_short"}]}
    cited = Evidence(Redactor()).one_line(Exchange("Bea", "POST", "/api/v1/llm/byok/keys", 422, 5.0, None, answer))
    assert "pydantic.dev" not in cited and '"min_length": 10}}]}' in cited


def test_a_call_that_says_nothing_of_its_cost_is_described_in_words():
    from creditflow.deployments.base import CallRequest, CallResult, Payer

    request = CallRequest("gpt-4", 100)
    assert CallResult(request, 0.0, 1.0).describe() == ("succeeded, without saying what it cost, without saying who "
                                                        "paid")
    assert CallResult(request, 0.0, 1.0, cost=Decimal(48), paid_by=Payer.OWN_CREDITS).describe() == (
        "succeeded, 48 credits paid by own credits")


def test_each_user_calls_a_product_on_this_machine_from_an_address_of_their_own():
    """A product on this machine limits requests per address (Ops-Center-OSS: 1,000 an hour): users who shared
    127.0.0.1 would use up each other's allowance, as no deployed product's users do."""
    async def peers_seen() -> list[str]:
        seen = []

        async def answer(reader, writer):
            await reader.readuntil(b"\r\n\r\n")
            seen.append(writer.get_extra_info("peername")[0])
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = HttpClient(f"http://127.0.0.1:{port}", Evidence(Redactor([])), own_addresses=True)
        try:
            for user in ("ivy-r1-1", "tess-r1-2", "ivy-r1-1"):
                await client.send(user, "GET", "/", origin=client.origin_for(user))
            await client.send("a stranger", "GET", "/")
        finally:
            await client.close()
            server.close()
        return seen

    ivy, tess = address_of("ivy-r1-1"), address_of("tess-r1-2")
    assert len({ivy, tess, "127.0.0.1"}) == 3, "two users and the machine itself should have three addresses"
    assert asyncio.run(peers_seen()) == [ivy, tess, ivy, "127.0.0.1"]


def test_a_product_elsewhere_sees_each_user_from_this_machines_address():
    client = HttpClient("https://ops.example", Evidence(Redactor([])), own_addresses=True)
    assert client.origin_for("ivy-r1-1") == ""


@pytest.mark.parametrize(("phrase", "limit"), [
    ("a budget of 1 token", AtALimit(tokens=1)),
    ("a budget of 100,001 tokens", AtALimit(tokens=100_001)),
    ("a question signed with a name of 64 characters", AtALimit(sender_length=64)),
    ("an answer to a tool call whose id has 1 character", AtALimit(tool_call_id_length=1)),
    ("an answer to a tool call whose id is empty", AtALimit(tool_call_id_length=0)),
])
def test_a_call_at_a_limit_is_read_from_its_phrase(phrase, limit):
    assert parse.parse("with {limit:AtALimit}", f"with {phrase}", {"AtALimit": at_a_limit})["limit"] == limit


def test_a_phrase_of_no_limit_is_not_read():
    assert parse.parse("with {limit:AtALimit}", "with a budget of many tokens", {"AtALimit": at_a_limit}) is None


@pytest.mark.parametrize(("phrase", "name"), [
    ("an identity of 1 character", NoOnesName(NamedBy.IDENTITY, 1)),
    ("an identity of 256 characters", NoOnesName(NamedBy.IDENTITY, 256)),
    ("an empty identity", NoOnesName(NamedBy.IDENTITY, 0)),
    ("an e-mail of 254 characters", NoOnesName(NamedBy.EMAIL, 254)),
])
def test_a_name_of_no_one_is_read_from_its_phrase(phrase, name):
    assert parse.parse("by {name:NoOnesName}", f"by {phrase}", {"NoOnesName": no_ones_name})["name"] == name


def test_a_persona_and_an_organization_are_read_as_the_scenes_own_and_named_without_casting_anyone(monkeypatch):
    scene = Scene(type("Services", (), {"unique": staticmethod(lambda name: name)})())
    ivy, acme = Actor("Ivy"), Organization("Acme")
    scene.cast["Ivy"], scene.orgs["Acme"] = ivy, acme
    monkeypatch.setattr(phrases.STAGE, "scene", scene)
    types = {"Persona": phrases.persona, "Org": phrases.organization, "Customer": phrases.customer}
    read = parse.parse("{name:Persona} pays {org:Org} and bills {customer:Customer}", "Ivy pays Acme and bills Acme",
                       types)
    assert read["name"] is ivy and read["org"] is acme and read["customer"] is acme
    newcomer = parse.parse("{name:Persona} joins {org:Org}", "Nora joins Globex", types)
    assert newcomer["name"].name == "Nora" and newcomer["org"].name == "Globex"
    assert set(scene.cast) == {"Ivy"} and set(scene.orgs) == {"Acme"}  # naming casts no one
    with pytest.raises(FlowError, match="Nora has not been introduced in this scenario"):
        newcomer["name"].account  # noqa: B018
    with pytest.raises(FlowError, match="the organization Globex has not been created in this scenario"):
        newcomer["org"].admin  # noqa: B018
    monkeypatch.setattr(phrases.STAGE, "scene", None)  # a dry run runs no hook
    assert parse.parse("{name:Persona} waits", "Ivy waits", types)["name"] is not ivy


class Serials:
    """Services' run-unique names, as `Services.unique` makes them."""

    def __init__(self):
        self.made = 0

    def unique(self, name: str) -> str:
        self.made += 1
        return f"{name}-r1-{self.made}"


def admin() -> Actor:
    """One who names no one's account, in a scene whose services make run-unique names."""
    return Actor("the platform admin", stage=type("Scene", (), {"services": Serials()})())


@pytest.mark.parametrize("length", [0, 1, 255, 256])
def test_an_identity_of_no_one_has_exactly_its_length(length):
    user_id, email = no_ones(admin(), NoOnesName(NamedBy.IDENTITY, length))
    assert len(user_id) == length and email is None


def test_a_long_name_of_no_one_differs_each_time():
    naming, name = admin(), NoOnesName(NamedBy.IDENTITY, 255)
    assert no_ones(naming, name) != no_ones(naming, name)


@pytest.mark.parametrize("length", [254, 255])
def test_a_long_e_mail_of_no_one_is_run_unique_at_the_suites_domain(length):
    no_id, email = no_ones(admin(), NoOnesName(NamedBy.EMAIL, length))
    assert no_id is None and len(email) == length
    assert email.startswith("nobody-r1-1") and email.endswith(EMAIL_DOMAIN)


@pytest.mark.parametrize(("length", "email"), [(2, "n@"), (3, "n@o")])
def test_an_e_mail_too_short_for_the_suites_domain_is_cut_to_its_length(length, email):
    assert no_ones(admin(), NoOnesName(NamedBy.EMAIL, length)) == (None, email)


@pytest.mark.parametrize(("names", "text"), [([], "no one"), (["Alice"], "Alice"),
                                             (["Alice", "Olivia"], "Alice and Olivia"),
                                             (["Alice", "Olivia", "someone else"], "Alice, Olivia and someone else")])
def test_names_are_listed_as_a_sentence_lists_them(names, text):
    assert listing(names) == text


@pytest.mark.parametrize(("value", "text"), [(10000, "10,000"), (Decimal("2500.50"), "2,500.5"),
                                             (Decimal("0.060000"), "0.06"), (Decimal("100.000"), "100"),
                                             (Decimal("10000"), "10,000"), (Decimal("0.0006"), "0.0006")])
def test_numbers_are_shown_with_thousands_and_without_trailing_zeros(value, text):
    assert number(value) == text


@pytest.mark.parametrize(("length", "text"), [(0, ""), (3, "Ivy"), (5, "Ivyxx"), (2, "Iv")])
def test_a_text_of_a_given_length(length, text):
    assert of_length("Ivy", length) == text
