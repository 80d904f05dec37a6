"""One scenario judged, from behave's model of it: the first failed step as a typed outcome, the verdict, the
fact a reader is told, and the finding it belongs to. environment.py calls these from its hooks."""

from dataclasses import dataclass

from behave.model import Rule

from creditflow.evidence import Evidence
from creditflow.judging.findings import cause_of, definition_of, pattern_of
from creditflow.screenplay.actors import ActFailed
from creditflow.verdicts import Claim, InvariantBroken, NotApplicable, Outcome, Verdict, decide

BOOKS = "after the scenario, the books show: "


def rule_of(scenario) -> Rule | None:
    rule = scenario.parent
    while rule is not None and not isinstance(rule, Rule):
        rule = getattr(rule, "parent", None)  # a generated outline scenario sits under its outline
    return rule


def outcome_of(step, step_registry, rule_claim: Claim | None, evidence: Evidence, books: list[str]) -> Outcome:
    """The first failed step, typed: its kind, what it raised, its claim (the step's own, or its Rule's where the
    act it asks about did not happen), whether the product had failed or hung by then, and whether the books were
    out of place after the scenario."""
    error = getattr(step, "exception", None)
    definition = definition_of(step, step_registry)
    own = None if isinstance(error, ActFailed) else getattr(getattr(definition, "func", None), "claim", None)
    return Outcome(step.step_type, error, own or rule_claim, evidence.first_failure is not None, bool(books),
                   evidence.hung)


def label_for_allure(step, verdict: Verdict) -> None:
    """Allure files a failure into a category by its message alone: the message is led by the verdict the suite
    decided (allure-categories.json matches it); failure_message takes it off again."""
    error = getattr(step, "exception", None)
    if error is not None and error.args and isinstance(error.args[0], str):
        error.args = (f"[{verdict}] {error.args[0]}", *error.args[1:])


def failure_message(scenario, outcome: Outcome | None) -> str:
    if outcome is not None and isinstance(outcome.error, NotApplicable):
        return f"not applicable here: {str(outcome.error).removeprefix(f'[{decide(outcome)}] ')}"
    if outcome is not None and isinstance(outcome.error, InvariantBroken):
        books = str(outcome.error).removeprefix(f"[{decide(outcome)}] ")
        return books[0].upper() + books[1:]
    for step in scenario.all_steps:
        if step.status.name in ("failed", "error"):
            error = str(getattr(step, "exception", "") or step.error_message or "").strip()
            error = error.removeprefix(f"[{decide(outcome)}] ") if outcome is not None else error
            return f"{step.keyword} {step.name}: {error.splitlines()[-1] if error else step.status.name}"
    return ""


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    message: str  # the fact a reader is told (not yet redacted)
    claim: str  # where the failed claim comes from
    cause: dict | None  # findings.Cause's fields
    evidence: str  # one exchange with the product, redacted


def judge(scenario, outcome: Outcome | None, books: list[str], evidence: Evidence, step_registry,
          names: list[str]) -> Judgement:
    """`books`: what the books showed out of place after the scenario; `names`: the scenario's personas and
    organizations, taken out of the finding's cause."""
    status = scenario.status.name
    verdict = Verdict.PASSED if status == "passed" else decide(outcome)
    if verdict is Verdict.PASSED and status != "passed":
        verdict = Verdict.SUITE_DEFECT  # failed, yet no step says why
    message = failure_message(scenario, outcome)
    if books and not (outcome and isinstance(outcome.error, InvariantBroken)):
        message += "; and " + BOOKS + "; ".join(books)
    claim = outcome.claim.cites() if outcome and outcome.claim else ""
    if verdict is Verdict.PASSED:
        return Judgement(verdict, message, claim, None, "")
    failed = next((step for step in scenario.all_steps if step.status.name in ("failed", "error")), None)
    pattern = pattern_of(failed, step_registry) if failed is not None else "after the scenario"
    step_text = failed.name if failed is not None else pattern
    if outcome is not None and isinstance(outcome.error, InvariantBroken):
        pattern = step_text = "after the scenario, the books hold"
    failure = evidence.one_line(evidence.first_failure) if evidence.first_failure else None
    cause = cause_of(verdict, pattern, message.split(": ", 1)[-1], failure, names, step_text)
    cited = evidence.first_failure or evidence.last_refusal or evidence.last_exchange
    return Judgement(verdict, message, claim, vars(cause), evidence.one_line(cited) if cited else "")
