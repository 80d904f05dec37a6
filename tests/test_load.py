"""make load: the plan's arrangement, the figures and the checks after the load, unit-tested on fakes; the
deployment's requests as Locust sends them; then a tiny distributed run (one master, two workers) on the
embedded stack, and a reference that charges twice under contention, which the load must catch."""

import asyncio
import importlib.util
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from creditflow.deployments.base import Account, CallRequest, Charge, OrgRef, Payer, Session, Statement
from creditflow.deployments.contract.deployment import ContractDeployment, ContractPrices
from creditflow.deployments.http import Answer
from creditflow.deployments.ops_center_oss.builds import OPS_CENTER_OSS
from creditflow.deployments.ops_center_oss.deployment import OpsCenterOssDeployment
from creditflow.deployments.wire import Transport, WireClient, WireIdentity, WireRequest, drive
from creditflow.load.cpu import CpuUse, Reading, process_table, tree_cpu_s
from creditflow.load.figures import (
    CALL_THROTTLED,
    CHARGED_CALL,
    ORG_READ,
    PURCHASE,
    SIGN_IN,
    SIGN_IN_THROTTLED,
    Sample,
    first_broken,
    highest_within_budget,
    operation_figures,
    refused,
    saturation,
    step_figures,
    stopped_rising,
)
from creditflow.load.origins import FromAddress, transport_for
from creditflow.load.plan import Plan, Profile, arrange, parse_mix, persona_count
from creditflow.load.verdict import judge
from creditflow.rules.money import ORGANIZATION, USER, MoneyTrail
from creditflow.screenplay.actors import Actor, Organization
from creditflow.screenplay.questions.calls import ProviderCallsSince
from creditflow.screenplay.tasks.accounts import SignUp
from creditflow.screenplay.tasks.keys import StoreOwnKey
from creditflow.screenplay.tasks.money import Stock
from creditflow.screenplay.tasks.organizations import Allocate, CreateOrganization, Join
from creditflow.systems.provider_double import ProviderCall, ProviderDouble
from sandbox import stack as sandbox
from tests import namespaces
from tests.judged_runs import suite_environment
from tests.test_suite_self import broken_ops_center

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("load_script", ROOT / "scripts" / "load.py")
load_script = importlib.util.module_from_spec(spec)
spec.loader.exec_module(load_script)
NAMESPACES_UNUSABLE = namespaces.usable()
KEYCLOAK = {"url": "http://keycloak.test", "realm": "uchub", "client_id": "ops-center", "client_secret": "s3cret"}


def plan(mix: str = "individual=5,member=3,byok=1,admin=1", calls_each: int | None = 4) -> Plan:
    return Plan("contract", "http://ops.test", KEYCLOAK, parse_mix(mix),
                Profile("exhaust", 2, 5, 1, 2, calls_each), 0, "/tmp/samples.json")


# -- the plan -------------------------------------------------------------------------------------
def test_the_mix_names_kinds_of_personas_with_weights():
    assert parse_mix("individual=5, member=3,byok=0") == {"individual": 5, "member": 3, "byok": 0}
    with pytest.raises(ValueError, match="kinds individual, member, byok, admin"):
        parse_mix("individual=5,robot=1")
    with pytest.raises(ValueError, match="makes no LLM calls"):
        parse_mix("admin=1")


def test_members_bring_an_admin_and_credits_cover_the_run_unless_they_are_to_run_out():
    assert persona_count({"member": 1}, 3) == {"individual": 0, "member": 3, "byok": 0, "admin": 1}
    step = Profile("step", step_users=2, step_seconds=10, steps=3, user_rate=0.5)
    assert step.most_tasks() == (2 + 4 + 6) * 0.5 * 10 and step.calls_paid_for() == 60
    assert step.seconds == 30 and step.most_users == 6
    assert Profile("exhaust", 2, 10, 1, 1, calls_each=4).calls_paid_for() == 4



@dataclass
class Answered:
    ok: bool = True
    value: None = None


