"""The load's figures: per operation (count, failures, throughput, p50, p95, p99) against the guide's budgets,
the same per step of the step-load, and the highest rate of charged calls at which every budget held."""

from collections import defaultdict
from dataclasses import dataclass

from creditflow.load.plan import Profile
from creditflow.metrics import BUDGETS_MS, percentile

# The operations the Locust users report, and what each is judged against.
SIGN_IN, CHARGED_CALL, BYOK_CALL, BALANCE_READ, ORG_READ = (
    "sign-in", "charged call", "BYOK call", "balance read", "organization read")
REFUSED_FOR_PAYMENT = "call refused for payment"
PURCHASE = "purchase paid at the provider"
# The product's own limits (429, too many requests): its refusals, apart from the credit flow's figures.
SIGN_IN_THROTTLED = "sign-in refused as too frequent"
CALL_THROTTLED = "call refused as too frequent"
READ_THROTTLED = "read refused as too frequent"
PURCHASE_THROTTLED = "purchase refused as too frequent"
THROTTLED = (SIGN_IN_THROTTLED, CALL_THROTTLED, READ_THROTTLED, PURCHASE_THROTTLED)
LOAD_ERROR = "error in a Locust user"  # the load generator's own failure (its console has the traceback)
CREDIT_DEDUCTION, USAGE_TRACKING = "credit deduction (server)", "usage tracking (server)"
LLM_CALL_BUDGET_MS = 2000  # the guide expects an LLM call to take 500 to 2,000 ms
BUDGETS = {
    SIGN_IN: BUDGETS_MS["authentication"],
    CHARGED_CALL: LLM_CALL_BUDGET_MS,
    ORG_READ: BUDGETS_MS["organization queries"],
    CREDIT_DEDUCTION: BUDGETS_MS["credit deduction"],
    USAGE_TRACKING: BUDGETS_MS["usage tracking"],
}
ORDER = [SIGN_IN, CHARGED_CALL, BYOK_CALL, REFUSED_FOR_PAYMENT, CREDIT_DEDUCTION, USAGE_TRACKING, BALANCE_READ,
         ORG_READ, PURCHASE, LOAD_ERROR]


@dataclass(frozen=True)
class Sample:
    at: float  # Unix seconds when the operation ended
    operation: str
    ms: float
    ok: bool  # False: an unexpected failure (a server error, no answer), not a business refusal
    origin: str  # the Locust process that took it: "single process", "worker 0", ...


@dataclass(frozen=True)
class OperationFigures:
    operation: str
    count: int
    failures: int
    per_s: float
    p50: float | None
    p95: float | None
    p99: float | None
    budget_ms: int | None

    @property
    def within(self) -> bool | None:
        """p95 under the budget (None: no budget, or nothing succeeded to judge)."""
        return None if self.budget_ms is None or self.p95 is None else self.p95 < self.budget_ms

    def row(self) -> str:
        def ms(value):
            return "-" if value is None else f"{value:.1f}"
        verdict = {None: "", True: "within", False: "OVER"}[self.within]
        budget = f"< {self.budget_ms}" if self.budget_ms else "-"
        return (f"  {self.operation:<27}{self.count:>7}{self.failures:>6}{self.per_s:>8.1f}{ms(self.p50):>9}"
                f"{ms(self.p95):>9}{ms(self.p99):>9}{budget:>8}  {verdict}")


HEADER = (f"  {'operation':<27}{'count':>7}{'fail':>6}{'per s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
          f"{'budget':>8}")


def operation_figures(samples: list[Sample], seconds: float) -> list[OperationFigures]:
    """The credit flow's operations; the product's refusals by its own limits are counted apart (`refused`)."""
    by_operation = defaultdict(list)
    for sample in samples:
        if sample.operation not in THROTTLED:
            by_operation[sample.operation].append(sample)
    figures = []
    for operation in sorted(by_operation, key=lambda name: (ORDER + [name]).index(name)):
        taken = by_operation[operation]
        times = [sample.ms for sample in taken if sample.ok]
        figures.append(OperationFigures(
            operation, len(taken), sum(not sample.ok for sample in taken), len(taken) / seconds if seconds else 0.0,
            *((percentile(times, 0.5), percentile(times, 0.95), percentile(times, 0.99)) if times else (None,) * 3),
            BUDGETS.get(operation)))
    return figures


