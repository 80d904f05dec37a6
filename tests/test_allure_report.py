"""The Allure results hold one run: a dry run leaves the last run's results as they are; the report names the run it
shows and adds it to the history once, so the trend counts each run once."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from creditflow.reporting.allure_report import generate
from tests.user_reports import isolated_reports

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.live  # a dry run opens the run on the stack too, and removes what dead runs left
def test_a_dry_run_writes_no_allure_results_beside_the_last_runs(tmp_path):
    last_run = tmp_path / "allure-results" / "last-run-result.json"
    last_run.parent.mkdir()
    last_run.write_text('{"status": "passed"}')
    dry = subprocess.run([sys.executable, "-m", "behave", "--dry-run", "-f", "null", "features/byok.feature"], cwd=ROOT,
                         env={**os.environ, **isolated_reports(tmp_path)}, capture_output=True, text=True, timeout=120)
    assert dry.returncode == 0 and "untested" in dry.stdout, dry.stdout[-2000:] + dry.stderr[-2000:]
    assert list(last_run.parent.iterdir()) == [last_run]


def results_of_a_run(folder: Path, run: str | None, deployment: str = "contract") -> Path:
    """Allure results as a run leaves them: a scenario's result and, once the run finished, the run's properties."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    result = {"uuid": f"result-of-{run}", "historyId": "ivy-pays", "testCaseId": "ivy-pays", "name": "Ivy pays",
              "fullName": "Individual flow: Ivy pays", "status": "passed", "start": 1_000, "stop": 2_000, "labels": []}
    (folder / f"result-of-{run}-result.json").write_text(json.dumps(result))
    if run is not None:
        (folder / "environment.properties").write_text(f"target=embedded\ndeployment={deployment}\nrun={run}\n")
    return folder


def history_names(history: Path) -> list[str]:
    return [json.loads(line)["name"] for line in history.read_text().splitlines()] if history.exists() else []


def test_the_report_names_its_run_and_adds_it_to_the_history_once(tmp_path):
    results, report, history = tmp_path / "allure-results", tmp_path / "allure-report", tmp_path / "contract.jsonl"
    results_of_a_run(results, "a1b2c3")
    for _ in range(2):  # the same run reported twice
        assert generate(results, report, history).returncode == 0
    assert history_names(history) == ["Ops-Center credit flow: contract, run a1b2c3"]
    assert "Ops-Center credit flow: contract, run a1b2c3" in (report / "index.html").read_text()
    results_of_a_run(results, "d4e5f6")  # the next run replaces the results
    assert generate(results, report, history).returncode == 0
    assert history_names(history) == ["Ops-Center credit flow: contract, run a1b2c3",
                                      "Ops-Center credit flow: contract, run d4e5f6"]


def test_results_no_run_finished_writing_are_reported_as_such_and_kept_out_of_the_history(tmp_path):
    results = results_of_a_run(tmp_path / "allure-results", None)
    assert generate(results, tmp_path / "allure-report", tmp_path / "contract.jsonl").returncode == 0
    assert "results of no finished run" in (tmp_path / "allure-report" / "index.html").read_text()
    assert history_names(tmp_path / "contract.jsonl") == []
