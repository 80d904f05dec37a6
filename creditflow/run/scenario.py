"""One scenario as behave runs it: its scene, whether it applies to the deployment, the verdict of its first failure,
the books checked after its last step, and its result. behave's hooks call it; it decides nothing from text."""

import time
from collections.abc import Callable

import allure
from allure_commons.types import AttachmentType, LinkType
from behave.model_core import Status

from creditflow.deployments.declarations import Capability
from creditflow.flows import flow_tagged, title_of
from creditflow.judging.invariants import violations
from creditflow.judging.judge import BOOKS, judge, label_for_allure, outcome_of, rule_of
from creditflow.reporting.guide_reports import ScenarioResult
from creditflow.run.composition import Run
from creditflow.screenplay.scene import Undo
from creditflow.verdicts import CONTRACT_DOC, InvariantBroken, NotApplicable, Outcome, Unasked, claim_of, decide

UNASKED = "no request to Ops-Center stands behind this scenario's verdict: the suite decided it alone"


class ScenarioRun:
    def __init__(self, run: Run, scenario, add_cleanup: Callable[[str, Undo], None]):
        services = run.services
        self.run, self.scenario = run, scenario
        self.stage = run.scene(add_cleanup)
        self.outcome: Outcome | None = None
        self.books_problems: list[str] = []
        self.started = time.monotonic()
        self.unanswered_before = services.deployment.unanswered
        self.steps = list(scenario.all_steps)
        tags = set(scenario.effective_tags)
        self.claim = claim_of(tags)
        services.evidence.begin_scenario()
        label_in_allure(scenario, tags)

    async def begin(self) -> None:
        """Notes where the ledger stands, so that the books after the scenario take in every charge it caused."""
        if self.run.services.deployment.has(Capability.LEDGER):
            self.stage.ledger_mark = await self.run.services.deployment.ledger.mark()

    def lacking(self) -> str | None:
        """Why the deployment cannot run the scenario (the features it needs that its product lacks), or None."""
        lacks = self.run.services.deployment.lacks
        needed = sorted(tag.removeprefix("needs.") for tag in self.scenario.effective_tags if tag.startswith("needs."))
        lacking = "; ".join(lacks[feature] for feature in needed if feature in lacks)
        if lacking:
            self.outcome = Outcome("given", NotApplicable(lacking), self.claim, False)
        return lacking or None

    async def after_step(self, step, step_registry) -> list[str]:
        """Evidence goes to the step that made it; after the scenario's last executed step, the books are checked,
        and a step that passed over books out of place fails with them. Returns what the books show amiss."""
        evidence = self.run.services.evidence
        last_step = step.status.name != "passed" or step is self.steps[-1]
        problems = await violations(self.stage) if last_step else []
        if problems:
            self.books_problems = problems
            if step.status.name == "passed":
                message = BOOKS + "; ".join(problems)
                step.status, step.exception, step.error_message = Status.failed, InvariantBroken(message), message
        if last_step and evidence.last_exchange is None and step.status.name in ("passed", "failed"):
            # A verdict rests on the product's answer: one reached without asking the product anything is the
            # suite's own, and fails the run.
            message = UNASKED + (f" (the step said: {step.error_message})" if step.status.name == "failed" else "")
            step.status, step.exception, step.error_message = Status.failed, Unasked(message), message
        if step.status.name in ("failed", "error") and self.outcome is None:
            self.outcome = outcome_of(step, step_registry, self.claim, evidence, problems)
            label_for_allure(step, decide(self.outcome))
        if isinstance(step.exception, NotApplicable):  # the deployment lacks what the step needs: not a failure
            step.status = Status.skipped
            lacking = str(self.outcome.error).removeprefix(f"[{decide(self.outcome)}] ")
            self.scenario.skip(reason=f"not applicable: {lacking}")
        # Allure closes the scenario with its last step's result, so evidence is attached to each step.
        if evidence.exchanges:
            allure.attach(evidence.http_log(), "HTTP exchanges", AttachmentType.TEXT)
        if evidence.ledger_rows:
            allure.attach(evidence.ledger_log(), "Ledger rows checked", AttachmentType.JSON)
        evidence.clear()
        return problems

    def restart_if_stuck(self) -> str | None:
        """Before the cleanups: a product that left requests unanswered is restarted, and the scenario says so."""
        unanswered = self.run.services.deployment.unanswered - self.unanswered_before
        restarted = self.run.restart_if_stuck(unanswered)
        if restarted:
            self.stage.cleanup_failures.append(restarted)
        return restarted

    def result(self, step_registry) -> ScenarioResult:
        """The verdict, recorded before the cleanups run; their failures join it when they happen."""
        scenario, stage, services = self.scenario, self.stage, self.run.services
        facts = tuple(step.name for step in scenario.all_steps
                      if step.step_type == "then" and step.status.name == "passed")
        rule = rule_of(scenario)
        judged = judge(scenario, self.outcome, self.books_problems, services.evidence, step_registry,
                       [*stage.cast, *stage.orgs])
        result = ScenarioResult(
            title_of(scenario.effective_tags), scenario.feature.name, scenario.name, scenario.status.name,
            services.redactor.text(judged.message), facts, cleanup_failures=stage.cleanup_failures,
            rule=rule.name if rule else "", verdict=judged.verdict.value, claim=judged.claim, cause=judged.cause,
            evidence=judged.evidence)
        self.run.results.append(result)
        return result

    def report_cleanup_failures(self, say) -> None:
        for failure in self.stage.cleanup_failures:
            say(f"    cleanup: {self.run.services.redactor.text(failure)}")

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started


def label_in_allure(scenario, tags: set[str]) -> None:
    flow = flow_tagged(tags)
    if flow:
        allure.dynamic.epic(flow.epic)
        allure.dynamic.link(f"{CONTRACT_DOC}#{flow.contract_section}", link_type=LinkType.LINK,
                            name=f"contract: {flow.contract_section}")
    rule = rule_of(scenario)
    if rule is not None:
        allure.dynamic.story(rule.name)
