"""make fuzz: Schemathesis against the deployment under test, signed in as real personas, then the money check.

    python scripts/fuzz.py [--examples 30] [--seed N] [--min-requests 1000] [--operations REGEX]
                           [--personas Alice Olivia Ivy] [--out DIR]

The target is chosen as for the suite (CREDITFLOW_TARGET, OPS_CENTER_URL, ...; embedded by default). The
summary is printed and written to --out, reports/fuzz/ by default (fuzz.json, fuzz.txt, each persona's
Schemathesis console, secrets redacted). Exit status 1: a server error, a schema violation, money moved by a
refused request, or fewer requests than --min-requests. Exit status 2: the fuzzing could not be done as asked
(one line says why).
"""

import argparse
import asyncio
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from creditflow.fuzzing.campaign import PERSONAS, FuzzError, fuzz  # noqa: E402
from creditflow.run.composition import RunCannotStart, opened  # noqa: E402
from sandbox.launcher import SandboxLauncher  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "reports" / "fuzz"


async def main(examples: int, seed: int | None, min_requests: int, operations: str | None, personas: list[str],
               out: Path) -> int:
    run = await opened({}, SandboxLauncher())
    services, scene = run.services, run.scene()
    out.mkdir(parents=True, exist_ok=True)
    try:
        report = await fuzz(scene, examples, seed, keep=out, operations=operations, personas=personas)
    finally:
        failures = await scene.clean_up()
        await run.close()
    text = services.redactor.text(report.text() + "".join(f"  cleanup: {f}\n" for f in failures))
    (out / "fuzz.txt").write_text(text)
    (out / "fuzz.json").write_text(services.redactor.text(json.dumps(report.summary(), indent=1)))
    print(text, end="")
    if report.requests < min_requests:
        print(f"fuzz: only {report.requests} requests were sent, fewer than the {min_requests} asked for")
        return 1
    return 0 if report.passed else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=30, help="Schemathesis's examples per operation")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--min-requests", type=int, default=1000)
    parser.add_argument("--operations", help="only the paths this regular expression matches (default: all)")
    parser.add_argument("--personas", nargs="+", choices=PERSONAS, default=list(PERSONAS),
                        help="who the fuzzer signs in as (default: all three)")
    parser.add_argument("--out", type=Path, default=OUT, help="where the reports go (default: reports/fuzz)")
    options = parser.parse_args()
    try:
        if options.operations is not None:
            re.compile(options.operations)
        sys.exit(asyncio.run(main(options.examples, options.seed, options.min_requests, options.operations,
                                  options.personas, options.out)))
    except re.error as error:
        print(f"fuzz: --operations {options.operations!r} is not a regular expression: {error}", file=sys.stderr)
    except (FuzzError, RunCannotStart) as error:
        print(f"fuzz: {error}", file=sys.stderr)
    sys.exit(2)