class Rehearsing(Actor):
    """An actor who records the tasks she is given, for what the arrangement asks, and plays only what the
    arrangement reads of them: an account, an organization's id."""

    async def attempts_to(self, *tasks):
        for task in tasks:
            self.stage.done.append((self.name, task))
            if isinstance(task, SignUp | Join | CreateOrganization):
                plan = task.plan if isinstance(task, SignUp | CreateOrganization) else "platform"
                self.account = Account(f"id-{self.name}", f"{self.name.lower()}-run", f"{self.name}@t", "pw", plan)
            if isinstance(task, CreateOrganization):
                task.org.created_as, task.org.created_by = OrgRef(f"org-{task.org.name}", task.org.name), self
                return task.org
        return Answered()


class FakeScene:
    def __init__(self):
        self.cast: dict[str, Actor] = {}
        self.orgs: dict[str, Organization] = {}
        self.done: list[tuple] = []
        orgs = type("Organizations", (), {"purchasable": staticmethod(lambda credits: credits)})
        self.deployment = type("Deployment", (), {"orgs": orgs})

    def worth(self, count, model, tokens, plan=None):
        return count * ContractPrices().price(model, tokens, plan)

    def persona(self, name):
        return self.cast.setdefault(name, Rehearsing(name, stage=self))

    def organization(self, name):
        return self.orgs.setdefault(name, Organization(name))


async def test_the_arrangement_gives_each_persona_its_calls_worth_through_the_driver():
    scene = FakeScene()
    arranged = await arrange(scene, plan(calls_each=4), per_kind=2)
    worth = 4 * 9  # four gpt-3.5-turbo calls of 100 tokens at the contract's 9 credits each
    assert [(p.kind, p.name) for p in arranged.personas] == [
        ("admin", "Alice1"), ("admin", "Alice2"), ("individual", "Cody1"), ("individual", "Cody2"),
        ("member", "Olivia1"), ("member", "Olivia2"), ("byok", "Bea1"), ("byok", "Bea2")]
    done, (acme1, acme2), (olivia1, olivia2) = scene.done, scene.orgs.values(), (
        scene.cast["Olivia1"], scene.cast["Olivia2"])
    assert ("Cody1", SignUp("professional", worth)) in done and ("Bea1", SignUp("professional")) in done
    assert done.index(("Olivia1", Join(acme1))) < done.index(("Alice1", Stock(acme1, worth))) \
        < done.index(("Alice1", Allocate(acme1, olivia1, worth)))
    assert ("Alice2", Allocate(acme2, olivia2, worth)) in done and ("Bea2", StoreOwnKey()) in done
    olivia = arranged.of_kind("member")[0]
    assert (olivia.org_id, olivia.org_name, olivia.password) == ("org-Acme1", "Acme1", "pw")
    assert Plan.from_json(arranged.to_json()) == arranged


# -- the figures ----------------------------------------------------------------------------------
def samples(operation: str, at: float, ms: list[float], ok: bool = True) -> list[Sample]:
    return [Sample(at, operation, value, ok, "worker 0") for value in ms]


def test_each_step_is_judged_alone_and_the_highest_rate_within_budget_is_the_busiest_step_that_held():
    profile = Profile("step", step_users=2, step_seconds=10, steps=3, user_rate=1)
    taken = (samples(CHARGED_CALL, 105, [100.0] * 50) + samples(SIGN_IN, 105, [200.0] * 5)
             + samples(CHARGED_CALL, 115, [300.0] * 100) + samples(ORG_READ, 115, [150.0] * 20)
             + samples(CHARGED_CALL, 125, [400.0] * 150) + samples(SIGN_IN, 125, [200.0] * 19 + [900.0] * 2))
    steps = step_figures(taken, 100, profile)
    assert [(s.step, s.users, s.charged_calls_per_s, s.within) for s in steps] == [
        (1, 2, 5.0, True), (2, 4, 10.0, True), (3, 6, 15.0, False)]
    assert steps[2].of(SIGN_IN).p95 == 900.0 and not steps[2].of(SIGN_IN).within
    assert highest_within_budget(steps).step == 2
    assert highest_within_budget(steps, SIGN_IN).step == 3  # the credit flow's budgets held in step 3


