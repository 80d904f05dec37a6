"""behave hooks: configuration, the embedded sandbox, per-scenario worlds and cleanup, and the reports."""

import asyncio
import json
import os
import shutil
import sys
import time
from dataclasses import asdict
from decimal import Decimal
from pathlib import Path

import allure
import httpx
import parse
from allure_commons.types import AttachmentType, LinkType
from behave import register_type
from behave.model import Feature
from behave.model_core import Status

from creditflow.allure_formatter import results_dir
from creditflow.config import ROOT, ConfigError, resolve
from creditflow.deployments import deployment_class
from creditflow.expectations import diagnoses, load, path_for
from creditflow.flows import FLOWS, flow_tagged, title_of
from creditflow.judging import BOOKS, judge, label_for_allure, outcome_of, rule_of
from creditflow.leftovers import remove_leftovers
from creditflow.metrics import Metrics
from creditflow.reports import ScenarioResult, conformance_report, write_reports
from creditflow.services import Services
from creditflow.verdicts import InvariantBroken, NotApplicable, Outcome, claim_of, decide
from creditflow.world import World

CONTRACT = "docs/contract.md"
# Set by scripts/acceptance.py for each shard of a parallel run: the shard writes its part there, not the reports;
# a shard beside others takes its latency samples under their load, so they are listed apart and not judged.
SHARD_OUT = os.environ.get("CREDITFLOW_SHARD_OUT")
UNDER_LOAD = os.environ.get("CREDITFLOW_UNDER_LOAD") == "1"
# Allure categories, shared with allurerc.mjs (one file): product defect, environment problem, suite defect.
CATEGORIES_FILE = ROOT / "allure-categories.json"
AMOUNT = r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|-?\d+(?:\.\d+)?"


@parse.with_pattern(AMOUNT)
def credits(text: str) -> Decimal:
    """Credits as people write them: "10,000", "2.5"."""
    return Decimal(text.replace(",", ""))


@parse.with_pattern(r"\d{1,3}(?:,\d{3})+|\d+")
def count(text: str) -> int:
    return int(text.replace(",", ""))


@parse.with_pattern(r"[A-Z][a-z]+")
def plan(text: str) -> str:
    return text.lower()


# Registered here because behave loads environment.py before the step modules that use them.
register_type(Credits=credits, Count=count, Plan=plan)

# behave 1.3.3 times a feature by its direct scenarios only, so a feature whose scenarios all sit under
# `Rule:` took "0min 0.000s"; its duration is that of every scenario it runs.
Feature.duration = property(lambda feature: sum(scenario.duration for scenario in feature.walk_scenarios()))


def run(coroutine):
    """Hooks are synchronous; async steps run on the same default loop (see behave.api.async_step)."""
    return asyncio.get_event_loop_policy().get_event_loop().run_until_complete(coroutine)


def console(line: str) -> None:
    # behave captures stdout during a run; progress goes to the real terminal.
    print(line, file=sys.__stderr__, flush=True)


def start_sandbox(ops_center_source: str | None = None) -> dict[str, str]:
    from sandbox import stack as sandbox

    console("creditflow: starting the embedded sandbox (or reusing the running one)...")
    try:
        if ops_center_source:
            console(f"creditflow: running the real Ops-Center from {ops_center_source}")
            return sandbox.start_product(ops_center_source).suite_settings(product=True)
        return sandbox.up().suite_settings()
    except sandbox.StartError as error:
        raise ConfigError(f"the embedded sandbox cannot start: {error}") from None


def stop_run(context, message: str) -> None:
    """Ends the run before any scenario, with the reason and no stack trace."""
    console(f"\ncreditflow: {message}\n(see README.md, Troubleshooting)\n")
    context.abort(reason="creditflow could not reach or configure its target (see above)")


