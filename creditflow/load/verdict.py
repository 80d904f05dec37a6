"""After the load: the run-wide money conservation, the ledger's invariants, and whether the provider served
exactly the calls that were charged (exactly once, with the platform's key); then the summary of the figures.

A break fails `make load` and names the account, as after a behave run."""

import json
from collections import Counter
from dataclasses import dataclass, field, replace

from creditflow.deployments import deployment_class
from creditflow.judging.invariants import served_unpaid, violations
from creditflow.load.cpu import CpuUse
from creditflow.load.figures import (
    BYOK_CALL,
    CHARGED_CALL,
    CREDIT_DEDUCTION,
    FLAT_STEPS,
    HEADER,
    REFUSED_FOR_PAYMENT,
    RISING,
    SIGN_IN,
    SIGN_IN_THROTTLED,
    STEP_HEADER,
    USAGE_TRACKING,
    OperationFigures,
    Sample,
    StepFigures,
    first_broken,
    highest_within_budget,
    operation_figures,
    refused,
    saturation,
    step_figures,
)
from creditflow.load.plan import SIGN_IN as SIGN_IN_KIND
from creditflow.load.plan import Plan
from creditflow.rules.money import Conservation
from creditflow.screenplay.questions.calls import ProviderCallsSince
from creditflow.screenplay.scene import Scene
from creditflow.systems.provider_double import ProviderDouble

SERVER_PHASES = (CREDIT_DEDUCTION, USAGE_TRACKING)  # measured inside the calls, not operations the users sent


@dataclass(frozen=True)
class Calls:
    """What became of the load's LLM calls, from the ledger, the provider and the callers."""

    charged: int  # charges in the ledger, to the load's users and organizations
    served_with_platform_key: int
    served_with_own_keys: int
    succeeded_charged: int  # as the callers saw them
    succeeded_byok: int
    refused_for_payment: int

    def text(self) -> str:
        return (f"Calls: {self.charged} charged in the ledger, {self.served_with_platform_key} served by the provider "
                f"with the platform's key, {self.succeeded_charged} succeeded as their callers saw them; "
                f"{self.refused_for_payment} refused for payment; BYOK: {self.served_with_own_keys} served with the "
                f"callers' own keys, {self.succeeded_byok} succeeded")


