"""Verdicts decided from typed outcomes, findings grouped by cause, expectations as a gate."""

import re
from decimal import Decimal

import httpx
import pytest

from creditflow.judging.expectations import ExpectationsError, changes, compare, load, record
from creditflow.judging.findings import cause_of, group, normalised
from creditflow.reporting.guide_reports import ScenarioResult, conformance_report
from creditflow.rules.money import Conservation, MoneyTrail
from creditflow.verdicts import (
    CannotArrange,
    ChargedForNothing,
    Claim,
    ClaimError,
    InvariantBroken,
    NotApplicable,
    Outcome,
    TargetLacksPart,
    Verdict,
    claim_of,
    decide,
)

GUIDE, CONTRACT, INVARIANT = Claim.parse("guide.flow-2"), Claim.parse("contract.endpoints"), Claim.parse(
    "invariant.money")


@pytest.mark.parametrize(("outcome", "verdict"), [
    (None, Verdict.PASSED),
    (Outcome("then", AssertionError("402 expected"), GUIDE, False), Verdict.DIFFERS_FROM_GUIDE),
    (Outcome("then", AssertionError("404 expected"), CONTRACT, False), Verdict.DIFFERS_FROM_CONTRACT),
    (Outcome("then", AssertionError("charged twice"), INVARIANT, False), Verdict.MONEY_OR_SECURITY),
    (Outcome("then", AssertionError("paid by nobody"), GUIDE, True), Verdict.ERROR),
    (Outcome("then", InvariantBroken("served unpaid"), GUIDE, True), Verdict.MONEY_OR_SECURITY),
    (Outcome("then", AssertionError("20 no answer"), INVARIANT, True, True, True), Verdict.ERROR),
    (Outcome("given", AssertionError("could not allocate"), INVARIANT, True), Verdict.COULD_NOT_ARRANGE),
    (Outcome("when", CannotArrange("finer than a credit"), GUIDE, False), Verdict.COULD_NOT_ARRANGE),
    (Outcome("given", NotApplicable("no grant by e-mail"), GUIDE, False), Verdict.NOT_APPLICABLE),
    (Outcome("then", TargetLacksPart("no provider double"), GUIDE, False), Verdict.ENVIRONMENT_LIMIT),
    (Outcome("when", httpx.ConnectError("refused"), GUIDE, False), Verdict.ENVIRONMENT_LIMIT),
    (Outcome("then", ValueError("Expecting value: line 1 column 1"), GUIDE, True), Verdict.SUITE_DEFECT),
    (Outcome("then", AssertionError("a claim nobody cites"), None, False), Verdict.SUITE_DEFECT),
])
def test_a_verdict_follows_from_the_step_the_error_type_the_claim_and_the_products_answer(outcome, verdict):
    assert decide(outcome) is verdict


def test_the_same_message_gets_different_verdicts_when_its_source_differs():
    """Wording plays no part: only the types and the claim do."""
    error = AssertionError("Ops-Center answered 500")
    assert decide(Outcome("then", error, GUIDE, False)) is Verdict.DIFFERS_FROM_GUIDE
    assert decide(Outcome("given", error, GUIDE, False)) is Verdict.COULD_NOT_ARRANGE


def test_a_claim_names_a_known_section_and_one_rule_cites_one_claim():
    assert GUIDE.cites() == "the testing guide, Test Flows, Flow 2: Organization User"
    assert CONTRACT.cites() == "docs/contract.md#endpoints (Endpoints)"
    with pytest.raises(ClaimError, match="names no known claim"):
        Claim.parse("guide.flow-9")
    with pytest.raises(ClaimError, match="more than one claim"):
        claim_of({"guide.flow-1", "contract.retries", "critical"})
    assert claim_of({"critical", "slow"}) is None


