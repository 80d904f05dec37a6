"""Capabilities: a deployment implements those its product has and declares, with the reason, those it lacks;
a scenario that needs a lacking one is not applicable, without a line of code in the deployment."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from creditflow.deployments.declarations import Capability
from creditflow.evidence import Evidence
from creditflow.redaction import Redactor
from tests.fixtures.minimal_deployment import LACKING, MinimalDeployment, Product
from tests.user_reports import isolated_reports

ROOT = Path(__file__).resolve().parent.parent
# A remote target that is never reached: the minimal deployment keeps everything in memory.
NOWHERE = "http://minimal.invalid"


def run_minimal(tmp_path, deployment: str = "MinimalDeployment", *behave_args: str) -> tuple[
        subprocess.CompletedProcess, list[dict]]:
    settings = {
        "CREDITFLOW_TARGET": "remote", "CREDITFLOW_DEPLOYMENT": f"tests.fixtures.minimal_deployment:{deployment}",
        "OPS_CENTER_URL": NOWHERE, "KEYCLOAK_URL": NOWHERE, "KEYCLOAK_CLIENT_SECRET": "unused",
        "KEYCLOAK_ADMIN_PASSWORD": "unused", "DATABASE_URL": "postgresql://minimal.invalid/db",
        "REDIS_URL": "redis://minimal.invalid", "LAGO_URL": NOWHERE, "LAGO_API_KEY": "unused",
        "CREDITFLOW_TEST_SYSTEMS": "minimal.invalid", **isolated_reports(tmp_path),
    }
    run = subprocess.run([sys.executable, "-m", "behave", "--no-color", "-f", "plain", "-o", str(tmp_path / "out"),
                          *behave_args], cwd=ROOT, env={**os.environ, **settings}, capture_output=True, text=True,
                         timeout=300)
    return run, json.loads((tmp_path / "results.json").read_text())["scenarios"]


def test_the_suite_against_a_deployment_with_only_sign_in_and_llm_calls(tmp_path):
    run, scenarios = run_minimal(tmp_path)
    ran = {s["scenario"]: s for s in scenarios if s["verdict"] != "not applicable"}
    inapplicable = [s for s in scenarios if s["verdict"] == "not applicable"]
    # Nora's first call needs no more than a sign-up and a call: it runs, and the minimal deployment serves it.
    assert set(ran) == {"Nora, who has just signed up and bought no credits, cannot pay for her first call"}, (
        run.stderr[-3000:])
    assert ran.popitem()[1]["verdict"] == "failed: differs from the guide"
    assert len(inapplicable) == len(scenarios) - 1 > 90
    assert all(LACKING in s["message"] and "[" not in s["message"] for s in inapplicable), inapplicable[:3]
    assert f"{len(inapplicable)} skipped" in run.stdout  # behave counts them as skipped, not as errors


def test_a_verdict_reached_without_asking_the_product_anything_is_a_suite_defect_and_fails_the_run(tmp_path):
    run, (nora,) = run_minimal(tmp_path, "UnaskedDeployment", "-n", "^Nora, who has just signed up")
    assert nora["verdict"] == "suite defect" and run.returncode != 0, run.stdout[-2000:]
    assert "no request to Ops-Center stands behind this scenario's verdict: the suite decided it alone" in (
        nora["message"])


def test_a_deployment_that_neither_has_a_capability_nor_declares_it_lacking_is_refused():
    forgetful = type("Forgetful", (MinimalDeployment,), {"lacks": {
        capability: "lacking" for capability in Capability if capability is not Capability.ORGANIZATIONS}})
    with pytest.raises(TypeError, match="Forgetful neither implements orgs nor declares in `lacks` that its "
                                        "product has no organizations"):
        forgetful(Product(Evidence(Redactor([]))))
