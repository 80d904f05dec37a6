"""Where the credits went: the payer, the cost, balances, allocations and the ledger."""

from decimal import Decimal

from behave import then

from creditflow.deployments.base import Allocation, Payer
from creditflow.screenplay.actors import Actor, Organization
from creditflow.screenplay.questions.money import MemberCharges, OpeningBalance, OwnBalance, OwnCharges
from creditflow.screenplay.questions.organizations import AllocationIn, OrgCharges, OrgStatement, PoolOf
from creditflow.verdicts import claims
from creditflow.wording import figure, number


def assert_paid(name: Actor, payer: Payer, credits) -> None:
    call = name.succeeded_call()
    assert call.paid_by == payer, f"{name}'s call should be paid by {payer}, but Ops-Center {call.describe()}"
    assert call.cost == credits, f"{name}'s call should cost {credits} credits, but cost {call.cost}"


@then("the call is billed to {name:Persona}'s own credits at the price of that call")
def billed_to_own_credits(context, name):
    assert_paid(name, Payer.OWN_CREDITS, context.stage.price_of(name))


@then("the call is billed to {name:Persona}'s own key at no cost")
def billed_to_own_key(context, name):
    call = name.succeeded_call()
    assert call.cost == 0, f"{name}'s call should cost nothing, but cost {call.cost} credits"
    assert call.paid_by == Payer.BYOK, f"{name}'s call should be paid by her own key, but Ops-Center {call.describe()}"


@then("the call is billed to the organization at the price of that call")
def billed_to_organization(context):
    stage = context.stage
    name = stage.protagonist
    assert_paid(name, Payer.ORGANIZATION, stage.price_of(name))


@then("the call costs {credits:Credits} credits, the model's price times the tokens reported")
def priced_by_tokens(context, credits):
    call = context.stage.protagonist.succeeded_call()
    assert call.cost == credits, (f"{call.tokens} tokens of {call.model} should cost {credits} credits "
                                  f"(the guide's price table), but Ops-Center charged {call.cost}")


@then("the call costs the price of {tokens:Count} tokens of {model}")
def priced_by_tokens_used(context, tokens, model):
    stage = context.stage
    caller = stage.protagonist
    call, price = caller.succeeded_call(), stage.price(model, tokens, caller.account.plan)
    assert call.tokens == tokens, (f"Ops-Center should report the {tokens} tokens the provider used for "
                                   f"{caller.name}'s call, but reported {figure(call.tokens, 'none')}")
    assert call.cost == price, (f"{caller.name}'s call used {tokens} tokens of {model} and should cost {price} "
                                f"credits, but cost {call.cost}")


@then("the call costs what a {model} call of {tokens:Count} tokens costs")
def priced_as_the_bare_model(context, model, tokens):
    stage = context.stage
    caller = stage.protagonist
    call, price = caller.succeeded_call(), stage.price(model, tokens, caller.account.plan)
    assert call.cost == price, (f"{caller.name}'s call to {call.model} should cost what a {model} call costs, "
                                f"{price} credits, but cost {call.cost}")


@then("{name:Persona} has {credits:Credits} credits left")
@claims("invariant.money")
async def credits_left(context, name, credits):
    balance = await name.asks(OwnBalance())
    assert balance.credits == credits, f"{name} should have {credits} credits left, but has {balance.credits}"


@then("{name:Persona} has credits for exactly {count:Count} such calls left")
@claims("invariant.money")
async def calls_worth_left(context, name, count):
    stage = context.stage
    expected = count * stage.price_of(name, succeeded=False)
    balance = await name.asks(OwnBalance())
    assert balance.credits == expected, (f"{name} should have credits for exactly {count} such calls left "
                                         f"({expected} credits), but has {balance.credits}")


@then("{name:Persona}'s credits are down by the price of that call")
@claims("invariant.money")
async def down_by_price(context, name):
    stage = context.stage
    price, opening = stage.price_of(name), await name.asks(OpeningBalance())
    balance = await name.asks(OwnBalance())
    assert balance.credits == opening.credits - price, (f"{name}'s {opening.credits} credits should be down by "
                                                        f"{price} to {opening.credits - price}, but are "
                                                        f"{balance.credits}")


@then("{name:Persona}'s credits are untouched")
@then("{name:Persona}'s own credits are untouched")
@claims("invariant.money")
async def own_credits_untouched(context, name):
    opening = await name.asks(OpeningBalance())
    balance = await name.asks(OwnBalance())
    assert balance.credits == opening.credits, (f"{name}'s own credits should stay at {opening.credits}, "
                                                f"but are {balance.credits}")


async def allocation_after_call(stage, name: Actor, org: Organization, start: Decimal) -> tuple[Allocation, Decimal]:
    """`name`'s allocation in `org`, which must be `start` credits, and the price of her last call."""
    price, allocation = stage.price_of(name), await name.asks(AllocationIn(org))
    assert allocation.allocated == start, (f"{name}'s allocation in {org} should be {number(start)} credits, but is "
                                           f"{number(allocation.allocated)}")
    return allocation, price


@then("{name:Persona}'s allocation in {org:Org} is down from {start:Credits} by the price of that call")
@claims("invariant.money")
async def allocation_down(context, name, org, start):
    allocation, price = await allocation_after_call(context.stage, name, org, start)
    assert allocation.remaining == start - price, (f"{name} should have {start - price} of {start} allocated "
                                                   f"credits remaining in {org}, but has {allocation.remaining}")
    assert allocation.used == price, f"{name} should have used {price} credits in {org}, not {allocation.used}"