@dataclass
class LoadReport:
    plan: Plan
    seconds: float
    operations: list[OperationFigures]
    steps: list[StepFigures]
    calls: Calls
    money: Conservation
    invariants: list[str]
    unpaid: str | None  # the provider served other than the charged calls
    origins: dict[str, int]  # samples taken by each Locust process
    workers_unreported: int  # workers whose last samples never reached the master: the figures lack them
    refused: dict[str, int] = field(default_factory=dict)  # by the product's own limits, per operation
    steps_run: int | None = None  # a knee profile that stopped early: the steps it ran
    cpu: CpuUse | None = None  # the stack's and Locust's CPU, where the stack is this machine's
    cleanup: list[str] = field(default_factory=list)

    @property
    def charged_calls(self) -> int:
        """Charged calls as the steps' rates count them (each the callers sent as one)."""
        return next((figures.count for figures in self.operations if figures.operation == CHARGED_CALL), 0)

    def knee_lines(self) -> list[str]:
        """The highest rate within every budget, the saturation rate, and the budget that broke first."""
        best, most, broke = (highest_within_budget(self.steps), saturation(self.steps),
                             first_broken(self.steps))
        flow = highest_within_budget(self.steps, SIGN_IN)
        lines = ["Highest rate within budget: " + (
            f"{best.charged_calls_per_s:.1f} charged calls/s (step {best.step}, {best.users} users)" if best
            else "none: no step kept every budget"),
                 "  within the credit flow's budgets (the sign-in's aside): " + (
            f"{flow.charged_calls_per_s:.1f} charged calls/s (step {flow.step}, {flow.users} users)" if flow
            else "none")]
        if most is not None:
            lines.append(f"Saturation: {most.charged_calls_per_s:.1f} charged calls/s (step {most.step}, "
                         f"{most.users} users)")
        lines.append("First budget to break: " + (
            f"step {broke.step} ({broke.users} users): {'; '.join(broke.broken())}" if broke else "none"))
        profile = self.plan.profile
        if profile.until_knee:
            lines.append(f"The knee profile stopped after step {self.steps_run}: the rate of charged calls rose in "
                         f"none of its last {FLAT_STEPS} steps by {100 * (RISING - 1):.0f}%" if self.steps_run else
                         f"The knee profile ran all its {profile.steps} steps: the rate was still rising")
        return lines

    def cpu_lines(self) -> list[str]:
        if self.cpu is None:
            return ["CPU per part: not measured (the target is not this machine's embedded stack)"]
        best, most = highest_within_budget(self.steps), saturation(self.steps)
        return self.cpu.lines(self.charged_calls, {
            "highest rate within budget": best.charged_calls_per_s if best else None,
            "saturation": most.charged_calls_per_s if most and len(self.steps) > 1 else None})

    @property
    def sign_ins(self) -> tuple[int, int]:
        """Sign-ins the users attempted, and of those the product's limit refused as too frequent."""
        signed = next((figures.count for figures in self.operations if figures.operation == SIGN_IN), 0)
        throttled = self.refused.get(SIGN_IN_THROTTLED, 0)
        return signed + throttled, throttled

    def sign_in_lines(self) -> list[str]:
        """The sign-ins' share of the load, stated, and the product's refusals, apart from the figures above."""
        plan = self.plan
        attempted, throttled = self.sign_ins
        operations = sum(figures.count for figures in self.operations if figures.operation not in SERVER_PHASES) \
            + sum(self.refused.values())
        weight, total = plan.mix.get(SIGN_IN_KIND, 0), sum(plan.mix.values())
        lines = [f"Sign-ins: each user signs in once, from an address of its own, and keeps its session until it is "
                 f"{deployment_class(plan.deployment).session_max_age_s:g} s old (the deployment's); {weight} in "
                 f"{total} users of the mix sign in {plan.profile.sign_in_rate:g} times a second, each time as a new "
                 f"client: {attempted} sign-ins, {percent(attempted, operations)} of the load's {operations} "
                 "operations"]
        if self.refused:
            shown = ", ".join(f"{count} {operation}" for operation, count in self.refused.items())
            lines.append(f"Refused by the product's own limits (429 too many requests), not in the figures above: "
                         f"{shown}; {percent(throttled, attempted)} of the sign-ins")
        else:
            lines.append("Refused by the product's own limits: none")
        return lines

    @property
    def failures(self) -> list[str]:
        """Why `make load` fails: money, the ledger, calls served unpaid, unexpected failures of operations."""
        found = [f"MONEY         {problem}" for problem in self.money.problems]
        found += [f"LEDGER        {problem}" for problem in self.invariants]
        found += [f"PROVIDER      {self.unpaid}"] if self.unpaid else []
        found += [f"FAILED        {figures.failures} of {figures.count} {figures.operation} operations failed"
                  for figures in self.operations if figures.failures]
        if self.workers_unreported:
            found.append(f"UNREPORTED    the last samples of {self.workers_unreported} Locust workers never reached "
                         "the master: the callers' figures are incomplete")
        calls = self.calls
        if not calls.succeeded_charged + calls.succeeded_byok + calls.refused_for_payment:
            found.append("NO LOAD       the Locust users made no LLM call that was answered: nothing was measured")
        return found

    @property
    def passed(self) -> bool:
        return not self.failures

    def text(self) -> str:
        plan, profile = self.plan, self.plan.profile
        workers = f"{plan.workers} worker processes" if plan.workers else "one process"
        kinds = ", ".join(f"{len(plan.of_kind(kind))} {kind}" for kind in plan.mix if plan.of_kind(kind))
        credits = ("credits for every call the run can make" if profile.calls_each is None
                   else f"credits for {profile.calls_each} calls each, then they keep calling")
        steps = f"up to {profile.steps}" if profile.until_knee else profile.steps
        lines = [f"Load on {plan.deployment} at {plan.ops_center_url}: profile {profile.name}, {steps} steps "
                 f"of +{profile.step_users} users every {profile.step_seconds:g} s, {profile.user_rate:g} tasks/s "
                 f"per user, {workers}, {self.seconds:.0f} s",
                 f"Personas: {kinds}; mix {plan.mix}; {credits}; each call {plan.model}, {plan.tokens} tokens",
                 "", HEADER, *(figures.row() for figures in self.operations)]
        if len(self.steps) > 1:
            lines += ["", STEP_HEADER, *(step.row() for step in self.steps), *self.knee_lines()]
        lines += ["", *self.cpu_lines()]
        by_process = ", ".join(f"{origin} {count}" for origin, count in sorted(self.origins.items()))
        lines += ["", *self.sign_in_lines(), "Samples by Locust process: " + by_process,
                  self.calls.text(), self.money.summary(),
                  "Provider served only paid calls: " + ("yes" if self.unpaid is None else "NO"),
                  "Ledger invariants: " + ("hold" if not self.invariants else "BROKEN"),
                  *self.failures, *(f"  cleanup: {failure}" for failure in self.cleanup),
                  f"make load: {'PASSED' if self.passed else 'FAILED'}"]
        return "\n".join(lines) + "\n"

    def summary(self) -> dict:
        best, most, broke = highest_within_budget(self.steps), saturation(self.steps), first_broken(self.steps)
        flow = highest_within_budget(self.steps, SIGN_IN)
        return {
            "deployment": self.plan.deployment, "profile": self.plan.profile.name, "workers": self.plan.workers,
            "seconds": round(self.seconds, 1), "passed": self.passed, "failures": self.failures,
            "operations": {f.operation: {"count": f.count, "failures": f.failures, "per_s": round(f.per_s, 2),
                                         "p50_ms": f.p50, "p95_ms": f.p95, "p99_ms": f.p99, "budget_ms": f.budget_ms,
                                         "within_budget": f.within} for f in self.operations},
            "steps": [{"step": step.step, "users": step.users,
                       "charged_calls_per_s": round(step.charged_calls_per_s, 2), "within_budget": step.within,
                       "p95_ms": {f.operation: f.p95 for f in step.operations}} for step in self.steps],
            "highest_rate_within_budget": None if best is None else {
                "charged_calls_per_s": round(best.charged_calls_per_s, 2), "step": best.step, "users": best.users},
            "highest_rate_within_the_credit_flows_budgets": None if flow is None else {
                "charged_calls_per_s": round(flow.charged_calls_per_s, 2), "step": flow.step, "users": flow.users},
            "saturation": None if most is None else {
                "charged_calls_per_s": round(most.charged_calls_per_s, 2), "step": most.step, "users": most.users},
            "first_broken": None if broke is None else {"step": broke.step, "users": broke.users,
                                                        "broken": broke.broken()},
            "steps_run": self.steps_run,
            "cpu": None if self.cpu is None else self.cpu.summary(self.charged_calls),
            "sign_ins": {"attempted": self.sign_ins[0], "refused_as_too_frequent": self.sign_ins[1]},
            "refused_by_product_limits": self.refused,
            "samples_by_process": self.origins, "calls": vars(self.calls), "money": self.money.summary(),
            "money_problems": self.money.problems,
            "invariants": self.invariants, "provider_served_unpaid": self.unpaid,
        }

    def json(self) -> str:
        return json.dumps(self.summary(), indent=1)