def test_a_failed_operation_counts_against_its_step_and_is_left_out_of_its_latency():
    figures = operation_figures(samples(CHARGED_CALL, 1, [50.0] * 9) + samples(CHARGED_CALL, 1, [30_000.0], False), 10)
    assert (figures[0].count, figures[0].failures, figures[0].per_s, figures[0].p99) == (10, 1, 1.0, 50.0)
    step = step_figures(samples(CHARGED_CALL, 1, [50.0]) + samples(CHARGED_CALL, 1, [0.0], False), 0,
                        Profile("step", 1, 10, 1, 1))[0]
    assert not step.within and highest_within_budget([step]) is None


def rates(*per_step: float) -> list:
    profile = Profile("knee", 1, 10, len(per_step), 1, until_knee=True)
    taken = [sample for n, rate in enumerate(per_step)
             for sample in samples(CHARGED_CALL, 100 + 10 * n + 5, [100.0] * int(rate * 10))]
    return step_figures(taken, 100, profile)


def test_the_knee_is_where_the_rate_of_charged_calls_stops_rising_for_two_steps():
    assert stopped_rising(rates(5, 10, 15, 15.5, 14))
    assert not stopped_rising(rates(5, 10, 15, 15.5, 16.5))  # the last step rose by more than 5%
    assert not stopped_rising(rates(5, 10))
    assert saturation(rates(5, 10, 15, 15.5, 14)).charged_calls_per_s == 15.5


def test_a_knee_load_leaves_out_the_step_it_cut_short_and_names_the_budget_that_broke_first():
    profile = Profile("knee", step_users=2, step_seconds=10, steps=20, user_rate=1, until_knee=True)
    taken = (samples(CHARGED_CALL, 105, [100.0] * 50) + samples(SIGN_IN, 115, [600.0] * 5)
             + samples(CHARGED_CALL, 115, [300.0] * 100) + samples(CHARGED_CALL, 125, [300.0] * 100))
    steps = step_figures(taken, 100, profile, steps_run=2)
    assert [(s.step, s.charged_calls_per_s) for s in steps] == [(1, 5.0), (2, 10.0)]
    broke = first_broken(steps)
    assert broke.step == 2 and broke.broken() == ["sign-in p95 600 ms > 500 ms"]


def test_a_parts_cpu_is_its_process_tree_with_the_children_that_ended():
    table = {1: (0, 1.0), 10: (1, 2.0), 11: (10, 0.5), 12: (10, 0.25), 20: (1, 4.0)}
    assert tree_cpu_s([10], table) == 2.75 and tree_cpu_s([10, 20, 99], table) == 6.75
    before = tree_cpu_s([os.getpid()], process_table())
    subprocess.run([sys.executable, "-c", "sum(range(30_000_000))"], check=True)
    assert tree_cpu_s([os.getpid()], process_table()) - before > 0.2  # the child's CPU, once it has ended


def test_the_ceiling_is_the_rate_at_which_the_cores_would_be_full_and_rates_are_shares_of_it():
    before = Reading({"Keycloak": 10.0, "Ops-Center": 5.0}, machine_s=100.0, locust_s=1.0)
    after = Reading({"Keycloak": 12.0, "Ops-Center": 11.0}, machine_s=130.0, locust_s=3.0)
    used = CpuUse.between(before, after, seconds=20, cores=2)
    assert used.parts == {"Keycloak": 2.0, "Ops-Center": 6.0, "Locust itself": 2.0}
    assert used.per_call_ms(400) == {"Keycloak": 5.0, "Ops-Center": 15.0, "Locust itself": 5.0}
    assert used.ceiling(400) == 80.0  # 2 cores / 25 ms per charged call
    lines = used.lines(400, {"saturation": 20.0, "highest rate within budget": None})
    assert lines[1] == "  Keycloak 5.0, Ops-Center 15.0, Locust itself 5.0; 25.0 in all"
    assert lines[2:] == ["Ceiling on this machine: 2 cores full at 80.0 charged calls/s",
                         "  saturation: 20.0 charged calls/s, 25% of the ceiling",
                         "The machine's 2 cores were 75% busy during the load: the stack and Locust 25%, other work "
                         "50%"]


