"""A deployment's known results, and what a run did that they did not foresee.

An entry: `verdict`; for a failure, `reason` (the run's own cause, or what a reader wrote) and, where a reader
found the cause in the product's code, `diagnosis` (shown in the conformance report beside the finding).

As the Web Platform Tests keep an expectation file per implementation, `docs/conformance/expectations/
<deployment>.json` records each scenario's verdict on that deployment, every failure with its reason. A run
compared with it lists the unexpected results: a new failure, a failure of another class, and an unexpected
pass (a defect fixed, or a check that stopped biting). The product's own CI can gate on that list.
"""

import json
from dataclasses import dataclass
from pathlib import Path

from creditflow.verdicts import Verdict

EXPECTATIONS_DIR = Path("docs/conformance/expectations")


class ExpectationsError(ValueError):
    """The file is not what `record` writes; the message says which entry and why."""


@dataclass(frozen=True)
class Unexpected:
    scenario: str
    expected: str
    got: str
    detail: str

    def describe(self) -> str:
        if self.got == Verdict.PASSED:
            return f"UNEXPECTED PASS: {self.scenario} (expected {self.expected}: {self.detail})"
        return f"UNEXPECTED {self.got.upper()}: {self.scenario} (expected {self.expected}): {self.detail}"


MODIFIED = "-modified"  # a checkout whose code differs from its commit: judged by that commit's expectations


def path_for(deployment: str, version: str, root: Path) -> Path:
    """`<deployment>-<version>.json`: each version of a product is gated by its own expectations; a modified copy
    of a commit by that commit's, so that what the change fixed or broke is listed as unexpected."""
    return root / EXPECTATIONS_DIR / f"{deployment}-{version.removesuffix(MODIFIED)}.json"


def load(path: Path) -> dict[str, dict]:
    try:
        expected = json.loads(path.read_text())
    except FileNotFoundError:
        raise ExpectationsError(f"{path} does not exist: record one with `make conformance EXPECT=update`") from None
    except ValueError as error:
        raise ExpectationsError(f"{path} is not JSON: {error}") from None
    verdicts = {verdict.value for verdict in Verdict}
    for scenario, entry in expected.get("scenarios", {}).items():
        if entry.get("verdict") not in verdicts:
            raise ExpectationsError(f"{path}: '{scenario}' expects {entry.get('verdict')!r}, which is no verdict; "
                                    f"known: {', '.join(sorted(verdicts))}")
        if entry["verdict"] != Verdict.PASSED and not entry.get("reason"):
            raise ExpectationsError(f"{path}: '{scenario}' expects {entry['verdict']} without a reason")
    return expected.get("scenarios", {})


def compare(expected: dict[str, dict], results: list[dict]) -> list[Unexpected]:
    """`results`: the scenarios of a conformance run (its JSON). A scenario the file does not know is expected
    to pass; a suite defect is always unexpected."""
    unexpected = []
    for result in results:
        entry = expected.get(result["scenario"], {"verdict": Verdict.PASSED, "reason": ""})
        if result["verdict"] != entry["verdict"] or result["verdict"] == Verdict.SUITE_DEFECT:
            detail = (entry.get("reason") if result["verdict"] == Verdict.PASSED else result.get("message")) or ""
            unexpected.append(Unexpected(result["scenario"], entry["verdict"], result["verdict"], detail))
    return unexpected


def record(results: list[dict], previous: dict[str, dict], deployment: str, version: str) -> dict:
    """Expectations from a run: each scenario's verdict; a failure's reason is kept from the previous file where
    the verdict is unchanged (a reader may have written it), else taken from the run's cause."""
    scenarios = {}
    for result in results:
        before = previous.get(result["scenario"], {})
        entry = {"verdict": result["verdict"]}
        if result["verdict"] != Verdict.PASSED:
            unchanged = before.get("verdict") == result["verdict"]
            entry["reason"] = (before.get("reason") if unchanged else None) or reason_of(result)
            if unchanged and before.get("diagnosis"):
                entry["diagnosis"] = before["diagnosis"]
        scenarios[result["scenario"]] = entry
    return {"deployment": deployment, "recorded_at_version": version, "scenarios": scenarios}


def diagnoses(expected: dict[str, dict]) -> dict[str, str]:
    """What a reader found to be the cause of a failure (an entry's `diagnosis`, with the product's file and
    line), by scenario: the conformance report shows it beside the finding."""
    return {scenario: entry["diagnosis"] for scenario, entry in expected.items() if entry.get("diagnosis")}


def diagnoses_for(deployment: str, version: str, root: Path) -> dict[str, str]:
    """The diagnoses a reader wrote in that deployment's expectations at that version, by scenario ({}: none yet)."""
    expected = path_for(deployment, version, root)
    return diagnoses(load(expected)) if expected.exists() else {}


def reason_of(result: dict) -> str:
    cause = result.get("cause") or {}
    if cause:
        return f"{cause['claim']}: {cause['answer']}"
    return result.get("message", "")


def changes(before: list[dict], after: list[dict]) -> list[str]:
    """What changed between two conformance runs (two commits of a product): verdicts gained, lost or changed."""
    old = {r["scenario"]: r for r in before}
    new = {r["scenario"]: r for r in after}
    lines = []
    for name in [*new, *(n for n in old if n not in new)]:
        was, now = old.get(name), new.get(name)
        if was is None:
            lines.append(f"+ {name}: {now['verdict']} (a new scenario)")
        elif now is None:
            lines.append(f"- {name}: was {was['verdict']}, no longer run")
        elif was["verdict"] != now["verdict"]:
            lines.append(f"~ {name}: {was['verdict']} -> {now['verdict']}"
                         + (f" ({now['message']})" if now.get("message") else ""))
    return lines
