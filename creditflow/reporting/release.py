"""What changed between two versions of a product, as its team reads it after a release: findings fixed, findings
new, verdicts that changed class, and for each the change in the product's source that explains it, where the
finding's diagnosis cites lines that differ between the two checkouts."""

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

from creditflow.judging.expectations import diagnoses_for
from creditflow.judging.findings import Cause, group
from creditflow.reporting.guide_reports import ScenarioResult
from creditflow.verdicts import Verdict
from creditflow.wording import counted

# "backend/org_billing_api.py:562-563, 596-598" or "org_api.py:97-100": a file of the product and its lines.
CITED = re.compile(r"(?:backend/)?([\w/]+\.py):(\d+(?:-\d+)?(?:, \d+(?:-\d+)?)*)")


@dataclass(frozen=True)
class Met:
    """A cause as one run met it."""

    finding_class: str
    diagnosis: str
    scenarios: list[str]
    said: str  # the claim and what the product did, as the report states them

    def line(self) -> str:
        return f"{self.finding_class}: {self.said} ({counted(len(self.scenarios), 'scenario')})"


def findings_of(run: dict, root: Path) -> dict[tuple, Met]:
    """Each cause of a run, by what makes two failures one cause."""
    known = diagnoses_for(run["deployment"], run["version"], root)
    return {Cause(**claimed.first.cause).key: Met(finding.finding_class, finding.diagnosis, claimed.scenarios,
                                                  f"{claimed.claim}: {claimed.answer}")
            for finding in group(map(ScenarioResult.of_verdict, run["scenarios"]), known) for claimed in finding.claims}


def cited_lines(diagnosis: str) -> dict[str, set[int]]:
    """The product's files a diagnosis cites, with the lines it names."""
    cited: dict[str, set[int]] = {}
    for path, spans in CITED.findall(diagnosis):
        for span in spans.split(", "):
            first, _, last = span.partition("-")
            cited.setdefault(path, set()).update(range(int(first), int(last or first) + 1))
    return cited


def source_change(diagnosis: str, before: Path, after: Path) -> str:
    """Where the lines a diagnosis cites in the first checkout changed in the second: "org_api.py:97-100 changed
    (now 97-103)", "the cited lines are the same in both", or "" where it cites none."""
    notes = []
    for path, lines in cited_lines(diagnosis).items():
        old, new = (root / "backend" / path for root in (before, after))
        if not old.exists():
            continue
        if not new.exists():
            notes.append(f"{path} is gone")
            continue
        texts = [path.read_text(errors="replace").splitlines() for path in (old, new)]
        changed = [(a1 + 1, a2, b1 + 1, b2) for tag, a1, a2, b1, b2 in
                   difflib.SequenceMatcher(None, *texts, autojunk=False).get_opcodes()
                   if tag != "equal" and lines & set(range(a1 + 1, max(a2, a1 + 1) + 1))]
        notes += [f"{path}:{lines_of(a1, a2)} changed ("
                  + (f"now {path}:{lines_of(b1, b2)}" if b2 >= b1 else "removed") + ")" for a1, a2, b1, b2 in changed]
        if not changed:
            notes.append(f"{path}: the cited lines are the same in both")
    return "; ".join(notes)


def explained(diagnosis: str, sources: tuple[Path, Path] | None) -> str:
    """The source change behind a finding's diagnosis (cited in the first checkout of `sources`), as a line."""
    found = source_change(diagnosis, *sources) if sources and diagnosis else ""
    return f"\n    source: {found}" if found else ""


def lines_of(first: int, last: int) -> str:
    return str(first) if first >= last else f"{first}-{last}"


def what_changed(before: dict, after: dict, root: Path, sources: tuple[Path, Path] | None = None) -> list[str]:
    """Findings fixed and new, and causes that changed class, between two runs of the same suite."""
    old, new = findings_of(before, root), findings_of(after, root)
    verdicts = {s["scenario"]: s["verdict"] for s in after["scenarios"]}
    lines = []

    for key, met in old.items():
        if key in new:
            if new[key].finding_class != met.finding_class:
                lines.append(f"~ {met.finding_class} -> {new[key].line()}" + explained(met.diagnosis, sources))
            continue
        now = sorted({verdicts.get(name, "not run") for name in met.scenarios})
        gone = "fixed" if now == [Verdict.PASSED] else f"gone (its scenarios now: {', '.join(now)})"
        lines.append(f"{gone}: {met.line()}" + explained(met.diagnosis, sources))
    for key, met in new.items():
        if key not in old:
            lines.append(f"new: {met.line()}" + explained(met.diagnosis, sources[::-1] if sources else None))
    return lines