def before_all(context):
    context.started = time.monotonic()
    context.results = []
    context.services = None
    try:
        context.cf_config = resolve(context.config.userdata, start_embedded=start_sandbox)
    except ConfigError as error:
        return stop_run(context, f"configuration: {error}")
    asyncio.set_event_loop(asyncio.new_event_loop())
    try:
        context.services = run(Services.connect(context.cf_config))
        health = run(context.services.deployment.health())
    except (OSError, httpx.HTTPError) as error:
        return stop_run(context, f"the target {context.cf_config.target} is unreachable ({type(error).__name__}: "
                                 f"{error}); checked {context.cf_config.describe()}")
    except ConfigError as error:
        return stop_run(context, f"configuration: {error}")
    if UNDER_LOAD:
        context.services.metrics = Metrics(under_load=True)
    console(f"creditflow: target {context.cf_config.target}, deployment {context.cf_config.deployment}, "
            f"Ops-Center health {health.value if health.ok else health.describe()}")
    leftovers = run(remove_leftovers(context.services.deployment))
    console(f"creditflow: {context.services.redactor.text(leftovers.describe())}")
    context.allure_results = allure_results_dir(context.config)
    if not SHARD_OUT:  # a shard of a parallel run shares the folder its runner cleared
        shutil.rmtree(context.allure_results, ignore_errors=True)
    context.allure_results.mkdir(parents=True, exist_ok=True)
    context.progress = progress_line


def progress_line(label: str):
    """A callback for long batches: a console line every 100 calls."""

    def report(done: int, total: int) -> None:
        if done % 100 == 0 or done == total:
            console(f"    {label}: {done}/{total}")

    return report


def allure_results_dir(config) -> Path:
    """Where the Allure formatter writes (behave.ini's outfiles, -o, or CREDITFLOW_ALLURE_RESULTS): cleared before
    each real run."""
    for index, name in enumerate(config.format or []):
        if name.endswith(":AllureFormatter") and index < len(config.outputs):
            return ROOT / results_dir(config.outputs[index].name)
    return ROOT / results_dir("reports/allure-results")


def before_scenario(context, scenario):
    # Each thing the scenario makes is undone by behave's cleanup of the scenario, pass or fail, newest first.
    context.outcome, context.books_problems = None, []
    world = World(context.services,
                  add_cleanup=lambda description, undo: context.add_cleanup(run, world.undo(description, undo)))
    context.world = world
    # Registered first, so it runs after every other cleanup of the scenario.
    context.add_cleanup(report_cleanup_failures, world, context.services.redactor)
    context.services.evidence.begin_scenario()
    context.scenario_started = time.monotonic()
    context.unanswered_before = context.services.deployment.unanswered
    context.scenario_steps = list(scenario.all_steps)
    tags = set(scenario.effective_tags)
    context.claim = claim_of(tags)
    lacks = context.services.deployment.lacks
    needed = sorted(tag.removeprefix("needs.") for tag in tags if tag.startswith("needs."))
    lacking = [lacks[feature] for feature in needed if feature in lacks]
    if lacking:
        context.outcome = Outcome("given", NotApplicable("; ".join(lacking)), context.claim, False)
        scenario.skip(reason=f"not applicable: {'; '.join(lacking)}")
    flow = flow_tagged(tags)
    if flow:
        allure.dynamic.epic(flow.epic)
        allure.dynamic.link(f"{CONTRACT}#{flow.contract_section}", link_type=LinkType.LINK,
                            name=f"contract: {flow.contract_section}")
    rule = rule_of(scenario)
    if rule is not None:
        allure.dynamic.story(rule.name)


