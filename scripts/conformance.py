"""`make conformance`: the whole suite against a deployment, its conformance report, and a gate.

    python3 scripts/conformance.py [--update] [behave arguments...]   run, compare with the expectations
    python3 scripts/conformance.py compare BEFORE.json AFTER.json [--sources BEFORE_CHECKOUT AFTER_CHECKOUT]
                                       [--out CHANGES.md]               what changed between two runs: verdicts,
                                                                        findings, and the source lines behind them
    python3 scripts/conformance.py matrix [REPORT.json ...]             docs/conformance/matrix.md and its page

The run writes docs/conformance/<deployment>-<version>.md and .json; the verdicts are compared with
docs/conformance/expectations/<deployment>-<version>.json (a checkout modified from its commit: that commit's).
Exit 0: every result was expected. Exit 1: an unexpected result (a new failure, a failure of another class, an
unexpected pass) or a suite defect, each listed. Exit 2: the run or the expectations could not be read.
`--update` records the run as the expectations (keeping the reasons a reader wrote where a verdict is unchanged)
and exits 0.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from creditflow.judging.expectations import ExpectationsError, changes, compare, load, path_for, record  # noqa: E402
from creditflow.reporting.matrix import columns, markdown, page  # noqa: E402
from creditflow.reporting.release import what_changed  # noqa: E402

CONFORMANCE_DIR = "docs/conformance"


def run_suite(behave_args: list[str]) -> Path:
    """The suite's run, serial (a real product's verdicts are read one scenario at a time); returns the run's
    conformance verdicts."""
    started = time.time()
    env = os.environ | {"CREDITFLOW_CONFORMANCE": CONFORMANCE_DIR}
    if env.get("OPS_CENTER_SOURCE"):
        # A release is graded as just deployed: what an earlier run left in the product's database (a wallet of its
        # own that each call drains, say) would otherwise change the verdicts of the next run.
        subprocess.run([sys.executable, "-m", "sandbox", "--ops-center-source", env["OPS_CENTER_SOURCE"], "up",
                        "--fresh"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    subprocess.run([sys.executable, "-m", "behave", "-f", "progress", *behave_args], cwd=ROOT, env=env)
    written = [path for path in (ROOT / CONFORMANCE_DIR).glob("*.json") if path.stat().st_mtime >= started]
    if not written:
        raise ExpectationsError("the run wrote no conformance verdicts: it stopped before its reports (see above)")
    return max(written, key=lambda path: path.stat().st_mtime)


def gate(verdicts_file: Path, update: bool) -> int:
    run = json.loads(verdicts_file.read_text())
    expectations = path_for(run["deployment"], run["version"], ROOT)
    print(f"conformance: {verdicts_file.relative_to(ROOT).with_suffix('.md')}")
    if update:
        previous = load(expectations) if expectations.exists() else {}
        expectations.parent.mkdir(parents=True, exist_ok=True)
        expectations.write_text(json.dumps(record(run["scenarios"], previous, run["deployment"], run["version"]),
                                           indent=1, ensure_ascii=False) + "\n")
        print(f"conformance: expectations recorded in {expectations.relative_to(ROOT)}")
        return 0
    unexpected = compare(load(expectations), run["scenarios"])
    for result in unexpected:
        print(f"  {result.describe()}")
    print(f"conformance: {len(run['scenarios'])} scenarios, {len(unexpected)} unexpected against "
          f"{expectations.relative_to(ROOT)}")
    return 1 if unexpected else 0


def matrix(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="conformance.py matrix", description="the results matrix of the JSON "
                                     "reports (all of docs/conformance/ unless named)")
    parser.add_argument("reports", type=Path, nargs="*")
    parser.add_argument("--out", type=Path, default=ROOT / CONFORMANCE_DIR / "matrix.md")
    parser.add_argument("--page", type=Path, default=ROOT / "reports" / "matrix.html",
                        help="the same matrix as an HTML page, beside the Allure report")
    args = parser.parse_args(argv)
    reports = args.reports or sorted((ROOT / CONFORMANCE_DIR).glob("*.json"))
    try:
        found = columns(reports, ROOT)
    except (OSError, ValueError, KeyError, ExpectationsError) as error:
        print(f"conformance: cannot read the reports: {error}", file=sys.stderr)
        return 2
    args.out.write_text(markdown(found))
    args.page.parent.mkdir(parents=True, exist_ok=True)
    args.page.write_text(page(found, os.path.relpath(args.out.parent, args.page.parent)))
    print(f"conformance: the matrix of {len(found)} implementations: {args.out}, {args.page}")
    return 0


def changes_page(before: dict, after: dict, lines: list[str]) -> str:
    """What `compare` printed, as a page: which two runs, then each change as the command states it."""
    runs = [f"{run['deployment']} {run['version']}" for run in (before, after)]
    return "\n".join([f"# What changed from {runs[0]} to {runs[1]}", "",
                      "Made by `python3 scripts/conformance.py compare` from the two runs' JSON reports: the verdicts "
                      "that changed, the findings fixed, gone and new, and, where a finding's diagnosis cites the "
                      "product's lines, whether those lines differ between the two checkouts.", "", "```",
                      *lines, "```", ""])


def main(argv: list[str]) -> int:
    if argv[:1] in (["--help"], ["-h"]):
        print(__doc__)
        return 0
    if argv[:1] == ["matrix"]:
        return matrix(argv[1:])
    if argv[:1] == ["compare"]:
        parser = argparse.ArgumentParser(prog="conformance.py compare")
        parser.add_argument("before", type=Path)
        parser.add_argument("after", type=Path)
        parser.add_argument("--sources", type=Path, nargs=2, metavar=("BEFORE_CHECKOUT", "AFTER_CHECKOUT"),
                            help="the two checkouts: each finding's cited lines are looked up in both")
        parser.add_argument("--out", type=Path, help="also write the changes here, as a page a product team reads")
        args = parser.parse_args(argv[1:])
        try:
            before, after = (json.loads(path.read_text()) for path in (args.before, args.after))
            lines = changes(before["scenarios"], after["scenarios"]) or ["no verdict changed"]
            lines += what_changed(before, after, ROOT, tuple(args.sources) if args.sources else None)
        except (OSError, ValueError, KeyError, ExpectationsError) as error:
            print(f"conformance: cannot read the verdicts: {error}", file=sys.stderr)
            return 2
        for line in lines:
            print(line)
        if args.out:
            args.out.write_text(changes_page(before, after, lines))
            print(f"conformance: {args.out}")
        return 0
    update = "--update" in argv
    try:
        return gate(run_suite([arg for arg in argv if arg != "--update"]), update)
    except ExpectationsError as error:
        print(f"conformance: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
