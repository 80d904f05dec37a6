"""The guide's three report files: the text report, the performance metrics and the error log."""

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from creditflow.flows import FLOWS, OTHER
from creditflow.judging.findings import group
from creditflow.redaction import Redactor
from creditflow.rules.money import Conservation
from creditflow.verdicts import MARKS, Verdict
from creditflow.wording import counted, number

RULE = "=" * 80
LINE = "-" * 80


@dataclass(frozen=True)
class ScenarioResult:
    flow: str
    feature: str
    name: str
    status: str  # passed, failed, skipped, untested
    message: str = ""
    facts: tuple[str, ...] = ()  # the outcomes the scenario verified (its passed Then steps)
    # What the scenario's cleanup could not undo; filled in after the verdict, as the cleanups run.
    cleanup_failures: list[str] = field(default_factory=list)
    rule: str = ""
    verdict: str = "passed"  # a Verdict's value (creditflow/verdicts.py)
    claim: str = ""  # where the claim of the failed step comes from: the guide's or contract's section, an invariant
    cause: dict | None = None  # of a failure: its normalised cause (findings.Cause's fields), for grouping
    evidence: str = ""  # of a failure: one exchange with the product, redacted

    @classmethod
    def of_verdict(cls, entry: dict) -> "ScenarioResult":
        """A scenario as a conformance report's JSON records it (its flow and facts are not kept there)."""
        status = "passed" if entry["verdict"] == Verdict.PASSED else "failed"
        return cls("", entry["feature"], entry["scenario"], status, entry.get("message", ""),
                   rule=entry.get("rule", ""), verdict=entry["verdict"], claim=entry.get("claim", ""),
                   cause=entry.get("cause"), evidence=entry.get("evidence", ""))


def text_report(results: list[ScenarioResult], header: dict[str, str], money: Conservation | None = None) -> str:
    lines = [RULE, "CREDIT FLOW E2E TEST REPORT", RULE, ""]
    lines += [f"{key}: {value}" for key, value in header.items()]
    lines += ["", "SUMMARY", LINE]
    flows = [title for title in [*(flow.title for flow in FLOWS), OTHER] if any(r.flow == title for r in results)]
    for flow in flows:
        mine = [r for r in results if r.flow == flow]
        failed = [r for r in mine if r.status != "passed"]
        mark, verdict = ("✗", "FAILED") if failed else ("✓", "PASSED")
        lines.append(f"{mark} {flow}: {verdict} ({len(mine) - len(failed)} of {len(mine)} scenarios passed)")
    for flow in flows:
        lines += ["", RULE, flow.upper(), RULE]
        rule = None
        for result in (r for r in results if r.flow == flow):
            if result.rule != rule:
                rule = result.rule
                lines.append(f"  Rule: {rule or '(none)'}")
            mark = "✓" if result.status == "passed" else "✗"
            lines.append(f"   {mark} {result.name}: {result.status.upper()}")
            lines += [f"       ✓ {fact}" for fact in result.facts]
            if result.message:
                lines += [f"       {line}" for line in result.message.splitlines()[:6]]
            lines += [f"       cleanup: {failure}" for failure in result.cleanup_failures]
    if money is not None:
        lines += ["", RULE, "MONEY CONSERVATION (after the last scenario)", RULE,
                  f"{'✓' if money.holds else '✗'} {money.summary()}"]
        lines += [f"   ✗ {problem}" for problem in money.problems]
    passed = sum(r.status == "passed" for r in results)
    lines += ["", LINE, f"{passed} passed, {len(results) - passed} failed", ""]
    return "\n".join(lines)


def error_log(results: list[ScenarioResult], money: Conservation | None = None) -> str | None:
    """Every failed scenario with its fact, every cleanup that failed beside its scenario's verdict, and every
    account whose money was not conserved over the run."""
    troubled = [r for r in results if r.status != "passed" or r.cleanup_failures]
    broken_money = money is not None and not money.holds
    if not troubled and not broken_money:
        return None
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    entries = []
    if broken_money:
        entries = [f"[{stamp}] {money.summary()}"] + [f"[{stamp}] money conservation: {problem}"
                                                        for problem in money.problems]
    for r in troubled:
        entries.append(f"[{stamp}] {r.flow} / {r.feature} / {r.name}: {r.status.upper()}")
        if r.message:
            entries.append(f"    {r.message}")
        entries += [f"    cleanup: {failure}" for failure in r.cleanup_failures]
    return "\n".join(entries) + "\n"