def after_step(context, step):
    """Evidence goes to the step that made it; after the scenario's last executed step, the ledger is checked.

    Allure closes the scenario with its last step's result, so nothing can be attached in after_scenario.
    """
    world, evidence = context.world, context.services.evidence
    last_step = step.status.name != "passed" or step is context.scenario_steps[-1]
    problems = run(world.books.invariant_violations()) if last_step else []
    if problems:
        context.books_problems = problems
        console("    " + BOOKS + "; ".join(problems))
        if step.status.name == "passed":
            message = BOOKS + "; ".join(problems)
            step.status, step.exception, step.error_message = Status.failed, InvariantBroken(message), message
    if step.status.name in ("failed", "error") and context.outcome is None:
        context.outcome = outcome_of(step, context._runner.step_registry, context.claim, evidence, problems)
        label_for_allure(step, decide(context.outcome))
    if evidence.exchanges:
        allure.attach(evidence.http_log(), "HTTP exchanges", AttachmentType.TEXT)
    if evidence.ledger_rows:
        allure.attach(evidence.ledger_log(), "Ledger rows checked", AttachmentType.JSON)
    evidence.clear()


def after_scenario(context, scenario):
    """The verdict is recorded before the cleanups run; their failures join it when they happen.

    A product the sandbox runs from a checkout that left a request unanswered is restarted first, so that
    the cleanups and the next scenarios reach it; the scenario says so beside its verdict."""
    config = context.cf_config
    unanswered = context.services.deployment.unanswered - context.unanswered_before
    if unanswered and config.target == "embedded" and config.ops_center_source:
        from sandbox import stack as sandbox

        connections = sandbox.product_connections()
        console(f"    Ops-Center left {unanswered} requests unanswered (its database connections: {connections}); "
                "the sandbox restarts it")
        sandbox.restart_product()
        context.world.cleanup_failures.append(f"Ops-Center left {unanswered} requests unanswered in this scenario "
                                              f"(its database connections then: {connections}); the sandbox "
                                              "restarted it")
    status = scenario.status.name
    facts = tuple(step.name for step in scenario.all_steps if step.step_type == "then" and step.status.name == "passed")
    world, redactor, rule = context.world, context.services.redactor, rule_of(scenario)
    judged = judge(scenario, context.outcome, context.books_problems, context.services.evidence,
                   context._runner.step_registry, [*world.cast, *world.orgs])
    context.results.append(ScenarioResult(
        title_of(scenario.effective_tags), scenario.feature.name, scenario.name, status, redactor.text(judged.message),
        facts, cleanup_failures=world.cleanup_failures, rule=rule.name if rule else "", verdict=judged.verdict.value,
        claim=judged.claim, cause=judged.cause, evidence=judged.evidence,
    ))
    elapsed = time.monotonic() - context.scenario_started
    console(f"[{len(context.results)}] {status.upper():7} {scenario.name} ({elapsed:.1f} s)")


def report_cleanup_failures(world, redactor) -> None:
    for failure in world.cleanup_failures:
        console(f"    cleanup: {redactor.text(failure)}")


def after_all(context):
    services = getattr(context, "services", None)
    if services is None:
        return
    money = run(services.money.check(services.deployment.ledger)) if context.results else None
    run(services.close())
    if SHARD_OUT:
        write_shard(Path(SHARD_OUT), context.results, services, money)
    else:
        finish(context.cf_config, context.results, services.metrics.samples, money, services.redactor,
               services.run_id, time.monotonic() - context.started, context.allure_results)
    if os.environ.get("CREDITFLOW_SECRETS_FILE"):
        # Self-tests only: the secrets this run used, so that tests/ can prove no report leaks one.
        secrets_file = Path(os.environ["CREDITFLOW_SECRETS_FILE"])
        with secrets_file.open("a") as listed:
            listed.write("\n".join(services.redactor.known()) + "\n")
        secrets_file.chmod(0o600)
    if money is not None and not money.holds:
        raise AssertionError(services.redactor.text("; ".join([money.summary(), *money.problems])))