def test_the_products_refusals_as_too_frequent_are_counted_apart_from_the_credit_flows_figures():
    taken = (samples(SIGN_IN, 101, [80.0] * 97) + samples(SIGN_IN_THROTTLED, 101, [5.0] * 3)
             + samples(CHARGED_CALL, 101, [60.0] * 10) + samples(CALL_THROTTLED, 101, [2.0] * 2))
    figures = operation_figures(taken, 10)
    assert [(f.operation, f.count) for f in figures] == [(SIGN_IN, 97), (CHARGED_CALL, 10)]
    assert refused(taken) == {SIGN_IN_THROTTLED: 3, CALL_THROTTLED: 2}
    step = step_figures(taken, 100, Profile("step", 1, 10, 1, 1))[0]
    assert step.within and step.of(SIGN_IN_THROTTLED) is None


def test_each_user_calls_from_an_address_of_its_own_on_a_loopback_target():
    """Two users' transports reach a server on 127.0.0.1 from two addresses, neither of them 127.0.0.1."""
    import http.server
    import threading

    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.client_address[0])
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        for address in ("127.9.8.7", "127.9.8.6"):
            transport = FromAddress(address)
            answer = transport.send(WireRequest("GET", f"http://127.0.0.1:{server.server_port}/health"))
            transport.close()
            assert answer.status == 204
    finally:
        server.shutdown()
    assert seen == ["127.9.8.7", "127.9.8.6"]
    assert type(transport_for(plan(), "127.9.8.5")) is Transport  # a target elsewhere: this machine's address
    on_loopback = Plan("contract", "http://127.0.0.1:8084", KEYCLOAK | {"url": "http://127.0.0.1:8080"},
                       parse_mix("individual=1"), Profile("step", 1, 1, 1, 1), 0, "/tmp/samples.json")
    assert isinstance(transport_for(on_loopback, "127.9.8.5"), FromAddress)


# -- the checks after the load --------------------------------------------------------------------
class FakeLedger:
    def __init__(self, statements, charges, org_charges):
        self.statements, self._charges, self._org_charges = statements, charges, org_charges

    async def own_statement(self, user_id):
        return self.statements.get(user_id)

    async def org_statement(self, org_id):
        return self.statements.get(org_id)

    async def charges(self, user_id, org_id=None):
        return self._charges.get(user_id, [])

    async def org_charges(self, org_id):
        return self._org_charges.get(org_id, [])


@dataclass
class FakeCrew:
    """Who asks the provider double what it served, for the load's verdict."""

    served: list[ProviderCall]

    async def asks(self, question):
        assert isinstance(question, ProviderCallsSince)
        return self.served


def charge(credits: int) -> Charge:
    return Charge("r", "u", None, Decimal(credits), "gpt-3.5-turbo", 100)


async def load_scene(left: int, served: int):
    """Cody was given 36 credits (4 calls), Acme's pool 36; each made 2 calls of 9 credits (one BYOK call, free)."""
    arranged = plan(mix="individual=1,member=1,byok=1", calls_each=4)
    await arrange(FakeScene(), arranged, 1)
    money = MoneyTrail()
    money.credit(USER, "id-Cody1", "Cody1 (cody1-run)", Decimal(36))
    money.credit(ORGANIZATION, "org-Acme1", "Acme1 (acme1)", Decimal(36))
    ledger = FakeLedger({"id-Cody1": Statement(Decimal(left), Decimal(18)), "org-Acme1": Statement(Decimal(18),
                                                                                                  Decimal(18))},
                        {"id-Cody1": [charge(9), charge(9)], "id-Bea1": [charge(0)]},
                        {"org-Acme1": [charge(9), charge(9)]})
    platform = [ProviderCall("openai", "openai/gpt-3.5-turbo", "platform key")] * served
    own_key = ProviderCall("openrouter", "gpt-3.5-turbo", ProviderDouble.fingerprint("bea's key"))
    scene = type("Scene", (), {"crew": FakeCrew(platform + [own_key]),
                               "deployment": type("Deployment", (), {"ledger": ledger,
                                                                     "has": staticmethod(lambda _capability: False)}),
                               "services": type("Services", (), {"money": money, "config": type(
                                   "Config", (), {"byok_key": "bea's key"})})})
    return scene, arranged


def samples_file(*operations: str) -> str:
    return json.dumps({"started_at": 100.0, "samples": [[101.0, op, 50.0, True, "worker 1"] for op in operations],
                       "workers_unreported": 0})


