"""make acceptance: the suite's features shared among parallel behave processes, then one set of reports.

    python3 scripts/acceptance.py [--jobs N] [--reverse] [behave options ...] [features/NAME.feature ...]

Scenarios are independent (each makes and removes its own users and organizations), so features run
side by side: each shard is a behave process over some features, with the same options, on the one
stack this runner starts first. A shard writes its verdicts, latency samples and money check to a file
instead of the reports (environment.py, CREDITFLOW_SHARD_OUT); the runner then writes the guide's
reports, the verdicts, Allure's environment and the conformance report once, from all of them, and
prints behave's summary for the whole run. Features are shared by their expected cost (scenarios, and
the @slow ones weighing SLOW_WEIGHT), the costliest first, each to the least loaded shard. A feature
tagged @performance measures latencies against the guide's budgets: it runs after the others, alone,
so that no shard's load is in its figures; the latency samples of the shards that ran side by side are
listed apart in the performance report ("... under load") and not judged against the budgets. A feature tagged
@limits runs after the shards too, in a process of its own, before the latency feature: its bursts of failed
sign-ins, run beside the others, delayed their streamed answers past the time the contract gives the first words
(3 runs in 7 had such a failure, 0 in 6 without it beside them). --jobs 1,
or a real Ops-Center (OPS_CENTER_SOURCE), is plain behave. Feature files named on the command line are the
ones run (by default every feature). Exit status: 1 when a shard failed, as behave's.

The whole suite with the default settings (no feature, option or setting of its own, as make acceptance runs it)
is kept in the sandbox's folder (creditflow/run/kept.py): make test then judges that run rather than running every
scenario again, while the checkout's files and the stack are those it ran on.
"""

import argparse
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from behave.parser import parse_file

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from creditflow.redaction import Redactor  # noqa: E402
from creditflow.reporting.allure_formatter import results_dir  # noqa: E402
from creditflow.reporting.guide_reports import ScenarioResult  # noqa: E402
from creditflow.reporting.writers import Finished, finish  # noqa: E402
from creditflow.rules.money import Conservation  # noqa: E402
from creditflow.run.composition import RunCannotStart, configure  # noqa: E402
from creditflow.run.kept import RECORDING, began, keep, keep_reports, own_settings  # noqa: E402
from sandbox import stack as sandbox  # noqa: E402
from sandbox.launcher import SandboxLauncher  # noqa: E402

SLOW_WEIGHT = 15  # a @slow scenario (700 calls) costs about as much as fifteen others
APART = "limits"  # the tag of the features that run after the shards, in a process of their own (see above)
KEPT = sandbox.KEPT_RUN_DIR  # the last whole run of the suite, for make test
SUMMARY = re.compile(r"^(\d+) (features?|rules?|scenarios?|steps?) passed, (\d+) failed(?:, (\d+) error)?, "
                     r"(\d+) skipped(?:, (\d+) untested)?", re.M)


def features(reverse: bool, chosen: list[Path]) -> tuple[list[tuple[Path, int]], list[Path], list[Path]]:
    """Each feature file (the chosen ones, or all) with its expected cost; apart, those run after the shards
    (@limits); and those measured alone (@performance)."""
    shared, apart, alone = [], [], []
    for path in sorted(chosen or (ROOT / "features").glob("*.feature"), reverse=reverse):
        feature = parse_file(str(path))
        if "performance" in feature.tags:
            alone.append(path)
        elif APART in feature.tags:
            apart.append(path)
        else:
            scenarios = [s for rule in feature.iter_rules() for s in rule.walk_scenarios()]
            shared.append((path, sum(SLOW_WEIGHT if "slow" in s.effective_tags else 1 for s in scenarios)))
    return shared, apart, alone


