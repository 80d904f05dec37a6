"""Who is in the scenario: individuals, organizations and their members."""

from behave import given


@given("{name} is an individual on the {plan:Plan} plan with {credits:Amount} credits")
async def individual(context, name, plan, credits):
    await context.flow.sign_up(name, plan, credits)


@given("{admin} has created the organization {org} on the {plan:Plan} plan")
async def organization(context, admin, org, plan):
    await context.flow.create_org(admin, org, plan)


@given("{org} has bought {credits:Amount} credits")
async def bought(context, org, credits):
    answer = await context.flow.buy(org, credits)
    assert answer.status == 201, f"{org}'s purchase of {credits} credits was not accepted: {answer.detail}"


@given("{name} is a member of {org} with {credits:Amount} allocated credits")
async def member_with_allocation(context, name, org, credits):
    await context.flow.join(name, org)
    answer = await context.flow.allocate(org, name, credits)
    assert answer.ok, f"{credits} credits could not be allocated to {name} in {org}: {answer.detail}"


@given("{name} is a member of {org}")
async def member(context, name, org):
    await context.flow.join(name, org)


@given("{name} has stored her own OpenRouter key")
async def stored_key(context, name):
    answer = await context.flow.store_byok_key(name)
    assert answer.status == 201, f"{name}'s OpenRouter key was not stored: {answer.detail}"


@given("the LLM provider is failing")
async def provider_failing(context):
    await context.flow.break_provider()