async def test_a_load_that_kept_every_credit_and_served_only_paid_calls_passes():
    scene, arranged = await load_scene(left=18, served=4)
    report = await judge(scene, arranged, 100.0, samples_file(*[CHARGED_CALL] * 4, "BYOK call"))
    assert report.passed, report.failures
    assert (report.calls.charged, report.calls.served_with_platform_key, report.calls.served_with_own_keys,
            report.calls.succeeded_charged) == (4, 4, 1, 4)
    assert "Money conservation holds over 2 accounts: 72 credits put in = 36 left + 36 charged" in report.text()
    assert report.origins == {"worker 1": 5}


@pytest.mark.parametrize("served", [4, 5])
async def test_the_money_line_counts_the_providers_calls_as_the_line_of_calls_above_it_does(served):
    scene, arranged = await load_scene(left=18, served=served)
    scene.services.money.calls(7, 7)  # what a check of the ledger counted as its scenario's calls: not the load's
    report = await judge(scene, arranged, 100.0, samples_file(*[CHARGED_CALL] * 4))
    calls, money = report.calls, report.money
    assert (money.served, money.paid) == (calls.served_with_platform_key, calls.charged) == (served, 4)
    text = report.text()
    assert f"{served} served by the provider with the platform's key" in text
    assert f"the LLM provider served {served} calls on the platform's key" in text
    assert text.count("Money conservation holds") == (served == 4)


async def test_the_report_states_the_share_of_sign_ins_and_the_products_refusals_apart():
    scene, arranged = await load_scene(left=18, served=4)
    arranged.mix["signin"] = 1
    report = await judge(scene, arranged, 100.0, samples_file(*[CHARGED_CALL] * 4, *[SIGN_IN] * 3,
                                                              SIGN_IN_THROTTLED, CALL_THROTTLED))
    assert report.passed, report.failures
    text = report.text()
    assert ("Sign-ins: each user signs in once, from an address of its own, and keeps its session until it is 240 s "
            "old (the deployment's); 1 in 4 users of the mix sign in 0.2 times a second, each time as a new client: "
            "4 sign-ins, 44.4% of the load's 9 operations") in text
    assert ("Refused by the product's own limits (429 too many requests), not in the figures above: 1 sign-in refused "
            "as too frequent, 1 call refused as too frequent; 25.0% of the sign-ins") in text
    assert report.summary()["sign_ins"] == {"attempted": 4, "refused_as_too_frequent": 1}


async def test_money_charged_twice_fails_the_load_naming_the_account():
    scene, arranged = await load_scene(left=9, served=4)
    report = await judge(scene, arranged, 100.0, samples_file(*[CHARGED_CALL] * 4))
    assert not report.passed
    assert ("MONEY         Cody1 (cody1-run): 9 credits that came in are neither left nor charged (no payment "
            "succeeded at the payment provider, 36 granted; 9 left, 18 charged)") in report.failures


async def test_a_call_served_unpaid_fails_the_load():
    scene, arranged = await load_scene(left=18, served=5)
    report = await judge(scene, arranged, 100.0, samples_file(CHARGED_CALL))
    assert report.failures == ["PROVIDER      the LLM provider served 5 of the load's calls, but only 4 were paid "
                               "for: 1 was served unpaid"]


async def test_a_load_that_made_no_call_fails_rather_than_passing_on_nothing():
    scene, arranged = await load_scene(left=18, served=4)
    report = await judge(scene, arranged, 100.0, samples_file(SIGN_IN))
    assert any(failure.startswith("NO LOAD") for failure in report.failures)


async def test_workers_whose_last_samples_never_arrived_fail_the_load():
    scene, arranged = await load_scene(left=18, served=4)
    unreported = json.dumps({**json.loads(samples_file(*[CHARGED_CALL] * 4)), "workers_unreported": 1})
    report = await judge(scene, arranged, 100.0, unreported)
    assert report.failures == ["UNREPORTED    the last samples of 1 Locust workers never reached the master: the "
                               "callers' figures are incomplete"]


