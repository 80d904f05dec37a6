"""Latency budgets: measured over repeated operations, judged at the 95th percentile."""

from behave import then, when

from creditflow.metrics import percentile


@when("{name}'s {operation} is measured over {count:Amount} repetitions")
async def measure(context, name, operation, count):
    context.samples = await context.flow.measure(name, operation, count)


@then("the 95th percentile of {operation} is under {budget:Amount} ms")
def within_budget(context, operation, budget):
    p95 = percentile(context.samples, 0.95)
    assert p95 < budget, (f"{operation} should take under {budget} ms at the 95th percentile, "
                          f"but took {p95:.1f} ms over {len(context.samples)} repetitions")
