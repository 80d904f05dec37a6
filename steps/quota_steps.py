"""API-call quotas and the refusals a caller gets: 402 and 429 are the business outcomes here."""

import time

from behave import then


@then("{name} has used {used:Amount} of her {limit:Amount} API calls on the {plan} plan")
async def calls_used(context, name, used, limit, plan):
    snapshot = await context.flow.snapshot(name)
    assert snapshot.plan == plan, f"{name} should be on the {plan} plan, but is on {snapshot.plan}"
    assert snapshot.calls_limit == limit, f"the {plan} plan should allow {limit} API calls, not {snapshot.calls_limit}"
    assert snapshot.calls_used == used, f"{name} should have used {used} API calls, but used {snapshot.calls_used}"


@then("the call counted one more of {name}'s {limit:Amount} API calls")
async def one_more_call(context, name, limit):
    before, now = await context.flow.before_and_now(name)
    assert now.calls_limit == limit, f"{name}'s plan should allow {limit} API calls, not {now.calls_limit}"
    assert now.calls_used == before.calls_used + 1, (f"{name}'s call should count once against the quota: "
                                                     f"{before.calls_used} -> {now.calls_used} of {limit}")


@then("the call was not counted against {name}'s API calls")
async def not_counted(context, name):
    before, now = await context.flow.before_and_now(name)
    assert now.calls_used == before.calls_used, (f"a refused call must not use an API call, but {name}'s count went "
                                                 f"from {before.calls_used} to {now.calls_used}")


@then("all {count:Amount} calls succeed")
def all_succeed(context, count):
    failed = [outcome for outcome in context.batch if not outcome.succeeded]
    assert len(context.batch) == count and not failed, (
        f"all {count} calls should succeed, but {len(failed)} did not; first: "
        f"{failed[0].describe() if failed else ''}")


@then("exactly {count:Amount} calls succeed and the others are refused with 402 Payment Required")
def exactly_some_succeed(context, count):
    statuses = [outcome.answer.status for outcome in context.batch]
    succeeded, refused = statuses.count(200), statuses.count(402)
    assert succeeded == count, f"exactly {count} calls should succeed with the credits there were, but {succeeded} did"
    assert refused == len(statuses) - count, (f"the other {len(statuses) - count} calls should be refused for payment, "
                                              f"but {refused} were (statuses: {sorted(set(statuses))})")


@then("the call is refused with 402 Payment Required")
def refused_for_payment(context):
    outcome = context.flow.last
    assert outcome.answer.status == 402, f"the call should be refused for payment (402), but {outcome.describe()}"


@then("the call is refused with 429 Too Many Requests")
def refused_for_quota(context):
    outcome = context.flow.last
    assert outcome.answer.status == 429, f"the call past the quota should be refused (429), but {outcome.describe()}"


@then("the refusal's X-RateLimit-Reset names a time in the future")
def reset_in_future(context):
    reset = context.flow.last.answer.rate_limit_reset
    assert reset is not None, "the quota refusal should say when the quota resets (X-RateLimit-Reset)"
    assert reset > time.time(), f"the quota should reset in the future, but the refusal names {reset}"


@then("the refusal offers an upgrade")
def offers_upgrade(context):
    body = context.flow.last.answer.body
    assert isinstance(body, dict) and body.get("upgrade_url"), f"a payment refusal should offer an upgrade: {body}"
    assert "upgrade" in body.get("detail", "").lower(), f"the refusal should tell the user to upgrade: {body}"


@then("the refusal says {required:Amount} credits are required and {available:Amount} are available")
def says_required(context, required, available):
    body = context.flow.last.answer.body
    assert body.get("required") == required, f"the refusal should say {required} credits are required: {body}"
    assert body.get("available") == available, f"the refusal should say {available} credits are available: {body}"


@then("the refusal explains that no credits are allocated to {name}")
def explains_missing_allocation(context, name):
    answer = context.flow.last.answer
    assert answer.error_code == "no_credit_allocation", (f"{name}'s refusal should name the missing allocation, "
                                                         f"not {answer.error_code}: {answer.detail}")
    assert "allocat" in answer.detail.lower(), f"the refusal should explain the missing allocation: {answer.detail}"


@then("the retry is refused as already charged")
def retry_refused(context):
    first, retry = context.flow.outcomes[-2:]
    assert first.succeeded, f"the first call should succeed, but {first.describe()}"
    assert not retry.succeeded and retry.answer.status == 409, (
        f"a retried call must not be charged again, but the retry {retry.describe()}")


@then("the call fails and {name} is told the provider failed")
def provider_failed(context, name):
    outcome = context.flow.last
    assert outcome.answer.status in (502, 503, 504), f"{name} should hear the provider failed: {outcome.describe()}"
    assert "provider" in outcome.answer.detail.lower(), f"the error should name the provider: {outcome.answer.detail}"
