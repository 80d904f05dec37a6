"""Who is in the scenario: individuals, organizations, members, allocations and keys."""

from behave import given, when

from creditflow.people import MEMBER_PLAN
from creditflow.wording import number


@given("{name:Persona} is an individual on the {plan:Plan} plan with {credits:Credits} credits")
async def individual(context, name, plan, credits):
    await context.world.people.sign_up(name, plan, credits)


@given("{name:Persona} is an individual on the {plan:Plan} plan with credits for exactly {count:Count} {model} calls "
       "of {tokens:Count} tokens")
async def individual_with_calls_worth(context, name, plan, count, model, tokens):
    await context.world.people.sign_up(name, plan, context.world.worth(count, model, tokens, plan))


@given("{name:Persona} is an individual on the {plan:Plan} plan with credits for just under one {model} call "
       "of {tokens:Count} tokens")
async def individual_just_short(context, name, plan, model, tokens):
    await context.world.people.sign_up(name, plan, context.world.just_under(model, tokens, plan))


@given("{name:Persona} has just signed up on the {plan:Plan} plan and bought nothing")
async def just_signed_up(context, name, plan):
    """Only what the product does itself when a user signs up and signs in: none of a deployment's workarounds."""
    await context.world.people.sign_up(name, plan, arranged=False)


@given("{name:Persona} has been granted {credits:Credits} credits")
async def has_been_granted(context, name, credits):
    await context.world.people.grant(name, credits)


@given("{name:Persona}'s account was deleted and created again with the same e-mail")
async def recreated(context, name):
    await context.world.people.recreate(name)


@when("the platform admin grants {name:Persona} {credits:Credits} credits")
async def granted(context, name, credits):
    await context.world.people.admin_grants(name, credits)


@when("the platform admin grants {credits:Credits} credits to {name:Persona}'s e-mail")
@when("the platform admin tries to grant {credits:Credits} credits to {name:Persona}'s e-mail")
async def grant_by_email(context, credits, name):
    await context.world.people.grant_by_email(name, credits)


@when("the platform admin tries to grant {credits:Credits} credits to someone by {name:NoOnesName}")
async def grant_to_no_ones_name(context, credits, name):
    people = context.world.people
    await people.grant_naming(credits, *people.no_ones(name))


@given("{admin:Persona} has created the organization {org:Org} on the {plan:Plan} plan")
async def organization(context, admin, org, plan):
    await context.world.people.create_org(admin, org, plan)


@given("{org:Org} has bought {credits:Credits} credits")
async def bought(context, org, credits):
    await context.world.purchases.stock(org, credits)


@given("{name:Persona} is a member of {org:Org} with {credits:Credits} allocated credits")
async def member_with_allocation(context, name, org, credits):
    await context.world.people.join(name, org)
    allocated(name, org, await context.world.people.allocate(org, name, credits), credits)


@given("{name:Persona} is a member of {org:Org} with credits allocated for exactly {count:Count} {model} calls "
       "of {tokens:Count} tokens")
async def member_with_calls_worth(context, name, org, count, model, tokens):
    world, what = context.world, f"{number(count)} {model} calls of {number(tokens)} tokens"
    await world.people.join(name, org)
    allocated(name, org, await world.people.allocate_exactly(org, name, world.worth(count, model, tokens, MEMBER_PLAN),
                                                             what))


@given("{name:Persona} is a member of {org:Org} with credits allocated for just under one {model} call of "
       "{tokens:Count} tokens")
async def member_just_short(context, name, org, model, tokens):
    world = context.world
    await world.people.join(name, org)
    allocated(name, org, await world.people.allocate_under(org, name, world.just_under(model, tokens, MEMBER_PLAN),
                                                           f"one {model} call of {number(tokens)} tokens"))


def allocated(name, org, reply, credits=None):
    """The allocation a Given step arranged was accepted, or the scenario cannot be arranged, saying why."""
    what = f"{number(credits)} credits" if credits is not None else "The credits"
    assert reply.ok, f"{what} could not be allocated to {name} in {org}: Ops-Center {reply.describe()}"


@given("{name:Persona} is a member of {org:Org}")
async def member(context, name, org):
    await context.world.people.join(name, org)


@given("{name:Persona} has stored her own OpenRouter key")
async def stored_key(context, name):
    reply = await context.world.people.store_byok_key(name)
    assert reply.ok, f"{name}'s OpenRouter key was not stored: Ops-Center {reply.describe()}"


@given("the LLM provider uses {percent:Count} percent of each call's token budget")
async def provider_uses_share(context, percent):
    await context.world.people.provider_uses(percent)


@given("the LLM provider is failing")
async def provider_failing(context):
    await context.world.people.break_provider()


@given("the LLM provider reports no usage in streamed answers")
async def provider_hides_stream_usage(context):
    await context.world.people.provider_streams(usage=False)


@given("the LLM provider breaks off its streamed answers after {pieces:Count} pieces")
async def provider_breaks_off(context, pieces):
    await context.world.people.provider_streams(breaks_after=pieces)


@given("the LLM provider writes its answers slowly")
async def provider_writes_slowly(context):
    await context.world.people.provider_streams(slowly=True)
