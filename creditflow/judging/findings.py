"""Distinct findings: the scenarios that failed for one cause, grouped under it.

A cause is the broken claim and the product's answer, normalised: ids, amounts and the personas' names are
taken out, so that "Olivia's call answered 500" and "Max's call answered 500" are one finding. Where the
product failed (5xx, a dropped connection, no answer), that answer is the cause, whatever step met it. Causes
that a reader diagnosed alike (the same diagnosis, word for word) are one finding.

Normalising is for grouping only: a reader is shown what was said, with the values of the finding's first
scenario, and a value that differs between its scenarios given as its range ("0.0006 to 0.0036 credits").
"""

import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from creditflow.evidence import PYDANTIC_LINK
from creditflow.verdicts import Verdict

# A UUID also where a product prefixes it with a word of its own ("org_<uuid>", the word joined by an underscore).
ID = re.compile(r"(?<![0-9a-z])[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"
                r"|\b(?=[0-9a-f]*\d)[0-9a-f]{12,}\b", re.IGNORECASE)
AMOUNT = re.compile(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?(?!\w)")  # not the digits of a word (v1, a1b2)
MODEL = re.compile(r"\b(?:openai/|anthropic/)?(?:gpt|claude)-[\w.-]*[\w]")  # a model's name: one cause for any model
TYPED_FIELD = re.compile(r"\{(\w+):\w+\}")  # a step pattern's "{credits:Credits}" reads "{credits}"
QUOTED = re.compile(r"'[^']*'")  # the product's own wording of a refusal: the same cause on another endpoint
RUN_UNIQUE = re.compile(r"\b([A-Za-z]+)-[0-9a-z]{4,}-\d+\b")  # a persona's or organization's run-unique name


def said(text: str) -> str:
    """What was said, as a reader is shown it: ids and run-unique names are noise to a reader; values stay."""
    return RUN_UNIQUE.sub(lambda m: m.group(1).title(), ID.sub("{id}", PYDANTIC_LINK.sub("", text)))


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
    # The same as said in one scenario, values kept (the step as written, the product's request and answer), and
    # that scenario's personas and organizations: what a reader is shown. Not part of what makes two causes one.
    said_claim: str = field(default="", compare=False)
    said_answer: str = field(default="", compare=False)
    names: tuple[str, ...] | list[str] = field(default=(), compare=False)

    @property
    def key(self) -> tuple[str, str, str]:
        """What makes two failures one finding: a refusal worded otherwise on another endpoint is the same cause,
        unless the product failed, where its answer is the cause itself."""
        if self.finding_class == Verdict.ERROR.value or self.claim.split(" ", 1)[0] in HTTP_METHODS:
            return self.finding_class, self.claim, self.answer
        return self.finding_class, self.claim, QUOTED.sub("'...'", self.answer)


def cause_of(verdict: Verdict, step_pattern: str, message: str, failure: str | None, names: list[str],
             step_text: str = "") -> Cause:
    """`failure`: the first exchange in which the product failed during the scenario, as one line. Where there is
    one, it is the cause: of an error, of a Given step it stopped, and of money out of place after it.
    `step_text`: the failed step as written in the scenario."""
    if failure is not None and verdict in (Verdict.ERROR, Verdict.COULD_NOT_ARRANGE, Verdict.MONEY_OR_SECURITY):
        request, _, answer = failure.partition(" -> ")
        method_and_path = " ".join(request.split(" ", 2)[:2])
        finding_class = Verdict.ERROR if verdict is Verdict.COULD_NOT_ARRANGE else verdict
        return Cause(finding_class.value, normalised(method_and_path, names), normalised(answer, names)[:240],
                     said(method_and_path), shortened(said(answer)), tuple(names))
    # A step's pattern already reads "{name}"; its literal figures (402 Payment Required) are the claim's own.
    return Cause(verdict.value, TYPED_FIELD.sub(r"{\1}", step_pattern), normalised(message, names)[:240],
                 said(step_text or step_pattern), shortened(said(message)), tuple(names))


def shortened(text: str, limit: int = 400) -> str:
    """At most `limit` characters, cut at a word and marked where it is cut."""
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"


# A value a reader is shown, and which may differ between the scenarios of one finding: an amount, a model, a name.
VALUE = re.compile(rf"{MODEL.pattern}|{AMOUNT.pattern}")


def shapes(text: str, names) -> tuple[list[str], list[str]]:
    """The text's literal parts and the values between them: "Ivy paid 9" -> (["", " paid ", ""], ["Ivy", "9"])."""
    pattern = VALUE.pattern
    if names:
        pattern = "|".join(rf"\b{re.escape(name)}\b" for name in sorted(names, key=len, reverse=True)) + "|" + pattern
    literals, values, at = [], [], 0
    for match in re.finditer(pattern, text):
        literals.append(text[at:match.start()])
        values.append(match.group())
        at = match.end()
    return [*literals, text[at:]], values


def span(values: list[str]) -> str:
    """The values one slot took in a finding's scenarios: the one value, the range of amounts ("9 to 90"), or the
    names or models it took ("Ivy or Nora")."""
    distinct = list(dict.fromkeys(values))
    if len(distinct) == 1:
        return distinct[0]
    try:
        amounts = sorted(distinct, key=lambda value: Decimal(value.replace(",", "")))
        return f"{amounts[0]} to {amounts[-1]}"
    except InvalidOperation:
        shown = distinct if len(distinct) <= 3 else [*distinct[:2], f"{len(distinct) - 2} others"]
        return f"{', '.join(shown[:-1])} or {shown[-1]}"


def stated(texts: list[tuple[str, tuple[str, ...]]]) -> str:
    """`texts`: what each scenario of a finding said, with its names. The first scenario's words, each value that
    differs between the scenarios said alike given as its range."""
    (first, first_names), *_ = texts
    literals, values = shapes(first, first_names)
    alike = [found for found in (shapes(text, names) for text, names in texts) if found[0] == literals]
    return "".join(literal + (span([other[i] for _, other in alike]) if i < len(values) else "")
                   for i, literal in enumerate(literals))


@dataclass
class Claimed:
    """One broken claim of a finding and its scenarios, with what each said."""

    cause: Cause
    first: object  # the first scenario's result: its evidence and its failure, as reported
    scenarios: list[str] = field(default_factory=list)
    said: list[Cause] = field(default_factory=list)  # each scenario's cause, with what it said

    @property
    def cited(self) -> str:
        """Where the claim comes from."""
        return self.first.claim

    @property
    def claim(self) -> str:
        return stated([(cause.said_claim or cause.claim, cause.names) for cause in self.said])

    @property
    def answer(self) -> str:
        return stated([(cause.said_answer or cause.answer, cause.names) for cause in self.said])


@dataclass
class Finding:
    """A cause: one broken claim, or several that a reader diagnosed alike, and every scenario it failed."""

    number: int
    claims: list[Claimed]  # the gravest first, then the most widespread
    diagnosis: str = ""  # what a reader found the cause to be in the product's code

    @property
    def evidence(self) -> str:
        return self.claims[0].first.evidence

    @property
    def example(self) -> str:
        """The first scenario's failure, as reported."""
        return self.claims[0].first.message

    @property
    def finding_class(self) -> str:
        """The gravest class among its claims' (money or security before an error, and so on)."""
        return min((claimed.cause.finding_class for claimed in self.claims), key=CLASS_ORDER.index)

    @property
    def scenarios(self) -> list[str]:
        return [name for claimed in self.claims for name in claimed.scenarios]


def group(results, diagnoses: dict[str, str] | None = None) -> list[Finding]:
    """One finding per cause, the gravest class first, then the most widespread; each cites its first scenario's
    evidence. `diagnoses` (by scenario): causes a reader diagnosed alike are one finding."""
    by_cause: dict[tuple, Claimed] = {}
    for result in results:
        if not result.cause or result.verdict == Verdict.NOT_APPLICABLE:
            continue  # a feature the deployment declares it lacks is listed apart, with its reason
        cause = Cause(**result.cause)
        claimed = by_cause.setdefault(cause.key, Claimed(cause, result))
        claimed.scenarios.append(result.name)
        claimed.said.append(cause)
    diagnoses = diagnoses or {}
    findings: dict[object, Finding] = {}
    for key, claimed in by_cause.items():
        diagnosis = diagnosis_of(claimed.scenarios, diagnoses)
        findings.setdefault(diagnosis or key, Finding(0, [], diagnosis)).claims.append(claimed)
    ordered = sorted(findings.values(), key=lambda f: (CLASS_ORDER.index(f.finding_class), -len(f.scenarios)))
    for number, finding in enumerate(ordered, 1):
        finding.number = number
        finding.claims.sort(key=lambda c: (CLASS_ORDER.index(c.cause.finding_class), -len(c.scenarios)))
    return ordered


def diagnosis_of(scenarios: list[str], diagnoses: dict[str, str]) -> str:
    """The diagnosis most of the scenarios carry (a scenario whose verdict just changed may still carry its old
    one), or "" where none does."""
    found = Counter(diagnoses[name] for name in scenarios if name in diagnoses)
    return found.most_common(1)[0][0] if found else ""


CLASS_ORDER = [verdict.value for verdict in Verdict]
HTTP_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}