# -- the Locust processes ----------------------------------------------------------------------------
def test_one_process_or_a_master_with_its_workers_and_room_for_workers_on_other_machines(tmp_path):
    arranged = plan(mix="individual=1,member=0,admin=2")
    [single] = load_script.locust_commands(arranged, tmp_path, remote_workers=0, port=5557)
    assert "--master" not in single and single[-2:] == ["Individual", "Admin"]
    arranged.workers = 2
    master, *workers = load_script.locust_commands(arranged, tmp_path, remote_workers=3, port=5557)
    assert master[master.index("--expect-workers") + 1] == "5" and master[master.index("--master-bind-host") + 1] == "*"
    assert len(workers) == 2 and all("--worker" in worker and "5557" in worker for worker in workers)
    local_only = load_script.locust_commands(arranged, tmp_path, remote_workers=0, port=5557)[0]
    assert local_only[local_only.index("--master-bind-host") + 1] == "127.0.0.1"
    bound = load_script.locust_commands(arranged, tmp_path, remote_workers=3, port=5557, bind="10.0.0.5")[0]
    assert bound[bound.index("--master-bind-host") + 1] == "10.0.0.5"


# -- the deployment's requests, sent by the engine ------------------------------------------------
def test_a_call_is_the_deployments_request_and_its_answer_is_read_by_the_deployment():
    deployment = ContractDeployment.requests_only("http://ops.test", WireClient, WireIdentity(KEYCLOAK))
    sent = []

    def send(request: WireRequest) -> Answer:
        sent.append(request)
        return Answer(200, {"cost_credits": 9, "billed_to": "user", "byok_used": False, "request_id": "req-1",
                            "usage": {"total_tokens": 100}}, {"server-timing": "credits;dur=2.5"}, 40.0)

    result = drive(deployment.calls.make(Session("token-1", 0.0), CallRequest("gpt-3.5-turbo", 100)), send)
    assert (sent[0].method, sent[0].url) == ("POST", "http://ops.test/api/v1/llm/chat/completions")
    assert sent[0].headers["Authorization"] == "Bearer token-1" and sent[0].json["max_tokens"] == 100
    assert (result.cost, result.paid_by, result.phases, result.elapsed_ms) == (9, Payer.OWN_CREDITS,
                                                                               {"credits": 2.5}, 40.0)


def test_a_contract_sign_in_is_keycloaks_password_grant_sent_by_the_engine():
    deployment = ContractDeployment.requests_only("http://ops.test", WireClient, WireIdentity(KEYCLOAK))
    sent = []

    def send(request):
        sent.append(request)
        return Answer(200, {"access_token": "token-2"}, {}, 80.0)

    session = drive(deployment.accounts.sign_in(Account("id", "cody-run", "c@t", "pw", "professional"), "Cody"), send)
    assert sent[0].url == "http://keycloak.test/realms/uchub/protocol/openid-connect/token"
    assert sent[0].form["grant_type"] == "password" and sent[0].form["username"] == "cody-run"
    assert (session.secret, session.elapsed_ms, session.owner) == ("token-2", 80.0, "Cody")


def test_the_products_requests_keep_its_clients_rules_and_its_balance_takes_two_requests():
    deployment = OpsCenterOssDeployment.requests_only("http://oss.test", WireClient, WireIdentity(KEYCLOAK),
                                                      OPS_CENTER_OSS.commit)
    sent = []

    def send(request):
        sent.append(request)
        return Answer(200, {"balance": "1.5", "api_calls_used": 3, "api_calls_limit": 10}, {}, 5.0)

    balance = drive(deployment.own_credits.balance(Session("cookie-1", 0.0)), send)
    assert [request.url for request in sent] == ["http://oss.test/api/v1/credits/balance",
                                                 "http://oss.test/api/v1/usage/current"]
    assert all(r.headers["Accept-Encoding"] == "identity" and not r.keepalive for r in sent)
    assert (balance.value.credits, balance.value.calls_used) == (Decimal("1.5"), 3)


def test_a_deployment_that_waits_on_anything_but_a_request_is_refused():
    async def reads_the_database():
        await asyncio.sleep(0)

    with pytest.raises(RuntimeError, match="not on a request the engine can send"):
        drive(reads_the_database(), lambda request: None)


