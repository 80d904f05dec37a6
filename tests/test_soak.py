"""make soak: per-scenario pass counts over many runs, flaky scenarios named, Allure history kept."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from behave.parser import parse_file

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("soak", ROOT / "scripts" / "soak.py")
soak = importlib.util.module_from_spec(spec)
spec.loader.exec_module(soak)


def run(*verdicts: tuple[str, str]) -> dict:
    return {"scenarios": [{"feature": "F", "scenario": name, "status": status} for name, status in verdicts],
            "money_conserved": True, "seconds": 1.0}


def test_a_scenario_whose_verdict_changes_between_runs_is_flaky_and_one_that_never_passed_is_named():
    summary = soak.summarise([run(("Ivy pays", "passed"), ("Bea", "failed"), ("Tess", "passed")),
                              run(("Ivy pays", "failed"), ("Bea", "failed"), ("Tess", "passed"))])
    assert summary["flaky"] == ["F / Ivy pays"] and summary["never_passed"] == ["F / Bea"]
    assert summary["passes"] == {"F / Bea": "0/2", "F / Ivy pays": "1/2", "F / Tess": "2/2"}
    report = soak.text(summary)
    assert "1 flaky, 1 never passed" in report and "FLAKY  F / Ivy pays: passed 1/2" in report


@pytest.mark.live
def test_two_runs_of_a_feature_count_each_scenario_twice_and_keep_the_allure_history(stack, tmp_path):
    # The soak's machinery on the smallest feature (make acceptance proves the scenarios; here the counting is tested).
    finished = subprocess.run([sys.executable, "scripts/soak.py", "--runs", "2", "--out", str(tmp_path),
                               "features/byok.feature"], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-2000:]
    summary = json.loads((tmp_path / "soak.json").read_text())
    assert summary["runs"] == 2 and summary["flaky"] == [] and summary["never_passed"] == []
    feature = parse_file(str(ROOT / "features" / "byok.feature"))
    assert summary["scenarios"] == sum(len(rule.walk_scenarios()) for rule in feature.iter_rules())
    assert set(summary["passes"].values()) == {"2/2"}
    assert summary["money_conserved_in_every_run"] is True
    assert len((tmp_path / "history.jsonl").read_text().splitlines()) == 2
    assert (tmp_path / "allure-report" / "index.html").stat().st_size > 100_000