def write_reports(results: list[ScenarioResult], metrics: dict, header: dict[str, str], report_path: str,
                  performance_path: str, error_log_path: str, redactor: Redactor,
                  money: Conservation | None = None, results_path: str | None = None) -> list[str]:
    written = [report_path, performance_path]
    if results_path:
        Path(results_path).parent.mkdir(parents=True, exist_ok=True)
        verdicts = [{"flow": r.flow, "feature": r.feature, "rule": r.rule, "scenario": r.name, "status": r.status,
                     "verdict": r.verdict, "message": r.message} for r in results]
        Path(results_path).write_text(redactor.text(json.dumps({"run": header, "scenarios": verdicts,
                                                                 "money_conserved": money.holds if money else None},
                                                                indent=1)))
        written.append(results_path)
    Path(report_path).write_text(redactor.text(text_report(results, header, money)))
    Path(performance_path).write_text(json.dumps({"run": header, "operations": metrics}, indent=2))
    errors = error_log(results, money)
    if errors is None:
        Path(error_log_path).unlink(missing_ok=True)
    else:
        Path(error_log_path).write_text(redactor.text(errors))
        written.append(error_log_path)
    return written


def conformance_report(results: list[ScenarioResult], title: str, header: dict[str, str], reproduce: str,
                       how_run: list[str] = (), diagnoses: dict[str, str] | None = None, deployed=()) -> str:
    """A deployment at one version: its distinct findings first (`deployed`: the `DeployedFinding`s read from the
    product's own deployment files, after the run's), how the product was run, then every Rule and scenario with
    its verdict. A failed scenario's title is its claim, never stated as a fact."""
    counts = {verdict: sum(r.verdict == verdict for r in results) for verdict in Verdict}
    summary = "; ".join(f"{number(count)} {verdict}" for verdict, count in counts.items() if count)
    lines = [f"# Conformance: {title}", "", f"**{number(len(results))} scenarios: {summary}**", ""]
    lines += [f"- {key}: {value}" for key, value in header.items()]
    lines += ["", "Verdicts: " + ", ".join(f"{MARKS[verdict]} {verdict}" for verdict in Verdict) + ".",
              "A claim comes from the testing guide, from creditflow's contract (docs/contract.md, rules the guide "
              "does not make), or from an invariant of money or tenancy. *Could not arrange*: a Given step the product "
              "refused or cannot express, so the rule in the title was not tested.", ""]
    findings = group(results, diagnoses)
    if findings or deployed:
        met = f"Findings: {counted(len(findings), 'cause')} met by the scenarios" + (
            f". {causes_per_class(findings)}." if findings else ".")
        lines += [met + (f" And {counted(len(deployed), 'cause')} in the product's own deployment files, which the "
                         "sandbox does not run it as." if deployed else ""), ""]
    lines += findings_table(findings, reproduce, deployed)
    declared = [r for r in results if r.verdict == Verdict.NOT_APPLICABLE]
    if declared:
        lines += ["## Features the deployment declares it lacks", "",
                  "Not run: the deployment names the feature, why it is missing and where that is seen.", ""]
        lines += [f"- {r.name}: {r.message.removeprefix('not applicable here: ')}" for r in declared] + [""]
    if how_run:
        lines += ["## How the product was run", "", *how_run, ""]
    lines += ["## Every Rule and scenario", ""]
    for feature in dict.fromkeys(r.feature for r in results):
        lines += [f"### {feature}", ""]
        mine = [r for r in results if r.feature == feature]
        for rule in dict.fromkeys(r.rule for r in mine):
            lines += [f"#### {rule or '(no rule)'}", ""]
            for result in (r for r in mine if r.rule == rule):
                lines.append(f"- {MARKS[Verdict(result.verdict)]} " + (
                    f"**{result.name}**" if result.verdict == Verdict.PASSED
                    else f"{result.verdict}: the claim \"{result.name}\""))
                if result.message:
                    lines.append(f"  - {result.message}")
                lines += [f"  - after it: {note}" for note in result.cleanup_failures]
            lines.append("")
    return "\n".join(lines)