def test_causes_are_normalised_so_that_one_defect_met_by_many_actors_is_one_finding():
    text = "Olivia's allocation in Acme-1a2b3c-7 (id 0c9f6a34-5b7e-4c1a-9d3e-7f6a5b4c3d2e) is 2,491.5"
    assert normalised(text, ["Olivia", "Acme"]) == "{name}'s allocation in {name} (id {id}) is N"
    prefixed = "POST /api/v1/org-billing/credits/org_0c9f6a34-5b7e-4c1a-9d3e-7f6a5b4c3d2e/add"
    assert normalised(prefixed) == "POST /api/v1/org-billing/credits/org_{id}/add"
    failure = 'POST /api/v1/llm/chat/completions {"model": "gpt-4"} -> 500 {"detail": "Failed to deduct credits"}'
    one = cause_of(Verdict.ERROR, "{name}'s call is paid", "fact", failure, ["Olivia"])
    other = cause_of(Verdict.COULD_NOT_ARRANGE, "{name} asks", "other fact", failure, ["Max"])
    assert one == other and one.finding_class == Verdict.ERROR.value
    assert one.claim == "POST /api/v1/llm/chat/completions"


def result(name: str, verdict: Verdict, cause=None, message: str = "") -> ScenarioResult:
    return ScenarioResult("Org Flow", "Organizations", name, "passed" if verdict is Verdict.PASSED else "failed",
                          message, rule="A rule", verdict=verdict.value, claim="the testing guide, Flow 2",
                          cause=cause, evidence="POST /x -> 500 {}" if cause else "")


def test_the_report_opens_with_one_finding_per_cause_and_never_states_a_failed_title_as_fact():
    broken = {"finding_class": Verdict.ERROR.value, "claim": "POST /chat", "answer": "500 Failed to deduct"}
    results = [result("Olivia's call is paid from her allocation", Verdict.ERROR, broken, "Then ...: 500"),
               result("Max's call is paid from his allocation", Verdict.ERROR, broken, "Then ...: 500"),
               result("Alice creates Acme", Verdict.PASSED)]
    report = conformance_report(results, "product 1", {}, 'behave -n "{name}"')
    assert report.index("## Findings") < report.index("## Every Rule and scenario")
    assert len(group(results)) == 1 and "| F1 | failed: error |" in report
    assert "**Alice creates Acme**" in report and "**Olivia's call" not in report
    assert "failed: error: the claim \"Olivia's call is paid from her allocation\"" in report
    assert "behave -n \"^Olivia's call is paid from her allocation$\"" in report
    assert "**3 scenarios: 1 passed; 2 failed: error**" in report


def test_money_is_not_conserved_while_the_provider_served_calls_nobody_paid_for():
    trail = MoneyTrail()
    trail.calls(served=20, paid=10)

    class NoAccounts:
        def has(self, _capability):
            return False

    conservation = run(trail.check(NoAccounts()))
    assert not conservation.holds and conservation.problems == []
    assert conservation.summary() == (
        "Money conservation broken over 0 accounts: the LLM provider served 10 calls on the platform's key that nobody "
        "paid for; the books balance: 0 credits put in = 0 left + 0 charged; the LLM provider served 20 calls on the "
        "platform's key, but only 10 were paid for: 10 were served unpaid")


def test_the_money_line_says_first_what_broke_and_never_calls_a_balanced_sum_broken():
    balanced = Conservation([], 2, Decimal("10000.5"), Decimal("9991.5"), Decimal(9), served=3, paid=3)
    assert balanced.summary() == ("Money conservation holds over 2 accounts: 10,000.5 credits put in = 9,991.5 left "
                                  "+ 9 charged; the LLM provider served 3 calls on the platform's key, each paid for")
    minted = Conservation(["user Ivy: ..."], 1, Decimal(1000), Decimal(2000), Decimal(0))
    assert minted.summary().startswith("Money conservation broken over 1 account: 1,000 credits are there that nobody "
                                       "put in; the books do not balance: 1,000 credits put in, 2,000 left + 0 charged")
    lost = Conservation(["user Ivy: ...", "user Nora: ..."], 2, Decimal(100), Decimal(90), Decimal(0))
    assert "broken over 2 accounts: 10 credits put in are neither left nor charged;" in lost.summary()
    moved = Conservation(["user Ivy: ...", "user Nora: ..."], 2, Decimal(100), Decimal(91), Decimal(9))
    assert "broken over 2 accounts: 2 accounts do not balance, though the sum over all accounts does; the books " \
           "balance: 100 credits put in = 91 left + 9 charged" in moved.summary()