def shares(weighed: list[tuple[Path, int]], jobs: int) -> list[list[Path]]:
    """Longest first, each to the least loaded shard; a shard keeps the features' order among its own."""
    loads: list[tuple[int, list[Path]]] = [(0, []) for _ in range(min(jobs, len(weighed)))]
    for path, cost in sorted(weighed, key=lambda item: -item[1]):
        index = min(range(len(loads)), key=lambda i: loads[i][0])
        loads[index] = (loads[index][0] + cost, [*loads[index][1], path])
    order = [path for path, _ in weighed]
    return [sorted(paths, key=order.index) for _, paths in loads]


def summed(outputs: list[str]) -> dict[str, list[int]]:
    """behave's closing counts of every shard, added up: passed, failed, error, skipped, untested."""
    totals: dict[str, list[int]] = {}
    for output in outputs:
        for match in SUMMARY.finditer(output):
            kind = match.group(2).rstrip("s")
            counts = [int(match.group(i) or 0) for i in (1, 3, 4, 5, 6)]
            totals[kind] = [a + b for a, b in zip(totals.get(kind, [0] * 5), counts, strict=True)]
    return totals


def summary_lines(totals: dict[str, list[int]], seconds: float) -> list[str]:
    lines = []
    for kind in ("feature", "rule", "scenario", "step"):
        passed, failed, error, skipped, untested = totals.get(kind, [0] * 5)
        line = f"{passed} {kind}s passed, {failed} failed" + (f", {error} error" if error else "")
        lines.append(line + f", {skipped} skipped" + (f", {untested} untested" if untested else ""))
    lines.append(f"Took {int(seconds // 60)}min {seconds % 60:.3f}s")
    return lines


