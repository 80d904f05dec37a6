"""Latency benchmark of the embedded stack: p50/p95 of the guide's budgeted operations.

    python benchmarks/bench.py [--samples 200] [--json out.json]

One caller at a time (the guide's budgets are per request), after a warm-up. The figures in
README.md come from this script, not from the acceptance run.
"""

import argparse
import asyncio
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from creditflow.metrics import BUDGETS_MS, percentile  # noqa: E402
from creditflow.run.composition import opened  # noqa: E402
from creditflow.screenplay.questions.organizations import PoolAnswer
from creditflow.screenplay.tasks.accounts import SignUp
from creditflow.screenplay.tasks.calls import Ask
from creditflow.screenplay.tasks.organizations import CreateOrganization
from sandbox.launcher import SandboxLauncher  # noqa: E402


def checked(reply, what: str):
    """A reply that must have succeeded; its `elapsed_ms` is the client-side latency."""
    if not reply.ok:
        raise SystemExit(f"benchmark {what} failed: {reply.describe()}")
    return reply


async def bench(samples_wanted: int) -> dict[str, list[float]]:
    run = await opened({}, SandboxLauncher(), environ={})  # the reference on the embedded stack, whatever is set
    services, scene = run.services, run.scene()
    deployment = services.deployment
    try:
        ivy = await scene.persona("Ivy").attempts_to(SignUp("professional", samples_wanted * 20))
        acme = await scene.persona("Alice").attempts_to(CreateOrganization(scene.organization("Acme"), "platform"))
        results: dict[str, list[float]] = {name: [] for name in (
            "token issue (authentication)", "charged LLM call (client)", "credit deduction (server)",
            "usage tracking (server)", "balance read", "org read (organization queries)")}
        for _ in range(10):  # warm-up: connections, caches, JIT in Keycloak
            await ivy.attempts_to(Ask("gpt-3.5-turbo", 100))
            await deployment.own_credits.balance(ivy.session)
            await acme.admin.asks(PoolAnswer(acme))
        for _ in range(samples_wanted):
            results["token issue (authentication)"].append(await services.sign_in(ivy))
        for _ in range(samples_wanted):
            call = await ivy.attempts_to(Ask("gpt-3.5-turbo", 100))
            if not call.succeeded:
                raise SystemExit(f"benchmark call failed: {call.describe()}")
            results["charged LLM call (client)"].append(call.elapsed_ms)
            results["credit deduction (server)"].append(call.phases["credits"])
            results["usage tracking (server)"].append(call.phases["usage"])
        for _ in range(samples_wanted):
            reply = checked(await deployment.own_credits.balance(await ivy.current_session()), "balance read")
            results["balance read"].append(reply.elapsed_ms)
        for _ in range(samples_wanted):
            reply = checked(await acme.admin.asks(PoolAnswer(acme)), "organization read")
            results["org read (organization queries)"].append(reply.elapsed_ms)
        return results
    finally:
        await scene.clean_up()
        await run.close()


BUDGET_OF = {"token issue (authentication)": "authentication", "credit deduction (server)": "credit deduction",
             "usage tracking (server)": "usage tracking", "org read (organization queries)": "organization queries"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = asyncio.run(bench(args.samples))
    table = {}
    print(f"{'operation':36} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'budget':>8}")
    for name, samples in results.items():
        budget = BUDGETS_MS.get(BUDGET_OF.get(name, ""))
        row = {"n": len(samples), "p50_ms": round(statistics.median(samples), 1),
               "p95_ms": round(percentile(samples, 0.95), 1), "budget_ms": budget}
        table[name] = row
        print(f"{name:36} {row['n']:>5} {row['p50_ms']:>8} {row['p95_ms']:>8} {budget or '-':>8}")
    if args.json:
        args.json.write_text(json.dumps(table, indent=2))


if __name__ == "__main__":
    main()
