"""The run's report writers, each called once when a run finishes (a parallel run: once, with every shard's
results): the guide's three reports and the verdicts, Allure's environment, and, when asked, the conformance report.
"""

import json
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from creditflow.config import ROOT, Config
from creditflow.deployments import deployment_class
from creditflow.flows import FLOWS
from creditflow.judging.expectations import diagnoses_for
from creditflow.launcher import Launcher
from creditflow.metrics import Metrics
from creditflow.redaction import Redactor
from creditflow.reporting.guide_reports import ScenarioResult, conformance_report, write_reports
from creditflow.rules.money import Conservation

# Allure categories, shared with allurerc.mjs (one file): product defect, environment problem, suite defect.
CATEGORIES_FILE = ROOT / "allure-categories.json"
# How a reader runs one scenario of the report alone (its name is a regular expression for behave's -n).
REPRODUCE = 'python3 -m behave -D deployment={deployment} -n "{name}"'
REPRODUCE_PRODUCT = 'python3 -m behave -D ops_center_source=$OPS_CENTER_SOURCE -n "{name}"'


@dataclass(frozen=True)
class Finished:
    """A finished run, as its writers read it."""

    config: Config
    results: list[ScenarioResult]
    samples: dict[str, list[float]]
    money: Conservation | None
    redactor: Redactor
    run_id: str
    seconds: float
    allure_results: Path
    launcher: Launcher

    @property
    def header(self) -> dict[str, str]:
        return {"Target": self.config.target, "Deployment": self.config.deployment, "Run": self.run_id,
                "Duration": f"{self.seconds:.1f} s"}


def guide_reports(run: Finished) -> list[str]:
    metrics = Metrics()
    metrics.samples.update(run.samples)
    config = run.config
    return write_reports(run.results, metrics.report(), run.header, config.report_path, config.performance_path,
                         config.error_log_path, run.redactor, run.money, str(ROOT / config.results_path))


def allure_environment(run: Finished) -> list[str]:
    config = run.config
    properties = {"target": config.target, "deployment": config.deployment, "ops_center": config.ops_center_url,
                  "flows": ", ".join(flow.title for flow in FLOWS), "run": run.run_id}
    if config.target == "embedded":
        properties |= run.launcher.versions()
    lines = [f"{key}={value}" for key, value in properties.items()]
    (run.allure_results / "environment.properties").write_text("\n".join(lines) + "\n")
    shutil.copy(CATEGORIES_FILE, run.allure_results / "categories.json")
    return []


def deployment_version(config: Config, launcher: Launcher) -> str:
    if config.ops_center_source or (config.target == "embedded" and config.deployment == "contract"):
        return launcher.version_of(config.ops_center_source)
    return config.ops_center_version or "unknown"


def conformance(run: Finished) -> list[str]:
    """`<deployment>-<version>.md` for readers, and beside it `.json`, the verdicts `scripts/conformance.py`
    compares with the deployment's expectations."""
    config, money, redactor = run.config, run.money, run.redactor
    if not config.conformance_dir:
        return []
    version = deployment_version(config, run.launcher)
    path = ROOT / config.conformance_dir / f"{config.deployment}-{version}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    details = {"Deployment": config.deployment, "Version": version, **run.header,
               "Date": time.strftime("%Y-%m-%d", time.gmtime())}
    if config.target == "embedded" and not config.ops_center_source:
        details["Build"] = run.launcher.versions()["ops_center_build"]  # the commit of the suite, and its reference
    workarounds, deployed_findings = deployment_class(config.deployment).declared_for(config)
    how_run = [f"- {workaround.what} *As deployed:* {workaround.as_deployed}" for workaround in workarounds]
    if config.ops_center_source and config.target == "embedded":
        details["Product boot (s)"] = run.launcher.product_boot_s()
        how_run = [f"- {line}" for line in run.launcher.how_the_product_runs()] + how_run
    if money is not None:
        details["Money over the run"] = "; ".join([money.summary(), *money.problems[:12]])
    reproduce = REPRODUCE_PRODUCT if config.ops_center_source else REPRODUCE.replace("{deployment}",
                                                                                     config.deployment)
    known = diagnoses_for(config.deployment, version, ROOT)
    path.write_text(redactor.text(conformance_report(run.results, f"{config.deployment} {version}", details,
                                                     reproduce, how_run, known, deployed_findings)))
    verdicts = [{"feature": r.feature, "rule": r.rule, "scenario": r.name, "verdict": r.verdict, "claim": r.claim,
                 "message": r.message, "cause": r.cause, "evidence": r.evidence} for r in run.results]
    path.with_suffix(".json").write_text(redactor.text(json.dumps(
        {"deployment": config.deployment, "version": version, "run": details, "scenarios": verdicts}, indent=1)))
    return [str(path)]


WRITERS = (guide_reports, allure_environment, conformance)


def finish(run: Finished, say=print) -> list[str]:
    """Writes every report of the run; the paths written."""
    written = [path for writer in WRITERS for path in writer(run)]
    say(f"creditflow: reports written: {', '.join(written)}")
    if run.money is not None:
        say(f"creditflow: {run.money.summary()}")
    return written


def write_shard(path: Path, results: list[ScenarioResult], samples: dict[str, list[float]],
                money: Conservation | None, redactor: Redactor, run_id: str) -> None:
    """A shard's part of a parallel run, redacted: its verdicts, latency samples, money check and run id."""
    shard = {"run": run_id, "results": [asdict(result) for result in results], "samples": samples,
             "money": asdict(money) if money is not None else None}
    path.write_text(redactor.text(json.dumps(shard, default=str)))
