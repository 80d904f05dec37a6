"""The Allure results hold one run: a dry run leaves the last run's results as they are."""

import os
import subprocess
import sys
from pathlib import Path

from tests.user_reports import isolated_reports

ROOT = Path(__file__).resolve().parent.parent


def test_a_dry_run_writes_no_allure_results_beside_the_last_runs(tmp_path):
    last_run = tmp_path / "allure-results" / "last-run-result.json"
    last_run.parent.mkdir()
    last_run.write_text('{"status": "passed"}')
    dry = subprocess.run([sys.executable, "-m", "behave", "--dry-run", "-f", "null", "features/byok.feature"], cwd=ROOT,
                         env={**os.environ, **isolated_reports(tmp_path)}, capture_output=True, text=True, timeout=120)
    assert dry.returncode == 0 and "untested" in dry.stdout, dry.stdout[-2000:] + dry.stderr[-2000:]
    assert list(last_run.parent.iterdir()) == [last_run]