@then("{name:Persona}'s allocation in {org:Org} is {start:Credits} credits, less the price of that call")
@claims("invariant.money")
async def allocation_changed_after_call(context, name, org, start):
    allocation, price = await allocation_after_call(context.stage, name, org, start)
    assert allocation.remaining == start - price, (f"{name} should have {start - price} of her new {start} credits "
                                                   f"left, what her call used being kept, but has "
                                                   f"{allocation.remaining}")


@then("{name:Persona}'s allocation in {org:Org} shows no credits allocated, used or left")
async def no_allocation(context, name, org):
    allocation = await name.asks(AllocationIn(org))
    shown = (allocation.allocated, allocation.used, allocation.remaining)
    assert shown == (0, 0, 0), (f"no credits are allocated to {name} in {org}, so the allocation should show 0 "
                                f"allocated, 0 used and 0 left, but shows {shown[0]} allocated, {shown[1]} used and "
                                f"{shown[2]} left")


@then("{name:Persona} still has all {credits:Credits} of her allocated credits in {org:Org}")
@then("{name:Persona} still has all {credits:Credits} of his allocated credits in {org:Org}")
@claims("invariant.money")
async def allocation_untouched(context, name, credits, org):
    allocation = await name.asks(AllocationIn(org))
    assert (allocation.allocated, allocation.used, allocation.remaining) == (credits, 0, credits), (
        f"{name} should still have all {credits} credits allocated in {org}, none used, but has "
        f"{allocation.remaining} left of {allocation.allocated}, {allocation.used} used")


@then("{name:Persona}'s allocation in {org:Org} is used up")
@claims("invariant.money")
async def allocation_used_up(context, name, org):
    allocation = await name.asks(AllocationIn(org))
    assert allocation.remaining == 0 and allocation.used == allocation.allocated, (
        f"{name}'s allocation in {org} should be used up, but {allocation.used} of {allocation.allocated} "
        f"are used and {allocation.remaining} remain")


@then("{org:Org} holds no credits")
@claims("invariant.money")  # credits that appear without a purchase are money created
async def holds_nothing(context, org):
    statement = await context.stage.crew.asks(OrgStatement(org))
    assert statement is None or statement.left == statement.charged == 0, (
        f"{org} should hold no credits, but its books hold {statement.left} and show {statement.charged} charged")


@then("{org:Org}'s pool holds {credits:Credits} credits of which {allocated:Credits} are allocated")
@claims("invariant.money")
async def pool_with_allocations(context, org, credits, allocated):
    pool = await org.admin.asks(PoolOf(org))
    assert pool.remaining == credits, f"{org}'s pool should hold {credits} credits, but holds {pool.remaining}"
    assert pool.allocated == allocated, f"{org} should have {allocated} credits allocated, not {pool.allocated}"


@then("{org:Org}'s pool is down by the price of that call")
@claims("invariant.money")
async def pool_down_by_one(context, org):
    await pool_down(context.stage, org, 1)


@then("{org:Org}'s pool is down by the price of {count:Count} such calls")
@claims("invariant.money")
async def pool_down_by_many(context, org, count):
    await pool_down(context.stage, org, count)


async def pool_down(stage, org: Organization, count: int) -> None:
    spent = count * stage.price_of(stage.protagonist, succeeded=False)
    bought, pool = org.bought, await org.admin.asks(PoolOf(org))
    assert pool.remaining == bought - spent, (f"{org}'s pool of {bought} credits should be down by {spent} to "
                                              f"{bought - spent}, but holds {pool.remaining}")
    assert pool.used == spent, f"{org}'s pool should show {spent} credits used, but shows {pool.used}"


@then("nothing was charged to {org:Org}")
@claims("invariant.money")
async def nothing_charged_to_org(context, org):
    charges = await context.stage.crew.asks(OrgCharges(org))
    assert not charges, f"nothing should be charged to {org}, but the ledger shows {len(charges)} charges"
    pool = await org.admin.asks(PoolOf(org))
    assert pool.used == 0, f"{org}'s pool should show no credits used, but shows {pool.used}"


def assert_charges(stage, charges, count: int, name: Actor, whom: str) -> None:
    price = stage.price_of(name, succeeded=False)
    amounts = sorted({charge.credits for charge in charges})
    assert len(charges) == count, (f"the ledger should show {count} charge{'s' * (count != 1)} to {whom}, but shows "
                                   f"{len(charges)}")
    assert amounts == [price], f"each charge to {whom} should be the price of one call, {price} credits: {amounts}"
    assert len({charge.request_id for charge in charges}) == count, f"a call charged to {whom} was charged twice"


@then("the ledger shows exactly {count:Count} charge to {name:Persona} in {org:Org}, each the price of one such call")
@then("the ledger shows exactly {count:Count} charges to {name:Persona} in {org:Org}, each the price of one such call")
@claims("invariant.money")
async def member_charges(context, count, name, org):
    assert_charges(context.stage, await name.asks(MemberCharges(org)), count, name,
                   f"{name} in {org}")


@then("the ledger shows exactly {count:Count} charge to {name:Persona}, each the price of one such call")
@then("the ledger shows exactly {count:Count} charges to {name:Persona}, each the price of one such call")
@claims("invariant.money")
async def own_charges(context, count, name):
    assert_charges(context.stage, await name.asks(OwnCharges()), count, name, name)


@then("the ledger shows no charge to {name:Persona}")
@claims("invariant.money")
async def no_charge(context, name):
    charges = await name.asks(OwnCharges())
    assert not charges, f"no credits should be charged to {name}, but the ledger shows {len(charges)} charges"
