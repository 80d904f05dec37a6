"""behave's hooks: each opens, follows or closes the run (creditflow.run.composition) or a scenario
(creditflow.run.scenario)."""

import asyncio
import os
import shutil
import sys
from pathlib import Path

from behave.model import Feature

from creditflow.judging.judge import BOOKS
from creditflow.reporting.allure_formatter import results_dir_of
from creditflow.reporting.writers import write_shard
from creditflow.run.composition import RunCannotStart, configure, open_run
from creditflow.run.scenario import ScenarioRun
from creditflow.screenplay import phrases
from sandbox.launcher import SandboxLauncher

# Set by scripts/acceptance.py for each shard of a parallel run: the shard writes its part there, not the reports;
# a shard beside others takes its latency samples under their load, so they are listed apart and not judged.
SHARD_OUT = os.environ.get("CREDITFLOW_SHARD_OUT")
UNDER_LOAD = os.environ.get("CREDITFLOW_UNDER_LOAD") == "1"

phrases.register()

# behave 1.3.3 times a feature by its direct scenarios only, so a feature whose scenarios all sit under
# `Rule:` took "0min 0.000s"; its duration is that of every scenario it runs.
Feature.duration = property(lambda feature: sum(scenario.duration for scenario in feature.walk_scenarios()))


def wait(coroutine):
    """Hooks are synchronous; async steps run on the same default loop (see behave.api.async_step)."""
    return asyncio.get_event_loop_policy().get_event_loop().run_until_complete(coroutine)


def console(line: str) -> None:
    # behave captures stdout during a run; progress goes to the real terminal.
    print(line, file=sys.__stderr__, flush=True)


def before_all(context):
    context.run, launcher = None, SandboxLauncher(say=console)
    try:
        context.cf_config = configure(context.config.userdata, launcher)
        asyncio.set_event_loop(asyncio.new_event_loop())
        context.run = wait(open_run(context.cf_config, launcher, under_load=UNDER_LOAD))
    except RunCannotStart as error:
        console(f"\ncreditflow: {error}\n(see README.md, Troubleshooting)\n")
        return context.abort(reason="creditflow could not reach or configure its target (see above)")
    console(f"creditflow: {context.run.describe()}")
    console(f"creditflow: {wait(context.run.remove_leftovers())}")
    context.allure_results = results_dir_of(context.config)
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


def before_scenario(context, scenario):
    # What the scenario makes is undone by behave's cleanup of the scenario, pass or fail, newest first.
    context.scene = ScenarioRun(context.run, scenario, lambda description, undo: context.add_cleanup(
        wait, context.stage.undo(description, undo)))
    context.stage = context.scene.stage
    phrases.STAGE.scene = context.stage  # whom the step's personas and organizations name
    # Registered first, so it runs after every other cleanup of the scenario.
    context.add_cleanup(context.scene.report_cleanup_failures, console)
    lacking = context.scene.lacking()
    if lacking:
        scenario.skip(reason=f"not applicable: {lacking}")
    else:
        wait(context.scene.begin())


def after_step(context, step):
    problems = wait(context.scene.after_step(step, context._runner.step_registry))
    if problems:
        console("    " + BOOKS + "; ".join(problems))


def after_scenario(context, scenario):
    restarted = context.scene.restart_if_stuck()
    if restarted:
        console(f"    {restarted}")
    result = context.scene.result(context._runner.step_registry)
    console(f"[{len(context.run.results)}] {result.status.upper():7} {scenario.name} ({context.scene.seconds:.1f} s)")


def after_all(context):
    run = getattr(context, "run", None)
    if run is None:
        return
    money = wait(run.close())
    services = run.services
    if SHARD_OUT:
        write_shard(Path(SHARD_OUT), run.results, services.metrics.samples, money, services.redactor,
                    services.run_id)
    else:
        run.finish(money, context.allure_results, say=console)
    if os.environ.get("CREDITFLOW_SECRETS_FILE"):
        # Self-tests only: the secrets this run used, so that tests/ can prove no report leaks one.
        secrets_file = Path(os.environ["CREDITFLOW_SECRETS_FILE"])
        with secrets_file.open("a") as listed:
            listed.write("\n".join(services.redactor.known()) + "\n")
        secrets_file.chmod(0o600)
    if money is not None and not money.holds:
        raise AssertionError(services.redactor.text("; ".join([money.summary(), *money.problems])))
