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

from creditflow.config import resolve  # noqa: E402
from creditflow.flow import CreditFlow, Services  # noqa: E402
from creditflow.metrics import BUDGETS_MS, percentile  # noqa: E402
from sandbox import stack as sandbox  # noqa: E402


async def checked(coroutine):
    """An API answer that must have succeeded; its `elapsed_ms` is the client-side latency."""
    answer = await coroutine
    if not answer.ok:
        raise SystemExit(f"benchmark call failed: {answer.status} {answer.detail}")
    return answer


async def bench(samples_wanted: int) -> dict[str, list[float]]:
    config = resolve({}, environ={}, start_embedded=lambda: sandbox.up().suite_settings())
    services = await Services.connect(config)
    flow = CreditFlow(services)
    try:
        ivy = await flow.sign_up("Ivy", "professional", credits=samples_wanted * 20)
        org = await flow.create_org("Alice", "Acme", "platform")
        alice = flow.persona("Alice")
        api = services.api
        results: dict[str, list[float]] = {name: [] for name in (
            "token issue (authentication)", "charged LLM call (client)", "credit deduction (server)",
            "usage tracking (server)", "balance read", "org read (organization queries)")}
        for _ in range(10):  # warm-up: connections, caches, JIT in Keycloak
            await api.chat("Ivy", ivy.token, "gpt-3.5-turbo", 100)
            await api.balance("Ivy", ivy.token)
            await api.org_credits("Alice", alice.token, org.org_id)
        for _ in range(samples_wanted):
            results["token issue (authentication)"].append(await flow.sign_in_again("Ivy"))
        for _ in range(samples_wanted):
            answer = await checked(api.chat("Ivy", flow.persona("Ivy").token, "gpt-3.5-turbo", 100))
            results["charged LLM call (client)"].append(answer.elapsed_ms)
            phases = answer.server_timing()
            results["credit deduction (server)"].append(phases["credits"])
            results["usage tracking (server)"].append(phases["usage"])
        for _ in range(samples_wanted):
            answer = await checked(api.balance("Ivy", flow.persona("Ivy").token))
            results["balance read"].append(answer.elapsed_ms)
        for _ in range(samples_wanted):
            answer = await checked(api.org_credits("Alice", alice.token, org.org_id))
            results["org read (organization queries)"].append(answer.elapsed_ms)
        return results
    finally:
        await flow.cleanup()
        await services.close()


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
