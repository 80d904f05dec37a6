"""The results matrix is made from the JSON reports alone: a verdict changed in a copy of a report changes the
matrix, the list of scenarios where the product's versions disagree, and what `compare` says changed."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

from creditflow.judging.expectations import changes
from creditflow.reporting.matrix import columns, markdown, page

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "docs" / "conformance" / "ops-center-oss-af179f13cf24.json"
PASSED_THERE = "Bea's call goes to OpenRouter with her own key and costs nothing"


def copy_as_another_version(tmp_path: Path, version: str, verdict: str) -> Path:
    """The committed report as if another version of the product had given one scenario another verdict."""
    run = json.loads(COMMITTED.read_text())
    run["version"] = version
    run["run"]["Date"] = "2099-01-01"  # a later run: its column comes after the committed one's
    for scenario in run["scenarios"]:
        if scenario["scenario"] == PASSED_THERE:
            scenario["verdict"] = verdict
    copy = tmp_path / f"ops-center-oss-{version}.json"
    copy.write_text(json.dumps(run))
    return copy


def test_a_verdict_changed_in_a_copy_of_a_report_changes_the_matrix_and_what_changed(tmp_path):
    shutil.copy(COMMITTED, tmp_path / COMMITTED.name)
    other = copy_as_another_version(tmp_path, "0000000later", "failed: money or security")
    found = columns([tmp_path / COMMITTED.name, other], ROOT)
    matrix = markdown(found)
    disagree = matrix[matrix.index("## Where the product's versions disagree"):matrix.index("## Every Rule")]
    assert PASSED_THERE in disagree and disagree.count("\n| ") == 2, disagree  # the header and that one row
    row = next(line for line in disagree.splitlines() if PASSED_THERE in line)
    assert row.endswith("| ✓ | ✗$ |"), row  # a failure no finding of the copy's regrouping names stays unlinked
    count = len(json.loads(COMMITTED.read_text())["scenarios"])
    assert f"| [ops-center-oss 0000000later](ops-center-oss-0000000later.md) | {count} |" in matrix
    assert 'class=split' in page(found, "../docs/conformance")
    before, after = (json.loads(path.read_text())["scenarios"] for path in (tmp_path / COMMITTED.name, other))
    assert changes(before, after) == [f"~ {PASSED_THERE}: passed -> failed: money or security"]


def test_each_failed_cell_links_the_finding_it_belongs_to_in_its_report():
    (found,) = columns([COMMITTED], ROOT)
    report = COMMITTED.with_suffix(".md").read_text()
    linked = {number for number in found.findings.values()}
    assert linked and all(f'<a id="f{number}"></a>' in report for number in linked)


def test_make_matrix_writes_the_matrix_and_its_page_where_it_is_told(tmp_path):
    run = subprocess.run([sys.executable, "scripts/conformance.py", "matrix", str(COMMITTED), "--out",
                          str(tmp_path / "matrix.md"), "--page", str(tmp_path / "matrix.html")], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "matrix.md").read_text().startswith("# Results matrix")
    assert "<table>" in (tmp_path / "matrix.html").read_text()


def test_what_changed_between_versions_lists_findings_fixed_and_new_with_the_source_lines_behind_them(tmp_path):
    from creditflow.reporting.release import source_change, what_changed

    before = json.loads(COMMITTED.read_text())
    after = json.loads(COMMITTED.read_text())
    gzip = "Ivy's client, which accepts compressed answers, reads the whole answer and pays once"
    for scenario in after["scenarios"]:
        if scenario["scenario"] == gzip:
            scenario.update(verdict="passed", cause=None, message="")
    (fixed,) = [line for line in what_changed(before, after, ROOT) if gzip.split(",")[0] in line or "read the whole"
                in line]
    assert fixed.startswith("fixed: failed: money or security: ") and fixed.endswith("(1 scenario)")
    assert what_changed(after, before, ROOT)[0].startswith("new: failed: money or security: ")
    old, new = tmp_path / "old", tmp_path / "new"
    for checkout, body in ((old, "a\nb\nc\nd\n"), (new, "a\nB\nc\nd\n")):
        (checkout / "backend").mkdir(parents=True)
        (checkout / "backend" / "debit.py").write_text(body)
    assert source_change("a dict passed as jsonb (backend/debit.py:2)", old, new) == (
        "debit.py:2 changed (now debit.py:2)")
    assert source_change("(debit.py:3-4)", old, new) == "debit.py: the cited lines are the same in both"
