"""The check that make test leaves the user's reports as it found them sees every kind of change and names it."""

import os
from pathlib import Path

from tests.user_reports import NAMED_AT_MOST, changes, described, snapshot

AN_HOUR_AGO_NS = 3600 * 10**9


def reports_folder(tmp_path: Path) -> Path:
    """A reports/ folder as a run leaves it, its times an hour old: a change now cannot share a clock tick with them."""
    reports = tmp_path / "reports"
    (reports / "allure-results").mkdir(parents=True)
    (reports / "results.json").write_text("{}")
    (reports / "allure-results" / "a-result.json").write_text('{"status": "passed"}')
    for path in [reports, *reports.rglob("*")]:
        modified = path.stat().st_mtime_ns - AN_HOUR_AGO_NS
        os.utime(path, ns=(modified, modified))
    return reports


def test_nothing_changed_is_nothing_named(tmp_path):
    reports = reports_folder(tmp_path)
    assert changes(snapshot((reports,), tmp_path), snapshot((reports,), tmp_path)) == []


def test_an_added_removed_resized_or_rewritten_file_is_named(tmp_path):
    reports = reports_folder(tmp_path)
    before = snapshot((reports,), tmp_path)
    (reports / "allure-results" / "b-result.json").write_text('{"status": "skipped"}')
    (reports / "fuzz").mkdir()
    (reports / "fuzz" / "fuzz.txt").write_text("0 requests")
    (reports / "results.json").write_text('{"scenarios": []}')
    (reports / "allure-results" / "a-result.json").write_text('{"status": "failed"}')
    assert changes(before, snapshot((reports,), tmp_path)) == [
        "added reports/allure-results/b-result.json", "added reports/fuzz/", "added reports/fuzz/fuzz.txt",
        "changed reports/allure-results/a-result.json: rewritten, same size",
        "changed reports/results.json: 2 bytes, now 17"]
    (reports / "results.json").unlink()
    assert "removed reports/results.json" in changes(before, snapshot((reports,), tmp_path))


def test_a_file_written_and_removed_again_is_seen_in_its_folder(tmp_path):
    reports = reports_folder(tmp_path)
    before = snapshot((reports,), tmp_path)
    (reports / "allure-results" / "scratch.json").write_text("{}")
    (reports / "allure-results" / "scratch.json").unlink()
    assert changes(before, snapshot((reports,), tmp_path)) == [
        "changed reports/allure-results/: an entry was added and removed again"]


def test_a_missing_folder_that_appears_is_named_with_what_it_holds(tmp_path):
    reports = tmp_path / "reports"
    before = snapshot((reports,), tmp_path)
    (reports / "allure-results").mkdir(parents=True)
    (reports / "allure-results" / "a-result.json").write_text("{}")
    assert changes(before, snapshot((reports,), tmp_path)) == [
        "added reports/", "added reports/allure-results/", "added reports/allure-results/a-result.json"]


def test_many_changes_are_named_up_to_a_limit_and_the_rest_counted():
    found = [f"added reports/allure-results/{number}-result.json" for number in range(588)]
    lines = described(found).splitlines()
    assert "the tests changed the user's reports (reports/, docs/conformance/)" in lines[0]
    assert lines[1:] == [*found[:NAMED_AT_MOST], f"... and {588 - NAMED_AT_MOST} more"]
