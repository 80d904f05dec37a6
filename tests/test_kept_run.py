"""make acceptance's whole run, kept for make test (creditflow/run/kept.py): kept only when the checkout did not
change while it ran, and read back only for the checkout as it is, with the default settings, on the same stack."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from creditflow.run.kept import checkout_fingerprint, keep, kept_run

STACK = {"postgres": 101, "keycloak": 102}
# The whole suite as the keeper runs it, in small: it says it began on STACK, writes its console and one report,
# and does to the checkout what its first argument says.
SUITE = """
import json, os, sys
from pathlib import Path
from creditflow.run.kept import began, keep_reports
folder = Path(os.environ["CREDITFLOW_KEEP_RUN"])
began(folder, {stack}, {{"service.log": 7}})
Path(os.environ["CREDITFLOW_SECRETS_FILE"]).write_text("sk-or-v1-secret\\n")
Path("report.txt").write_text("3 scenarios passed")
(Path("allure") / "r-result.json").write_text("{{}}")
keep_reports(folder, [str(Path("report.txt").resolve())], {{str(Path("report.txt").resolve()): "report.txt"}},
             Path("allure"))
if sys.argv[1] == "edits":
    Path("features/a.feature").write_text("Feature: changed while it ran")
print("3 scenarios passed"); print("Tess's calls: 700/700", file=sys.stderr)
"""


@pytest.fixture
def checkout(tmp_path) -> Path:
    root = tmp_path / "checkout"
    (root / "features").mkdir(parents=True)
    (root / "allure").mkdir()
    (root / "features" / "a.feature").write_text("Feature: a")
    (root / ".gitignore").write_text("report.txt\nallure/\nsuite.py\n")
    (root / "suite.py").write_text(SUITE.format(stack=STACK))
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    return root


def kept_by(checkout: Path, folder: Path, what_it_does: str = "reads") -> int:
    repo = Path(__file__).resolve().parent.parent
    return keep(folder, [sys.executable, "suite.py", what_it_does],
                {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(repo), "TEST_OPENROUTER_KEY": "sk-or-v1-secret"}, checkout)


def test_the_fingerprint_follows_every_file_git_tracks_or_would_track_but_reports_and_self_tests(checkout):
    before = checkout_fingerprint(checkout)
    (checkout / "docs").mkdir()
    (checkout / "docs" / "conformance.md").write_text("a report a run wrote")
    (checkout / "report.txt").write_text("ignored by git")
    (checkout / "tests").mkdir()
    (checkout / "tests" / "test_more.py").write_text("a self-test, which no run imports")
    assert checkout_fingerprint(checkout) == before
    (checkout / "steps.py").write_text("a new step, not yet added")
    assert checkout_fingerprint(checkout) != before
    (checkout / "steps.py").unlink()
    (checkout / "features" / "a.feature").write_text("Feature: b")
    assert checkout_fingerprint(checkout) != before


def test_outside_a_git_checkout_there_is_no_fingerprint(tmp_path):
    assert checkout_fingerprint(tmp_path) is None


def test_a_whole_run_is_kept_with_its_console_reports_secrets_and_stack(checkout, tmp_path, capfd):
    folder = tmp_path / "kept"
    assert kept_by(checkout, folder) == 0
    assert "3 scenarios passed" in capfd.readouterr().out  # shown as it ran, as well as kept
    kept = kept_run(folder, {**STACK, "ops-center-oss": 103}, {}, checkout)
    assert kept is not None
    assert (kept.returncode, kept.stdout.strip(), kept.stderr.strip()) == (0, "3 scenarios passed",
                                                                          "Tess's calls: 700/700")
    assert (kept.reports / "report.txt").read_text() == "3 scenarios passed"
    assert (kept.reports / "allure-results" / "r-result.json").exists()
    assert kept.secrets == ["sk-or-v1-secret"] and kept.byok_key == "sk-or-v1-secret"
    assert kept.features == [checkout / "features" / "a.feature"] and kept.logs_before == {"service.log": 7}
    assert oct(folder.stat().st_mode & 0o777) == "0o700"


def test_a_run_during_which_the_checkout_changed_is_not_kept(checkout, tmp_path):
    folder = tmp_path / "kept"
    assert kept_by(checkout, folder, "edits") == 0
    assert not folder.exists()


@pytest.mark.parametrize(("change", "why"), [
    (lambda checkout: (checkout / "features" / "a.feature").write_text("Feature: b"), "a file changed since"),
    (lambda checkout: None, "another stack"),
    (lambda checkout: None, "a setting of its own"),
])
def test_a_kept_run_is_not_read_for_another_checkout_stack_or_setting(checkout, tmp_path, change, why):
    folder = tmp_path / "kept"
    kept_by(checkout, folder)
    change(checkout)
    stack = {**STACK, "keycloak": 999} if why == "another stack" else STACK
    environ = {"CREDITFLOW_QUOTA_CONCURRENCY": "5"} if why == "a setting of its own" else {}
    assert kept_run(folder, stack, environ, checkout) is None, why


def test_where_a_run_writes_and_the_byok_key_it_stores_are_not_settings_of_its_own(checkout, tmp_path):
    folder = tmp_path / "kept"
    kept_by(checkout, folder)
    environ = {"CREDITFLOW_REPORT": "/tmp/r.txt", "CREDITFLOW_RESULTS": "r.json", "TEST_OPENROUTER_KEY": "sk-or-v1-x"}
    assert kept_run(folder, STACK, environ, checkout) is not None
    assert json.loads((folder / "run.json").read_text())["returncode"] == 0
