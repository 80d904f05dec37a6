"""The results matrix, as the Web Platform Tests' dashboard shows one: a row per Rule and scenario, a column per
implementation (the reference, each version of the product), each cell the verdict's symbol linked to its finding,
counts per column, and the Rules where the versions of the product disagree first. Made from the committed JSON
reports alone (`docs/conformance/<deployment>-<version>.json`), so a report changed by hand changes the matrix.
"""

import html
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from creditflow.judging.expectations import diagnoses_for
from creditflow.judging.findings import group
from creditflow.reporting.guide_reports import ScenarioResult
from creditflow.verdicts import MARKS, Verdict

REFERENCE = "contract"  # the deployment whose column is the reference's


@dataclass
class Column:
    """One implementation at one version: its report, and each scenario's verdict and finding."""

    deployment: str
    version: str
    date: str
    report: str  # the Markdown report's file name, beside the JSON
    verdicts: dict[str, str]  # by scenario
    findings: dict[str, int]  # the number of the finding each failed scenario belongs to
    order: list[tuple[str, str, str]]  # (feature, rule, scenario) in the run's order

    @property
    def title(self) -> str:
        return "the reference" if self.deployment == REFERENCE else f"{self.deployment} {self.version}"

    @property
    def is_reference(self) -> bool:
        return self.deployment == REFERENCE


def column(report: Path, root: Path) -> Column:
    run = json.loads(report.read_text())
    scenarios = run["scenarios"]
    known = diagnoses_for(run["deployment"], run["version"], root)
    findings = {name: finding.number for finding in group(map(ScenarioResult.of_verdict, scenarios), known)
                for name in finding.scenarios}
    return Column(run["deployment"], run["version"], run.get("run", {}).get("Date", ""),
                  report.with_suffix(".md").name, {s["scenario"]: s["verdict"] for s in scenarios}, findings,
                  [(s["feature"], s.get("rule", ""), s["scenario"]) for s in scenarios])


def columns(reports: list[Path], root: Path) -> list[Column]:
    """The reference first, then the product's versions by the date of their runs."""
    found = [column(report, root) for report in reports]
    return sorted(found, key=lambda c: (not c.is_reference, c.deployment, c.date, c.version))


def rows(found: list[Column]) -> list[tuple[str, str, str]]:
    """Every scenario any column ran, in the features' order as the first column ran them."""
    seen: dict[str, tuple[str, str, str]] = {}
    for each in found:
        for feature, rule, scenario in each.order:
            seen.setdefault(scenario, (feature, rule, scenario))
    return list(seen.values())


def disagreeing(found: list[Column], scenario: str) -> bool:
    """The product's versions gave the scenario different verdicts."""
    return len({each.verdicts.get(scenario) for each in found if not each.is_reference}) > 1


def cell(each: Column, scenario: str, link=lambda target, text: f"[{text}]({target})") -> str:
    verdict = each.verdicts.get(scenario)
    if verdict is None:
        return "not run"
    mark = MARKS[Verdict(verdict)]
    number = each.findings.get(scenario)
    return link(f"{each.report}#f{number}", mark) if number else mark


def counts(each: Column) -> str:
    tally = Counter(each.verdicts.values())
    return "; ".join(f"{tally[verdict]} {MARKS[verdict]}" for verdict in Verdict if tally[verdict])


def markdown(found: list[Column]) -> str:
    table_head = ["| Rule | Scenario | " + " | ".join(each.title for each in found) + " |",
                  "|---|---|" + "---|" * len(found)]
    every = rows(found)
    versions = [each for each in found if not each.is_reference]
    split = [row for row in every if disagreeing(found, row[2])]
    lines = ["# Results matrix", "",
             "One row per Rule and scenario, a column per implementation; each cell is the verdict's symbol, linked to "
             "the finding it belongs to in that implementation's report. Made by `make matrix` from the JSON reports "
             "in this folder alone.", "",
             "Verdicts: " + ", ".join(f"{MARKS[verdict]} {verdict}" for verdict in Verdict) + ".", "",
             "| Implementation | Scenarios | Verdicts |", "|---|---|---|"]
    lines += [f"| [{each.title}]({each.report}) | {len(each.verdicts)} | {counts(each)} |" for each in found]
    lines += ["", "## Where the product's versions disagree", ""]
    if len(versions) < 2:
        lines += ["One version of the product has a report: nothing to compare yet.", ""]
    elif not split:
        lines += ["Nowhere: every scenario has the same verdict on every version.", ""]
    else:
        lines += [*table_head, *(row_line(found, row) for row in split), ""]
    lines += ["## Every Rule and scenario", "", *table_head, *(row_line(found, row) for row in every), ""]
    return "\n".join(lines)


def row_line(found: list[Column], row: tuple[str, str, str]) -> str:
    _, rule, scenario = row
    return f"| {escaped(rule)} | {escaped(scenario)} | " + " | ".join(cell(each, scenario) for each in found) + " |"


def escaped(text: str) -> str:
    return text.replace("|", "\\|")


def page(found: list[Column], report_dir: str) -> str:
    """The same matrix as one HTML page, each cell linked to the report it comes from."""

    def link(target: str, text: str) -> str:
        return f'<a href="{html.escape(report_dir + "/" + target)}">{html.escape(text)}</a>'

    head = "".join(f"<th>{link(each.report, each.title)}<br><small>{html.escape(counts(each))}</small></th>"
                   for each in found)
    body = "".join(
        f"<tr{' class=split' if disagreeing(found, scenario) else ''}><td>{html.escape(rule)}</td>"
        f"<td>{html.escape(scenario)}</td>"
        + "".join(f"<td>{cell(each, scenario, link)}</td>" for each in found) + "</tr>"
        for _, rule, scenario in rows(found))
    return ("<!doctype html><meta charset=utf-8><title>creditflow: results matrix</title><style>"
            "body{font:14px sans-serif}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}"
            "tr.split{background:#fff3cd}</style><h1>Results matrix</h1>"
            "<p>Rows where the product's versions disagree are highlighted.</p>"
            f"<table><tr><th>Rule</th><th>Scenario</th>{head}</tr>{body}</table>")
