"""Distinct findings: the scenarios that failed for one cause, grouped under it.

A cause is the broken claim and the product's answer, normalised: ids, amounts and the personas' names are
taken out, so that "Olivia's call answered 500" and "Max's call answered 500" are one finding. Where the
product failed (5xx, a dropped connection, no answer), that answer is the cause, whatever step met it.
"""

import re
from dataclasses import dataclass, field

from creditflow.evidence import PYDANTIC_LINK
from creditflow.verdicts import Verdict

ID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b|\b(?=[0-9a-f]*\d)[0-9a-f]{12,}\b",
                re.IGNORECASE)
AMOUNT = re.compile(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?(?!\w)")  # not the digits of a word (v1, a1b2)
MODEL = re.compile(r"\b(?:openai/|anthropic/)?(?:gpt|claude)-[\w.-]*[\w]")  # a model's name: one cause for any model
TYPED_FIELD = re.compile(r"\{(\w+):\w+\}")  # a step pattern's "{credits:Credits}" reads "{credits}"
QUOTED = re.compile(r"'[^']*'")  # the product's own wording of a refusal: the same cause on another endpoint
RUN_UNIQUE = re.compile(r"\b([A-Za-z]+)-[0-9a-z]{4,}-\d+\b")  # a persona's or organization's run-unique name


def normalised(text: str, names: list[str] = ()) -> str:
    text = PYDANTIC_LINK.sub("", text)
    text = TYPED_FIELD.sub(r"{\1}", text)
    text = MODEL.sub("{model}", text)
    text = ID.sub("{id}", text)
    text = RUN_UNIQUE.sub(r"\1", text)
    for name in sorted(names, key=len, reverse=True):
        text = re.sub(rf"\b{re.escape(name)}\b", "{name}", text)
    return AMOUNT.sub("N", text)


def definition_of(step, step_registry):
    """The step definition that matches the step in the run's registry (`context._runner.step_registry`), or None,
    searched as behave searches it: the step's own type first, then the steps of any type."""
    candidates = step_registry.steps[step.step_type] + step_registry.steps["step"]
    return next((definition for definition in candidates if definition.match(step.name)), None)


def pattern_of(step, step_registry) -> str:
    """The step's definition, as its pattern reads ("{name}'s call is paid ..."); its text if none matches."""
    definition = definition_of(step, step_registry)
    return definition.string if definition is not None else step.name


@dataclass(frozen=True)
class Cause:
    finding_class: str  # a Verdict's value; a 5xx met while arranging is a finding of class "failed: error"
    claim: str  # the broken claim: the step's pattern, or the product's failing request
    answer: str  # what the product answered, or the fact the step found, normalised

    @property
    def key(self) -> tuple[str, str, str]:
        """What makes two failures one finding: a refusal worded otherwise on another endpoint is the same cause,
        unless the product failed, where its answer is the cause itself."""
        if self.finding_class == Verdict.ERROR.value or self.claim.split(" ", 1)[0] in HTTP_METHODS:
            return self.finding_class, self.claim, self.answer
        return self.finding_class, self.claim, QUOTED.sub("'...'", self.answer)


def cause_of(verdict: Verdict, step_pattern: str, message: str, failure: str | None, names: list[str]) -> Cause:
    """`failure`: the first exchange in which the product failed during the scenario, as one line. Where there is
    one, it is the cause: of an error, of a Given step it stopped, and of money out of place after it."""
    if failure is not None and verdict in (Verdict.ERROR, Verdict.COULD_NOT_ARRANGE, Verdict.MONEY_OR_SECURITY):
        request, _, answer = failure.partition(" -> ")
        method_and_path = " ".join(request.split(" ", 2)[:2])
        finding_class = Verdict.ERROR if verdict is Verdict.COULD_NOT_ARRANGE else verdict
        return Cause(finding_class.value, normalised(method_and_path, names), normalised(answer, names)[:240])
    # A step's pattern already reads "{name}"; its literal figures (402 Payment Required) are the claim's own.
    return Cause(verdict.value, TYPED_FIELD.sub(r"{\1}", step_pattern), normalised(message, names)[:240])


@dataclass
class Finding:
    number: int
    cause: Cause
    claim_cited: str
    scenarios: list[str] = field(default_factory=list)
    evidence: str = ""
    example: str = ""  # one scenario's failure, as reported

    @property
    def finding_class(self) -> str:
        return self.cause.finding_class


def group(results) -> list[Finding]:
    """One finding per cause, the most widespread first; each cites its first scenario's evidence."""
    by_cause: dict[tuple, Finding] = {}
    for result in results:
        if not result.cause or result.verdict == Verdict.NOT_APPLICABLE:
            continue  # a feature the deployment declares it lacks is listed apart, with its reason
        cause = Cause(**result.cause)
        finding = by_cause.setdefault(cause.key, Finding(0, cause, result.claim, evidence=result.evidence,
                                                         example=result.message))
        finding.scenarios.append(result.name)
    ordered = sorted(by_cause.values(), key=lambda f: (CLASS_ORDER.index(f.finding_class), -len(f.scenarios)))
    for number, finding in enumerate(ordered, 1):
        finding.number = number
    return ordered


CLASS_ORDER = [verdict.value for verdict in Verdict]
HTTP_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}