def run(coroutine):
    import asyncio

    return asyncio.new_event_loop().run_until_complete(coroutine)


RUN = [{"scenario": "A", "verdict": "passed", "message": ""},
       {"scenario": "B", "verdict": "failed: error", "message": "Then x: 500",
        "cause": {"claim": "POST /chat", "answer": "500 Failed", "finding_class": "failed: error"}}]


def test_expectations_list_new_failures_unexpected_passes_and_suite_defects(tmp_path):
    recorded = record(RUN, {}, "product", "abc")
    assert recorded["scenarios"]["B"] == {"verdict": "failed: error", "reason": "POST /chat: 500 Failed"}
    assert compare(recorded["scenarios"], RUN) == []
    fixed = [RUN[0], {**RUN[1], "verdict": "passed"}]
    assert [u.describe() for u in compare(recorded["scenarios"], fixed)] == [
        "UNEXPECTED PASS: B (expected failed: error: POST /chat: 500 Failed)"]
    broken = [{**RUN[0], "verdict": "suite defect", "message": "KeyError"}, RUN[1]]
    assert compare(recorded["scenarios"], broken)[0].got == "suite defect"
    new = [*RUN, {"scenario": "C", "verdict": "failed: differs from the guide", "message": "no 429"}]
    assert [u.scenario for u in compare(recorded["scenarios"], new)] == ["C"]


def test_a_reason_a_reader_wrote_is_kept_while_the_verdict_holds_and_a_bad_file_says_what_is_wrong(tmp_path):
    previous = {"B": {"verdict": "failed: error", "reason": "org debits pass a dict to asyncpg"}}
    assert record(RUN, previous, "product", "abc")["scenarios"]["B"]["reason"].startswith("org debits")
    path = tmp_path / "product.json"
    path.write_text('{"scenarios": {"B": {"verdict": "failed: error"}}}')
    with pytest.raises(ExpectationsError, match="without a reason"):
        load(path)
    path.write_text('{"scenarios": {"B": {"verdict": "broken"}}}')
    with pytest.raises(ExpectationsError, match="which is no verdict"):
        load(path)
    with pytest.raises(ExpectationsError, match="does not exist"):
        load(tmp_path / "missing.json")


def test_two_runs_compared_list_what_changed():
    after = [{**RUN[0], "verdict": "failed: money or security", "message": "charged twice"}, RUN[1],
             {"scenario": "C", "verdict": "passed"}]
    assert changes(RUN, after) == ["~ A: passed -> failed: money or security (charged twice)",
                                   "+ C: passed (a new scenario)"]
    assert changes(RUN, RUN) == []


def test_a_diagnosis_a_reader_wrote_stays_with_its_failure_and_is_shown_beside_the_finding():
    previous = {"B": {"verdict": "failed: error", "reason": "x", "diagnosis": "a dict passed to asyncpg (f.py:240)"}}
    recorded = record(RUN, previous, "product", "abc")["scenarios"]
    assert recorded["B"]["diagnosis"] == "a dict passed to asyncpg (f.py:240)"
    assert "diagnosis" not in record([{**RUN[1], "verdict": "failed: differs from the guide"}], previous, "p", "v")[
        "scenarios"]["B"]
    broken = {"finding_class": Verdict.ERROR.value, "claim": "POST /chat", "answer": "500"}
    report = conformance_report([result("B", Verdict.ERROR, broken, "Then ...: 500")], "product 1", {}, "{name}",
                                diagnoses={"B": "a dict passed to asyncpg (f.py:240)"})
    assert "- Diagnosis: a dict passed to asyncpg (f.py:240)" in report


