"""make fuzz on a small budget: Schemathesis against the reference as real personas finds no server error and
no schema violation, and the money check catches a refused request that moved money."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from creditflow.fuzzing.campaign import PersonaRun, read_run
from creditflow.systems.schemathesis import read_reports
from tests.judged_runs import suite_environment
from tests.test_suite_self import broken_ops_center

pytestmark = pytest.mark.live
ROOT = Path(__file__).resolve().parent.parent


def fuzz(out: Path, *args: str, env: dict[str, str] | None = None, min_requests: int = 300
         ) -> subprocess.CompletedProcess:
    """make fuzz on a small budget, its reports in `out` (never over the user's reports/fuzz)."""
    inherited = suite_environment()
    command = [sys.executable, "scripts/fuzz.py", "--examples", "3", "--min-requests", str(min_requests),
               "--seed", "20261126", "--out", str(out)]
    return subprocess.run([*command, *args], cwd=ROOT, capture_output=True, text=True, timeout=1200,
                          env={**inherited, **(env or {})})


def test_a_few_hundred_requests_as_three_personas_find_nothing_and_move_no_money(stack, tmp_path):
    finished = fuzz(tmp_path)
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    summary = json.loads((tmp_path / "fuzz.json").read_text())
    assert summary["requests"] >= 300 and summary["server_errors"] == [] and summary["schema_violations"] == []
    assert summary["money"].startswith("Money conservation holds") and summary["money_problems"] == []
    assert "POST /api/v1/credits/organization/{org_id}/purchase" in summary["personas"]["Alice"]["operations_accepting"]
    assert summary["personas"]["Ivy"]["answers"]["GET /api/v1/credits/organization/{org_id}"].keys() <= {"404", "401"}


def test_a_purchase_credited_twice_fails_the_fuzzing_naming_the_organization(stack, tmp_path):
    # The purchase alone, by Acme's admin alone (the others' purchases for Acme are refused): quicker.
    with broken_ops_center(stack, "purchase_credited_twice") as url:
        finished = fuzz(tmp_path, "--operations", "/purchase$", "--personas", "Alice", env={"OPS_CENTER_URL": url},
                        min_requests=0)
    assert finished.returncode == 1, finished.stdout[-3000:] + finished.stderr[-3000:]
    assert re.search(r"MONEY         Acme \(acme-\w+-\d+\) received [\d,]+ credits more than were paid for or granted",
                     (tmp_path / "fuzz.txt").read_text())


@pytest.mark.parametrize(("operations", "said"), [
    ("^/api/v1/(credits|org|org-billing|llm)(/|", "fuzz: --operations '^/api/v1/(credits|org|org-billing|llm)(/|' is "
                                                  "not a regular expression: missing ), unterminated subpattern"),
    ("^/no-such-path/", "fuzz: Schemathesis tested no operation: no path matches --operations '^/no-such-path/'"),
])
def test_operations_the_fuzzer_cannot_take_end_it_with_one_line(stack, tmp_path, operations, said):
    finished = fuzz(tmp_path, "--operations", operations)
    assert finished.returncode == 2 and "Traceback" not in finished.stderr, finished.stderr[-3000:]
    assert finished.stderr.strip().splitlines()[-1].startswith(said), finished.stderr[-1000:]
    assert not (tmp_path / "fuzz.json").exists()


def test_operations_that_accepted_a_request_are_named_with_the_organization_id_as_a_parameter():
    har = [{"request": {"method": "GET", "url": f"http://x/api/v1/credits/organization/org_1{suffix}"},
            "response": {"status": status}} for suffix, status in (("", 200), ("/usage-attribution", 404))]
    report = {"operations": {"tested": 2}, "failures": [], "errors": [{"title": "SystemError in coverage"}]}
    run = read_run("Alice", read_reports(report, har), "org_1")
    assert isinstance(run, PersonaRun) and run.requests == 2 and run.statuses == {"200": 1, "404": 1}
    assert run.succeeded == ["GET /api/v1/credits/organization/{org_id}"]
    assert run.tool_errors == ["SystemError in coverage"]
