"""Where the credits went: the payer, the cost, balances, allocations and the ledger."""

from behave import then

from creditflow.pricing import RATES, credits_for

PAYERS = {"own credits": "user", "organization": "organization", "own key": "byok"}


def assert_billed(outcome, payer: str, credits: int, who: str) -> None:
    assert outcome.succeeded, f"{who}'s call should have succeeded but {outcome.describe()}"
    assert outcome.billed_to == payer, f"{who}'s call should be billed to {payer}, not to {outcome.billed_to}"
    assert outcome.cost == credits, f"{who}'s call should cost {credits} credits, but cost {outcome.cost}"


@then("the call is billed to {name}'s own credits at {credits:Amount} credits")
def billed_to_own_credits(context, name, credits):
    assert_billed(context.flow.last, "user", credits, name)


@then("the call is billed to {name}'s own key at {credits:Amount} credits")
def billed_to_own_key(context, name, credits):
    assert_billed(context.flow.last, "byok", credits, name)


@then("the call is billed to the organization at {credits:Amount} credits")
def billed_to_organization(context, credits):
    outcome = context.flow.last
    assert_billed(outcome, "organization", credits, outcome.persona)


@then("the call costs {credits:Amount} credits, the model's price times the tokens reported")
def priced_by_tokens(context, credits):
    outcome = context.flow.last
    assert outcome.succeeded, f"the call should have succeeded but {outcome.describe()}"
    expected = credits_for(outcome.model, outcome.reported_tokens)
    assert expected == credits, (f"the contract prices {outcome.reported_tokens} tokens of {outcome.model} at "
                                 f"{expected} credits ({RATES[outcome.model]} per 1,000), not {credits}")
    assert outcome.cost == credits, (f"{outcome.reported_tokens} tokens of {outcome.model} should cost {credits} "
                                     f"credits, but Ops-Center charged {outcome.cost}")


@then("{name} has {credits:Amount} credits left")
async def credits_left(context, name, credits):
    snapshot = await context.flow.snapshot(name)
    assert snapshot.credits == credits, f"{name} should have {credits} credits left, but has {snapshot.credits}"


@then("{name}'s own credits are untouched")
async def own_credits_untouched(context, name):
    before, now = await context.flow.before_and_now(name)
    assert now.credits == before.credits, (f"{name}'s own credits should stay at {before.credits} when the "
                                           f"organization pays, but are {now.credits}")


@then("{name}'s allocation in {org} goes from {start:Amount} to {end:Amount} remaining credits")
async def allocation_moves(context, name, org, start, end):
    allocation = await context.flow.allocation(name, org)
    assert allocation["allocated"] == start, f"{name} should hold {start} allocated credits in {org}: {allocation}"
    assert allocation["remaining"] == end, (f"{name} should have {end} of {start} allocated credits remaining "
                                            f"in {org}, but has {allocation['remaining']}")
    assert allocation["used"] == start - end, f"{name}'s used credits in {org} should be {start - end}: {allocation}"


@then("{org}'s pool holds {credits:Amount} credits of which {allocated:Amount} are allocated")
async def pool_with_allocations(context, org, credits, allocated):
    pool = await context.flow.pool(org)
    assert pool["total_credits"] == credits, f"{org}'s pool should hold {credits} credits, but holds {pool}"
    assert pool["allocated_credits"] == allocated, f"{org} should have {allocated} credits allocated: {pool}"


@then("{org}'s pool holds {credits:Amount} credits")
async def pool_holds(context, org, credits):
    pool = await context.flow.pool(org)
    assert pool["total_credits"] == credits, f"{org}'s pool should hold {credits} credits, but holds {pool}"


@then("nothing was charged to {org}")
async def nothing_charged_to_org(context, org):
    charges = await context.flow.org_charges(org)
    assert not charges, f"nothing should be charged to {org}, but the ledger shows {len(charges)} charges"
    pool = await context.flow.pool(org)
    assert pool["used_credits"] == 0, f"{org}'s pool should show no credits used, but shows {pool}"


def assert_charges(charges, count: int, credits: int, whom: str) -> None:
    amounts = sorted({charge.credits for charge in charges})
    assert len(charges) == count, f"the ledger should show {count} charges to {whom}, but shows {len(charges)}"
    assert amounts == [credits], f"each charge to {whom} should be {credits} credits, found {amounts}"
    assert len({charge.request_id for charge in charges}) == count, f"a call charged to {whom} was charged twice"


@then("the ledger shows exactly {count:Amount} charge of {credits:Amount} credits to {name} in {org}")
@then("the ledger shows exactly {count:Amount} charges of {credits:Amount} credits to {name} in {org}")
async def member_charges(context, count, credits, name, org):
    assert_charges(await context.flow.member_charges(name, org), count, credits, f"{name} in {org}")


@then("the ledger shows exactly {count:Amount} charge of {credits:Amount} credits to {name}")
@then("the ledger shows exactly {count:Amount} charges of {credits:Amount} credits to {name}")
async def own_charges(context, count, credits, name):
    assert_charges(await context.flow.own_charges(name), count, credits, name)


@then("the ledger shows no charge to {name}")
async def no_charge(context, name):
    charges = await context.flow.own_charges(name)
    assert not charges, f"no credits should be charged to {name}, but the ledger shows {len(charges)} charges"