def said_alike(name: str, verdict: Verdict, claim: str, answer: str, names: tuple[str, ...], message: str = ""):
    """A result whose cause carries what its scenario said, as judge() records it."""
    cause = cause_of(verdict, "the call costs {credits:Credits} credits", answer, None, list(names), claim)
    return result(name, verdict, vars(cause), message or f"Then {claim}: {answer}")


def test_a_finding_states_its_first_scenarios_values_and_the_range_of_those_that_differ():
    results = [said_alike("gpt-4", Verdict.DIFFERS_FROM_GUIDE, "the call costs 9 credits",
                          "100 tokens of gpt-4 should cost 9 credits, but Ops-Center charged 0.0006", ("Ivy",)),
               said_alike("claude", Verdict.DIFFERS_FROM_GUIDE, "the call costs 150 credits",
                          "1,000 tokens of claude-3-sonnet should cost 150 credits, but Ops-Center charged 0.006",
                          ("Nora",))]
    (finding,) = group(results)
    assert finding.claims[0].claim == "the call costs 9 to 150 credits"
    assert finding.claims[0].answer == ("100 to 1,000 tokens of gpt-4 or claude-3-sonnet should cost 9 to 150 credits, "
                                        "but Ops-Center charged 0.0006 to 0.006")
    report = conformance_report(results, "product 1", {}, "{name}")
    table = report[report.index("## Findings"):report.index("### F1")]
    assert "the call costs 9 to 150 credits" in table and not re.search(r"\{\w+\}|\bN\b", table)


def test_causes_a_reader_diagnosed_alike_are_one_finding_of_the_gravest_class_counted_at_the_top():
    money = {"finding_class": Verdict.MONEY_OR_SECURITY.value, "claim": "{name} is charged once", "answer": "0 charges",
             "said_claim": "Ivy is charged once", "said_answer": "0 charges"}
    contract = {"finding_class": Verdict.DIFFERS_FROM_CONTRACT.value, "claim": "the last piece states the cost",
                "answer": "it does not", "said_claim": "the last piece states the cost", "said_answer": "it does not"}
    results = [result("A", Verdict.DIFFERS_FROM_CONTRACT, contract), result("B", Verdict.MONEY_OR_SECURITY, money),
               result("C", Verdict.DIFFERS_FROM_CONTRACT, contract)]
    same = "a stream is debited only after [DONE] (litellm_api.py:1338)"
    (finding,) = group(results, {"A": same, "B": same})
    assert finding.finding_class == Verdict.MONEY_OR_SECURITY and finding.scenarios == ["B", "A", "C"]
    assert len(group(results)) == 2
    report = conformance_report(results, "product 1", {}, "{name}", diagnoses={"A": same, "B": same})
    assert "Findings: 1 cause met by the scenarios. failed: money or security: 1 cause in 3 scenarios." in report
    assert "| F1 | failed: money or security | Ivy is charged once (the testing guide, Flow 2); and 1 other claim of " \
           "the same cause | 0 charges | 3 |" in report