def merged(shard_files: list[Path]) -> tuple[list[ScenarioResult], dict[str, list[float]], Conservation | None, str]:
    results, samples, checks, runs = [], {}, [], []
    for path in shard_files:
        shard = json.loads(path.read_text())
        runs.append(shard["run"])
        results += [ScenarioResult(**{**r, "facts": tuple(r["facts"])}) for r in shard["results"]]
        for operation, values in shard["samples"].items():
            samples.setdefault(operation, []).extend(values)
        if shard["money"] is not None:
            checks.append(shard["money"])
    money = None
    if checks:
        money = Conservation(problems=[p for c in checks for p in c["problems"]],
                             accounts=sum(c["accounts"] for c in checks),
                             **{key: sum(Decimal(c[key]) for c in checks) for key in ("credited", "left", "charged")},
                             served=sum(c["served"] for c in checks), paid=sum(c["paid"] for c in checks))
    return results, samples, money, "+".join(runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=3, help="behave processes side by side (default 3)")
    parser.add_argument("--reverse", action="store_true", help="features in reverse order within each shard")
    options, behave_args = parser.parse_known_args()
    chosen = [(ROOT / arg).resolve() for arg in behave_args if arg.endswith(".feature")]
    behave_args = [arg for arg in behave_args if not arg.endswith(".feature")]
    if missing := [str(path) for path in chosen if not path.is_file()]:
        parser.error(f"no such feature file: {', '.join(missing)}")
    if options.jobs < 1:
        parser.error("--jobs must be at least 1")
    whole_suite = not (chosen or behave_args or options.reverse or own_settings()) and options.jobs > 1
    if whole_suite and RECORDING not in os.environ:
        # One BYOK key for every shard, so that make test knows the key the run's evidence must not show.
        byok = os.environ.get("TEST_OPENROUTER_KEY") or f"sk-or-v1-{secrets.token_hex(24)}"
        return keep(KEPT, [sys.executable, __file__, *sys.argv[1:]], {**os.environ, "TEST_OPENROUTER_KEY": byok})
    if options.jobs == 1:
        return subprocess.call([sys.executable, "-m", "behave", *behave_args, *map(str, chosen)], cwd=ROOT)
    started = time.monotonic()
    userdata = dict(value.split("=", 1) for flag, value in zip(behave_args, behave_args[1:], strict=False)
                    if flag == "-D" and "=" in value)
    launcher = SandboxLauncher(say=lambda line: print(line, file=sys.stderr, flush=True))
    try:  # the stack once, before the shards, so that none of them races another to start it
        config = configure(userdata, launcher)
    except RunCannotStart as error:
        print(f"\ncreditflow: {error}\n(see README.md, Troubleshooting)", file=sys.stderr)
        return 1
    if config.ops_center_source:
        # The conformance verdicts of a real product are read one scenario at a time, as they were first taken.
        print("creditflow: the real Ops-Center runs one scenario at a time (no parallel shards)", file=sys.stderr)
        return subprocess.call([sys.executable, "-m", "behave", *behave_args, *map(str, chosen)], cwd=ROOT)
    kept = Path(os.environ[RECORDING]) if RECORDING in os.environ else None
    if kept is not None:
        began(kept, sandbox.Stack.load().pids, sandbox.log_sizes())
    allure_results = ROOT / results_dir("reports/allure-results")
    shutil.rmtree(allure_results, ignore_errors=True)
    shared, apart, alone = features(options.reverse, chosen)
    side_by_side_groups = shares(shared, options.jobs)
    after = [group for group in (apart, alone) if group]  # one process each, one after the other
    groups = [*side_by_side_groups, *after]
    with tempfile.TemporaryDirectory(prefix="creditflow-shards-") as folder:
        shard_files = [Path(folder) / f"shard-{number}.json" for number in range(len(groups))]

        def shard(number: int, under_load: bool) -> subprocess.Popen:
            return subprocess.Popen(
                [sys.executable, "-m", "behave", "--no-color", *behave_args, *map(str, groups[number])], cwd=ROOT,
                env={**os.environ, "CREDITFLOW_SHARD_OUT": str(shard_files[number]),
                     "CREDITFLOW_ALLURE_RESULTS": str(allure_results),
                     "CREDITFLOW_UNDER_LOAD": "1" if under_load else "0"},
                stdout=subprocess.PIPE, text=True)

        side_by_side = [shard(number, under_load=True) for number in range(len(side_by_side_groups))]
        outputs = [process.communicate()[0] for process in side_by_side]
        codes = [process.returncode for process in side_by_side]
        for number in range(len(side_by_side_groups), len(groups)):
            # Only the latency feature is measured alone; the samples of any other are listed apart.
            later = shard(number, under_load=groups[number] is not alone)
            outputs.append(later.communicate()[0])
            codes.append(later.returncode)
        written = [path for path in shard_files if path.exists()]
        results, samples, money, run_id = merged(written)
    redactor = Redactor(config.secrets())
    consoles = (ROOT / config.results_path).parent / "shards"
    shutil.rmtree(consoles, ignore_errors=True)
    consoles.mkdir(parents=True)
    for number, (output, code) in enumerate(zip(outputs, codes, strict=True)):
        (consoles / f"shard-{number}.txt").write_text(redactor.text(output))
        failing = output[output.find("Failing scenarios:"):] if "Failing scenarios:" in output else ""
        errors = [line for line in output.splitlines() if line.startswith("HOOK-ERROR")]
        if code != 0:
            print("\n".join([*errors, failing.split("\n\n")[0], f"(shard {number}: {consoles}/shard-{number}.txt)"]))
    if written:
        reports = finish(Finished(config, results, samples, money, redactor, run_id, time.monotonic() - started,
                                  allure_results, launcher))
        if kept is not None:
            named = {config.report_path: "report.txt", config.performance_path: "performance.json",
                     config.results_path: "results.json", config.error_log_path: "errors.log"}
            keep_reports(kept, reports, {str((ROOT / path).resolve()): name for path, name in named.items()},
                         allure_results)
    print("\n".join(summary_lines(summed(outputs), time.monotonic() - started)))
    if len(written) < len(groups):
        print(f"creditflow: {len(groups) - len(written)} of {len(groups)} shards ended without their part of the "
              "reports (see their output above)", file=sys.stderr)
    return 0 if all(code == 0 for code in codes) else 1


if __name__ == "__main__":
    sys.exit(main())