def finish(config, results: list[ScenarioResult], samples: dict[str, list[float]], money, redactor, run_id: str,
           seconds: float, allure_results: Path) -> None:
    """The run's reports: the guide's three files, the verdicts, Allure's environment and, when asked, the
    conformance report. A parallel run (scripts/acceptance.py) calls it once with every shard's results."""
    metrics = Metrics()
    metrics.samples.update(samples)
    header = {"Target": config.target, "Deployment": config.deployment, "Run": run_id, "Duration": f"{seconds:.1f} s"}
    written = write_reports(results, metrics.report(), header, config.report_path, config.performance_path,
                            config.error_log_path, redactor, money, str(ROOT / config.results_path))
    write_allure_environment(allure_results, config, run_id)
    if config.conformance_dir:
        written.append(write_conformance(results, config, header, money, redactor))
    console(f"creditflow: reports written: {', '.join(written)}")
    if money is not None:
        console(f"creditflow: {money.summary()}")


def write_shard(path: Path, results: list[ScenarioResult], services, money) -> None:
    """A shard's part of a parallel run, redacted: its verdicts, latency samples, money check and run id."""
    shard = {"run": services.run_id, "results": [asdict(result) for result in results],
             "samples": services.metrics.samples, "money": asdict(money) if money is not None else None}
    path.write_text(services.redactor.text(json.dumps(shard, default=str)))


def deployment_version(config) -> str:
    from sandbox import product, stack

    if config.ops_center_source:
        return product.version(Path(config.ops_center_source))
    if config.target == "embedded" and config.deployment == "contract":
        return "reference-" + stack.versions()["ops_center_build"]
    return config.ops_center_version or "unknown"


def write_conformance(results: list[ScenarioResult], config, header: dict[str, str], money, redactor) -> str:
    """`<deployment>-<version>.md` for readers, and beside it `.json`, the verdicts `scripts/conformance.py`
    compares with the deployment's expectations."""
    version = deployment_version(config)
    path = ROOT / config.conformance_dir / f"{config.deployment}-{version}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    details = {"Deployment": config.deployment, "Version": version, **header,
               "Date": time.strftime("%Y-%m-%d", time.gmtime())}
    how_run = [f"- {line}" for line in deployment_class(config.deployment).workarounds]
    if config.ops_center_source and config.target == "embedded":
        from sandbox import product
        from sandbox import stack as sandbox

        running = sandbox.Stack.load()
        details["Product boot (s)"] = str(running.timings.get("ops_center_oss", "?")) if running else "?"
        how_run = [f"- {line}" for line in product.how_it_runs()] + how_run
    if money is not None:
        details["Money over the run"] = "; ".join([money.summary(), *money.problems[:12]])
    reproduce = REPRODUCE_PRODUCT if config.ops_center_source else REPRODUCE.replace("{deployment}",
                                                                                     config.deployment)
    expected = path_for(config.deployment, ROOT)
    known = diagnoses(load(expected)) if expected.exists() else {}
    path.write_text(redactor.text(conformance_report(results, f"{config.deployment} {version}", details, reproduce,
                                                     how_run, known)))
    verdicts = [{"feature": r.feature, "rule": r.rule, "scenario": r.name, "verdict": r.verdict, "claim": r.claim,
                 "message": r.message, "cause": r.cause, "evidence": r.evidence} for r in results]
    path.with_suffix(".json").write_text(redactor.text(json.dumps(
        {"deployment": config.deployment, "version": version, "run": details, "scenarios": verdicts}, indent=1)))
    return str(path)


# How a reader runs one scenario of the report alone (its name is a regular expression for behave's -n).
REPRODUCE = 'python3 -m behave -D deployment={deployment} -n "{name}"'
REPRODUCE_PRODUCT = 'python3 -m behave -D ops_center_source=$OPS_CENTER_SOURCE -n "{name}"'


def write_allure_environment(results: Path, config, run_id: str) -> None:
    from sandbox import stack as sandbox

    properties = {"target": config.target, "deployment": config.deployment, "ops_center": config.ops_center_url,
                  "flows": ", ".join(flow.title for flow in FLOWS), "run": run_id}
    if config.target == "embedded":
        properties |= sandbox.versions()
    lines = [f"{key}={value}" for key, value in properties.items()]
    (results / "environment.properties").write_text("\n".join(lines) + "\n")
    shutil.copy(CATEGORIES_FILE, results / "categories.json")
