"""The user's reports belong to the user's last run: nothing make test runs writes there. Every run a test starts
writes its reports into the test's own folder (isolated_reports)."""

from pathlib import Path


def isolated_reports(tmp: Path) -> dict[str, str]:
    """The environment of a run a test starts (behave, a dry run included, or a script): every report it writes goes
    into `tmp`, never over reports/, docs/conformance or the guide's /tmp files, which belong to the user's last run
    (and to other checkouts' runs on the same machine). An inherited CREDITFLOW_CONFORMANCE is emptied: no
    conformance report."""
    return {"CREDITFLOW_REPORT": str(tmp / "report.txt"), "CREDITFLOW_PERFORMANCE": str(tmp / "performance.json"),
            "CREDITFLOW_ERROR_LOG": str(tmp / "errors.log"), "CREDITFLOW_RESULTS": str(tmp / "results.json"),
            "CREDITFLOW_ALLURE_RESULTS": str(tmp / "allure-results"), "CREDITFLOW_CONFORMANCE": ""}