def findings_table(findings, reproduce: str, deployed=()) -> list[str]:
    """One row per cause, each with the values its first scenario met, and a section per cause below; then the
    causes read from the product's deployment files."""
    if not findings and not deployed:
        return ["## Findings", "", "None: every scenario passed.", ""]
    lines = ["## Findings", "", "One row per cause the scenarios met, the gravest first: the claim as its first "
             "scenario stated it, what the product did there, and a value that differs between the row's scenarios as "
             "its range; then the causes found in the product's own deployment files.", "",
             "| # | Class | Broken claim | What the product did | Scenarios |", "|---|---|---|---|---|"]
    for finding in findings:
        first, *others = finding.claims
        claim = cell(first.claim) + (f" ({cell(first.cited)})" if first.cited else "")
        if others:
            claim += f"; and {counted(len(others), 'other claim')} of the same cause"
        lines.append(f"| F{finding.number} | {finding.finding_class} | {claim} | {cell(first.answer)} | "
                     f"{number(len(finding.scenarios))} |")
    first_deployed = len(findings) + 1
    for index, found in enumerate(deployed, first_deployed):
        lines.append(f"| F{index} | {found.finding_class} | {cell(found.claim)} | as deployed: "
                     f"{cell(found.as_deployed)} | none: its deployment files |")
    lines.append("")
    for finding in findings:
        lines += [f'<a id="f{finding.number}"></a>', "", f"### F{finding.number}: {finding.finding_class}", ""]
        if finding.diagnosis:
            lines += [f"- Diagnosis: {finding.diagnosis}"]
        for claimed in finding.claims:
            lines += [f"- Claim: {claimed.claim}" + (f" ({claimed.cited})" if claimed.cited else "")
                      + (f" [{claimed.cause.finding_class}]" if len(finding.claims) > 1 else ""),
                      f"  - What the product did: {claimed.answer}",
                      f"  - Scenarios ({number(len(claimed.scenarios))}): " + "; ".join(claimed.scenarios)]
        if finding.example:
            lines.append(f"- As reported: {finding.example}")
        if finding.evidence:
            lines.append(f"- Evidence: `{code(finding.evidence)}`")
        lines += [f"- Reproduce alone: `{reproduce.replace('{name}', name_pattern(finding.scenarios[0]))}`", ""]
    for index, found in enumerate(deployed, first_deployed):
        lines += [f'<a id="f{index}"></a>', "", f"### F{index}: {found.finding_class}, as the product's deployment "
                  "files run it", "", f"- Claim: {found.claim}", f"- As deployed: {found.as_deployed}",
                  f"- Why: {found.why}", f"- No scenario meets it: {found.unmet}", ""]
    return lines


def causes_per_class(findings) -> str:
    """ "6 causes in 13 scenarios failed: money or security; ..." for the top of the report."""
    classes = dict.fromkeys(finding.finding_class for finding in findings)
    return "; ".join(
        f"{finding_class}: {counted(sum(f.finding_class == finding_class for f in findings), 'cause')} in "
        f"{counted(sum(len(f.scenarios) for f in findings if f.finding_class == finding_class), 'scenario')}"
        for finding_class in classes)


def name_pattern(name: str) -> str:
    """behave's -n takes a regular expression: the scenario's exact name, quoted for the shell's double quotes."""
    escaped = re.sub(r"([.^$*+?{}\[\]\\|()])", r"\\\1", name)
    return "^" + escaped.replace('"', '\\"').replace("$", "\\$").replace("`", "\\`") + "$"


def code(text: str) -> str:
    return text.replace("`", "'")


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