# -- live ----------------------------------------------------------------------------------------
def load(*args: str, out: Path, env: dict[str, str] | None = None, timeout: int = 120):
    inherited = suite_environment()
    return subprocess.run([sys.executable, "scripts/load.py", "--out", str(out), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, env={**inherited, **(env or {})})


@pytest.mark.live
def test_a_tiny_distributed_load_runs_out_of_credits_and_keeps_every_credit(stack, tmp_path):
    finished = load("--profile", "exhaust", "--workers", "2", "--step-users", "6", "--step-seconds", "6",
                    "--calls-each", "3", "--personas", "1", out=tmp_path)
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    summary = json.loads((tmp_path / "load.json").read_text())
    assert summary["workers"] == 2 and set(summary["samples_by_process"]) == {"worker 0", "worker 1"}
    calls = summary["calls"]
    assert calls["charged"] == calls["served_with_platform_key"] == calls["succeeded_charged"] > 0
    assert calls["refused_for_payment"] > 0  # the users ran out of credits mid-run and kept calling
    assert summary["money"].startswith("Money conservation holds") and summary["failures"] == []
    assert (tmp_path / "locust.html").exists() and (tmp_path / "locust_stats.csv").exists()


@pytest.mark.live
def test_buyers_in_the_mix_pay_at_the_provider_and_the_money_check_counts_their_payments(stack, tmp_path):
    """An admin buying the smallest package again and again beside the calls: every purchase paid at the payment
    provider, and the money check, which reads the provider's records, still balances."""
    finished = load("--profile", "exhaust", "--mix", "individual=1,buyer=1", "--personas", "1", "--step-users", "2",
                    "--step-seconds", "6", "--calls-each", "3", out=tmp_path)
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    summary = json.loads((tmp_path / "load.json").read_text())
    purchases = summary["operations"][PURCHASE]
    assert purchases["count"] >= 1 and purchases["failures"] == 0, purchases
    assert summary["money"].startswith("Money conservation holds"), summary["money"]


@pytest.mark.live
def test_a_knee_load_stops_once_the_rate_stops_rising_and_gives_the_cpu_of_each_part(stack, tmp_path):
    """Credits for one call: after it, every call is refused for payment, so the rate of charged calls falls to 0 and
    stays there; the load stops two steps after its best one, of 8. The best is the step the one call was charged in:
    the first, unless a loaded machine signs the persona in after that step's 4 seconds."""
    finished = load("--profile", "knee", "--mix", "individual=1", "--personas", "1", "--step-users", "1",
                    "--step-seconds", "4", "--steps", "8", "--user-rate", "1", "--calls-each", "1", out=tmp_path)
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    summary = json.loads((tmp_path / "load.json").read_text())
    steps_run, best = summary["steps_run"], summary["saturation"]["step"]
    assert steps_run == best + 2 < 8, summary
    assert [step["step"] for step in summary["steps"]] == list(range(1, steps_run + 1))
    charged = [step["charged_calls_per_s"] > 0 for step in summary["steps"]]
    assert charged == [step == best for step in range(1, steps_run + 1)], summary["steps"]
    cpu = summary["cpu"]
    assert {"Keycloak", "LiteLLM", "Ops-Center", "the doubles", "PostgreSQL", "Redis", "Locust itself"} <= set(
        cpu["ms_per_charged_call"])
    assert cpu["ms_per_charged_call"]["Ops-Center"] > 0 and cpu["ceiling_charged_calls_per_s"] > 0
    text = (tmp_path / "load.txt").read_text()
    assert f"The knee profile stopped after step {steps_run}" in text and "% of the ceiling" in text


@pytest.mark.live
@pytest.mark.skipif(bool(NAMESPACES_UNUSABLE), reason=f"{NAMESPACES_UNUSABLE}: no workers of their own to run")
def test_a_master_and_two_workers_in_network_namespaces_of_their_own_run_the_load_across_their_veth_pairs(
        stack, tmp_path):
    """Workers on other machines, made on this one: each worker in a network namespace of its own, which reaches the
    master (on this machine's namespace, bound to the bridge's address alone) only across its own veth pair. The
    stack answers inside each namespace on its usual loopback ports, through the test's forwarder, as a target on
    another host would answer every worker."""
    port = sandbox.free_port()
    with namespaces.Network(hosts=2) as network:
        assert all(sorted(network.links(n)) == ["eth0", "lo"] for n in range(2))
        targets = [int(stack.urls[name].rsplit(":", 1)[1]) for name in ("ops_center", "keycloak")]
        forwarder = namespaces.Forwarder(network.namespaces, targets)
        worker = [sys.executable, "-m", "locust", "-f", "loadtest/locustfile.py", "--worker", "--loglevel", "WARNING",
                  "--master-host", network.address, "--master-port", str(port)]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        workers = [subprocess.Popen(network.command(n, worker), cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, start_new_session=True) for n in range(2)]
        try:
            finished = load("--profile", "exhaust", "--remote-workers", "2", "--master-bind", network.address,
                            "--master-port", str(port), "--step-users", "6", "--step-seconds", "6", "--calls-each",
                            "3", "--personas", "1", out=tmp_path)
            carried = [network.bytes_across(n) for n in range(2)]
        finally:
            for process in workers:
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            forwarder.close()
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    summary = json.loads((tmp_path / "load.json").read_text())
    assert set(summary["samples_by_process"]) == {"worker 0", "worker 1"}
    calls = summary["calls"]
    assert calls["charged"] == calls["served_with_platform_key"] == calls["succeeded_charged"] > 0
    assert summary["money"].startswith("Money conservation holds") and summary["failures"] == []
    assert all(bytes_carried > 10_000 for bytes_carried in carried), carried  # the plan, the samples, the calls


@pytest.mark.live
def test_a_reference_that_charges_twice_under_contention_fails_the_load_naming_the_account(stack, tmp_path):
    with broken_ops_center(stack, "charged_twice_under_contention") as url:
        finished = load("--profile", "exhaust", "--mix", "individual=1", "--personas", "1", "--step-users", "8",
                        "--step-seconds", "6", "--user-rate", "4", "--calls-each", "1000", out=tmp_path,
                        env={"OPS_CENTER_URL": url})
    assert finished.returncode == 1, finished.stdout[-3000:] + finished.stderr[-3000:]
    assert "MONEY         Cody1 (cody1-" in (tmp_path / "load.txt").read_text()


SOURCE = os.environ.get("OPS_CENTER_SOURCE", "")


@pytest.mark.live
@pytest.mark.exclusive  # it stops the product the other live tests of the product use
@pytest.mark.skipif(not SOURCE, reason="OPS_CENTER_SOURCE is not set: no Ops-Center-OSS checkout to load")
def test_make_load_starts_the_product_when_it_is_stopped_and_reuses_it_when_it_runs(stack, tmp_path):
    """The README's `make load OPS_CENTER_SOURCE=...` from a stopped product (its start used to end in "Cannot run
    the event loop while another loop is running") and from a running one, on a tiny profile: the figures are the
    credit flow's, not the product's limit on sign-ins, and the money line counts the calls as the line above it."""
    running = sandbox.Stack.load()
    for name in ("ops-center-oss", "egress"):
        if running and name in running.pids and sandbox.alive(running.pids[name]):
            os.killpg(running.pids[name], signal.SIGTERM)
    for attempt in ("stopped", "running"):
        out = tmp_path / attempt
        finished = load("--step-users", "3", "--step-seconds", "6", "--steps", "2", "--personas", "1", out=out,
                        env={"OPS_CENTER_SOURCE": SOURCE}, timeout=600)
        output = finished.stdout + finished.stderr
        assert "Traceback" not in output and finished.returncode in (0, 1), output[-3000:]
        summary = json.loads((out / "load.json").read_text())
        assert summary["deployment"] == "ops-center-oss"
        sign_ins = summary["sign_ins"]
        assert sign_ins["attempted"] > 0 and sign_ins["refused_as_too_frequent"] < 0.01 * sign_ins["attempted"]
        calls = summary["calls"]
        assert f"the LLM provider served {calls['served_with_platform_key']} call" in summary["money"], output[-3000:]
        assert calls["succeeded_charged"] > 0
    assert sandbox.alive(sandbox.Stack.load().pids["ops-center-oss"])