@dataclass(frozen=True)
class StepFigures:
    step: int  # from 1
    users: int
    operations: list[OperationFigures]

    def of(self, operation: str) -> OperationFigures | None:
        return next((figures for figures in self.operations if figures.operation == operation), None)

    @property
    def charged_calls_per_s(self) -> float:
        calls = self.of(CHARGED_CALL)
        return calls.per_s if calls else 0.0

    @property
    def within(self) -> bool:
        """Every budgeted operation measured in the step kept its p95 under budget, and nothing failed."""
        return self.within_but()

    def within_but(self, *aside: str) -> bool:
        """As `within`, with the operations `aside` left out."""
        return all(figures.within is not False and not figures.failures for figures in self.operations
                   if figures.operation not in aside)

    def broken(self) -> list[str]:
        """What broke in the step, in words: each budget its p95 passed, and each operation that failed."""
        return ([f"{f.operation} p95 {f.p95:.0f} ms > {f.budget_ms} ms" for f in self.operations if f.within is False]
                + [f"{f.failures} {f.operation} operations failed" for f in self.operations if f.failures])

    def row(self) -> str:
        def p95(operation):
            figures = self.of(operation)
            return "-" if figures is None or figures.p95 is None else f"{figures.p95:.0f}"
        failures = sum(figures.failures for figures in self.operations)
        return (f"  {self.step:>4}{self.users:>6}{self.charged_calls_per_s:>10.1f}"
                + "".join(f"{p95(operation):>11}" for operation in BUDGETS)
                + f"{failures:>7}  {'within' if self.within else 'OVER'}")


STEP_HEADER = (f"  {'step':>4}{'users':>6}{'calls/s':>10}" + "".join(f"{name[:10]:>11}" for name in BUDGETS)
               + f"{'fail':>7}   (p95 ms)")


def step_figures(samples: list[Sample], started_at: float, profile: Profile,
                 steps_run: int | None = None) -> list[StepFigures]:
    """Each step's samples, judged alone (a sample belongs to the step in which it ended; one that ended after the
    last step, while the users finished their calls, to the last). `steps_run`: the steps a load that stopped at
    the knee ran to their end; the samples of the step it cut short are left out."""
    last = (steps_run or profile.steps) - 1
    per_step = defaultdict(list)
    for sample in samples:
        step = int((sample.at - started_at) // profile.step_seconds)
        if steps_run is not None and step > last:
            continue
        per_step[max(min(step, last), 0)].append(sample)
    return [StepFigures(step + 1, (step + 1) * profile.step_users,
                        operation_figures(per_step[step], profile.step_seconds))
            for step in range(last + 1) if per_step[step]]


RISING = 1.05  # a step's rate of charged calls rises if it passes the best before it by 5% (the noise here)
FLAT_STEPS = 2  # the rate has stopped rising when it did not rise in this many steps in a row


def stopped_rising(steps: list[StepFigures]) -> bool:
    """The rate of charged calls rose in none of the last FLAT_STEPS steps: more users no longer bring more calls."""
    if len(steps) <= FLAT_STEPS:
        return False
    best_before = max(step.charged_calls_per_s for step in steps[:-FLAT_STEPS])
    return all(step.charged_calls_per_s < RISING * best_before for step in steps[-FLAT_STEPS:])


def saturation(steps: list[StepFigures]) -> StepFigures | None:
    """The step with the most charged calls a second, budgets or not."""
    return max(steps, key=lambda step: step.charged_calls_per_s, default=None)


def first_broken(steps: list[StepFigures]) -> StepFigures | None:
    """The first step in which a budget broke or an operation failed."""
    return next((step for step in steps if not step.within), None)


def highest_within_budget(steps: list[StepFigures], *aside: str) -> StepFigures | None:
    """The step with the most charged calls a second among those in which every budget held (but those of the
    operations `aside`)."""
    held = [step for step in steps if step.within_but(*aside) and step.charged_calls_per_s > 0]
    return max(held, key=lambda step: step.charged_calls_per_s, default=None)


def refused(samples: list[Sample]) -> dict[str, int]:
    """How many of each operation the product's own limits refused as too frequent."""
    return {operation: count for operation in THROTTLED
            if (count := sum(sample.operation == operation for sample in samples))}