@pytest.mark.parametrize(("outcome", "verdict"), [
    (Outcome("given", NotApplicable("no grant by e-mail"), INVARIANT, True, True, True), Verdict.NOT_APPLICABLE),
    (Outcome("then", TargetLacksPart("no provider double"), INVARIANT, True, True), Verdict.ENVIRONMENT_LIMIT),
    (Outcome("then", KeyError("charges"), INVARIANT, True, True), Verdict.SUITE_DEFECT),
    (Outcome("then", AssertionError("10 calls unanswered"), INVARIANT, True, True, True), Verdict.ERROR),
    (Outcome("given", AssertionError("could not allocate"), GUIDE, True, True), Verdict.MONEY_OR_SECURITY),
    (Outcome("then", ChargedForNothing("an empty answer, charged"), GUIDE, False), Verdict.MONEY_OR_SECURITY),
    (Outcome("given", AssertionError("could not allocate"), INVARIANT, True), Verdict.COULD_NOT_ARRANGE),
    (Outcome("when", AssertionError("500"), INVARIANT, True), Verdict.ERROR),
    (Outcome("then", AssertionError("charged twice"), INVARIANT, True), Verdict.MONEY_OR_SECURITY),
    (Outcome("then", AssertionError("no 402"), GUIDE, True), Verdict.ERROR),
    (Outcome("then", AssertionError("no 402"), GUIDE, False), Verdict.DIFFERS_FROM_GUIDE),
    (Outcome("then", AssertionError("403, not 404"), CONTRACT, False), Verdict.DIFFERS_FROM_CONTRACT),
])
def test_where_several_classes_could_apply_they_win_in_the_order_the_readme_gives(outcome, verdict):
    """Each case holds the conditions of the class above it in the order but one, so that each step of the order
    is decided by this test (README.md, "Which class wins"; creditflow.verdicts.decide)."""
    assert decide(outcome) is verdict


def test_a_cause_read_from_the_products_deployment_files_is_a_finding_of_its_own_beside_the_runs():
    from creditflow.deployments.declarations import DeployedFinding

    shared = DeployedFinding(Verdict.MONEY_OR_SECURITY.value, "one user's traffic does not use up another's limit",
                             "every user shares the proxy's address", "compose.yml:78; Dockerfile:82",
                             "each user calls from an address of their own")
    broken = {"finding_class": Verdict.ERROR.value, "claim": "POST /chat", "answer": "500"}
    report = conformance_report([result("B", Verdict.ERROR, broken, "Then ...: 500")], "product 1", {}, "{name}",
                                deployed=(shared,))
    assert "Findings: 1 cause met by the scenarios. failed: error: 1 cause in 1 scenario. And 1 cause in the " \
           "product's own deployment files" in report
    assert "| F2 | failed: money or security | one user's traffic does not use up another's limit | as deployed: " \
           "every user shares the proxy's address | none: its deployment files |" in report
    assert "### F2: failed: money or security, as the product's deployment files run it" in report
    assert "- Why: compose.yml:78; Dockerfile:82" in report
    assert "- No scenario meets it: each user calls from an address of their own" in report


def test_every_workaround_of_the_real_products_adapter_says_what_the_product_as_deployed_would_do():
    from creditflow.deployments.ops_center_oss.builds import BUILDS

    for build in BUILDS:
        for workaround in build.workarounds:
            assert workaround.what and workaround.as_deployed, (build.name, workaround)
        assert build.deployed_findings, build.name


def test_the_real_products_adapter_speaks_to_the_build_it_is_named_and_refuses_one_it_does_not_know():
    from creditflow.config import ConfigError
    from creditflow.deployments.ops_center_oss.builds import OPS_CENTER_OSS, SAASHQ_OPS_CENTER, build_named

    assert build_named("283233d38107989c31524de98aea6407880b11b0") is SAASHQ_OPS_CENTER
    assert build_named("af179f13cf24-modified") is OPS_CENTER_OSS
    for unknown in ("", "0123456789ab"):
        with pytest.raises(ConfigError, match="knows no build .* af179f13cf24 .*283233d38107"):
            build_named(unknown)


def test_the_committed_conformance_reports_hide_no_fact_behind_a_placeholder():
    import pathlib

    for path in pathlib.Path(__file__).resolve().parent.parent.glob("docs/conformance/*.md"):
        text = path.read_text()
        shown = text[:text.index("### F1")] if "### F1" in text else text
        assert not re.findall(r"\{(?:name|model|who|act|kind|credits|count|tokens)\}|\bN\b", shown), path.name