def read_samples(text: str) -> tuple[float, list[Sample], int, int | None]:
    """What Locust's master wrote: when the load started, every operation's sample, how many workers' last
    samples never reached it, and the steps a knee profile ran before it stopped (None: it did not stop early)."""
    raw = json.loads(text)
    return (raw["started_at"], [Sample(*sample) for sample in raw["samples"]], raw["workers_unreported"],
            raw.get("steps_run"))


async def judge(scene: Scene, plan: Plan, since: float, samples_file: str) -> LoadReport:
    """Every check after the load, and the figures of the samples the Locust users took."""
    started_at, samples, unreported, steps_run = read_samples(samples_file)
    seconds = max((sample.at for sample in samples), default=started_at) - started_at
    ledger = scene.deployment.ledger
    charged = 0
    for persona in plan.personas:
        if persona.kind in ("individual", "byok"):
            charged += sum(charge.credits > 0 for charge in await ledger.charges(persona.user_id))
    for org_id in {persona.org_id for persona in plan.of_kind("admin")}:
        charged += sum(charge.credits > 0 for charge in await ledger.org_charges(org_id))
    served = await scene.crew.asks(ProviderCallsSince(since, plan.model))
    own_key = ProviderDouble.fingerprint(scene.services.config.byok_key)
    with_platform_key = sum(not call.carried(own_key) for call in served)
    outcomes = {operation: sum(sample.ok for sample in samples if sample.operation == operation)
                for operation in (CHARGED_CALL, BYOK_CALL, REFUSED_FOR_PAYMENT)}
    calls = Calls(charged, with_platform_key, len(served) - with_platform_key, outcomes[CHARGED_CALL],
                  outcomes[BYOK_CALL], outcomes[REFUSED_FOR_PAYMENT])
    # The money line states the provider's calls too: the same two counts as the line of calls above it, or it
    # would say "served 0 calls" under a line of thousands (no scenario's check counted them for it), whatever the
    # ledger's checks (which count a scenario's calls) add to the run's trail.
    money = replace(await scene.services.money.check(scene.deployment), served=with_platform_key, paid=charged)
    return LoadReport(plan, seconds, operation_figures(samples, seconds),
                      step_figures(samples, started_at, plan.profile, steps_run), calls,
                      money, await violations(scene),
                      served_unpaid("the load's", with_platform_key, charged),
                      dict(Counter(sample.origin for sample in samples)), unreported, refused(samples), steps_run)


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "0%"
