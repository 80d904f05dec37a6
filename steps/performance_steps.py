"""Latency budgets: measured over repeated operations, judged at the 95th percentile."""

from behave import then, when

from creditflow.metrics import percentile
from creditflow.screenplay.tasks.latency import Measure


@when("{name:Persona}'s {operation} is measured over {count:Count} repetitions")
async def measure(context, name, operation, count):
    await name.attempts_to(Measure(operation, count))


@then("the 95th percentile of {operation} is under {budget:Count} ms")
def within_budget(context, operation, budget):
    samples = context.stage.protagonist.samples
    assert min(samples) > 0, (f"{operation} was reported to take no time at all ({samples.count(0)} of "
                              f"{len(samples)} repetitions): a figure of 0 ms measures nothing")
    p95 = percentile(samples, 0.95)
    assert p95 < budget, (f"{operation} should take under {budget} ms at the 95th percentile, "
                          f"but took {p95:.1f} ms over {len(samples)} repetitions")
