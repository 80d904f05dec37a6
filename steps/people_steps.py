"""Who is in the scenario: individuals, organizations, members, allocations and keys."""

from behave import given, when

from creditflow.screenplay.tasks.accounts import MakeAccountAgain, SignUp, StartWith, no_ones
from creditflow.screenplay.tasks.keys import StoreOwnKey
from creditflow.screenplay.tasks.money import Grant, GrantByEmail, GrantNaming, Stock
from creditflow.screenplay.tasks.organizations import (
    MEMBER_PLAN,
    Allocate,
    AllocateExactly,
    AllocateJustUnder,
    CreateOrganization,
    Join,
)
from creditflow.screenplay.tasks.provider import MakeTheProviderFail, MakeTheProviderStream, MakeTheProviderUse
from creditflow.wording import number


@given("{name:Persona} is an individual on the {plan:Plan} plan with {credits:Credits} credits")
async def individual(context, name, plan, credits):
    await name.attempts_to(SignUp(plan, credits))


@given("{name:Persona} is an individual on the {plan:Plan} plan with credits for exactly {count:Count} {model} calls "
       "of {tokens:Count} tokens")
async def individual_with_calls_worth(context, name, plan, count, model, tokens):
    await name.attempts_to(SignUp(plan, context.stage.worth(count, model, tokens, plan)))


@given("{name:Persona} is an individual on the {plan:Plan} plan with credits for just under one {model} call "
       "of {tokens:Count} tokens")
async def individual_just_short(context, name, plan, model, tokens):
    await name.attempts_to(SignUp(plan, context.stage.just_under(model, tokens, plan)))


@given("{name:Persona} has just signed up on the {plan:Plan} plan and bought nothing")
async def just_signed_up(context, name, plan):
    """Only what the product does itself when a user signs up and signs in: none of a deployment's workarounds."""
    await name.attempts_to(SignUp(plan, arranged=False))


@given("{name:Persona} has been granted {credits:Credits} credits")
async def has_been_granted(context, name, credits):
    await name.attempts_to(StartWith(credits))


@given("{name:Persona}'s account was deleted and created again with the same e-mail")
async def recreated(context, name):
    await name.attempts_to(MakeAccountAgain())


@when("the platform admin grants {name:Persona} {credits:Credits} credits")
async def granted(context, name, credits):
    await (await context.stage.platform_admin()).attempts_to(Grant(credits, to=name))


@when("the platform admin grants {credits:Credits} credits to {name:Persona}'s e-mail")
@when("the platform admin tries to grant {credits:Credits} credits to {name:Persona}'s e-mail")
async def grant_by_email(context, credits, name):
    await (await context.stage.platform_admin()).attempts_to(GrantByEmail(credits, to=name))


@when("the platform admin tries to grant {credits:Credits} credits to someone by {name:NoOnesName}")
async def grant_to_no_ones_name(context, credits, name):
    admin = await context.stage.platform_admin()
    await admin.attempts_to(GrantNaming(credits, *no_ones(admin, name)))


@given("{admin:Persona} has created the organization {org:Org} on the {plan:Plan} plan")
async def organization(context, admin, org, plan):
    await admin.attempts_to(CreateOrganization(org, plan))


@given("{org:Org} has bought {credits:Credits} credits")
async def bought(context, org, credits):
    await org.admin.attempts_to(Stock(org, credits))


@given("{name:Persona} is a member of {org:Org} with {credits:Credits} allocated credits")
async def member_with_allocation(context, name, org, credits):
    await name.attempts_to(Join(org))
    allocated(name, org, await org.admin.attempts_to(Allocate(org, name, credits)), credits)


@given("{name:Persona} is a member of {org:Org} with credits allocated for exactly {count:Count} {model} calls "
       "of {tokens:Count} tokens")
async def member_with_calls_worth(context, name, org, count, model, tokens):
    what = f"{number(count)} {model} calls of {number(tokens)} tokens"
    credits = context.stage.worth(count, model, tokens, MEMBER_PLAN)
    await name.attempts_to(Join(org))
    allocated(name, org, await org.admin.attempts_to(AllocateExactly(org, name, credits, what)))


@given("{name:Persona} is a member of {org:Org} with credits allocated for just under one {model} call of "
       "{tokens:Count} tokens")
async def member_just_short(context, name, org, model, tokens):
    credits, what = context.stage.just_under(model, tokens, MEMBER_PLAN), f"one {model} call of {number(tokens)} tokens"
    await name.attempts_to(Join(org))
    allocated(name, org, await org.admin.attempts_to(AllocateJustUnder(org, name, credits, what)))


def allocated(name, org, reply, credits=None):
    """The allocation a Given step arranged was accepted, or the scenario cannot be arranged, saying why."""
    what = f"{number(credits)} credits" if credits is not None else "The credits"
    assert reply.ok, f"{what} could not be allocated to {name} in {org}: Ops-Center {reply.describe()}"


@given("{name:Persona} is a member of {org:Org}")
async def member(context, name, org):
    await name.attempts_to(Join(org))


@given("{name:Persona} has stored her own OpenRouter key")
async def stored_key(context, name):
    reply = await name.attempts_to(StoreOwnKey())
    assert reply.ok, f"{name}'s OpenRouter key was not stored: Ops-Center {reply.describe()}"


@given("the LLM provider uses {percent:Count} percent of each call's token budget")
async def provider_uses_share(context, percent):
    await context.stage.crew.attempts_to(MakeTheProviderUse(percent))


@given("the LLM provider is failing")
async def provider_failing(context):
    await context.stage.crew.attempts_to(MakeTheProviderFail())


@given("the LLM provider reports no usage in streamed answers")
async def provider_hides_stream_usage(context):
    await context.stage.crew.attempts_to(MakeTheProviderStream(usage=False))


@given("the LLM provider breaks off its streamed answers after {pieces:Count} pieces")
async def provider_breaks_off(context, pieces):
    await context.stage.crew.attempts_to(MakeTheProviderStream(breaks_after=pieces))


@given("the LLM provider writes its answers slowly")
async def provider_writes_slowly(context):
    await context.stage.crew.attempts_to(MakeTheProviderStream(slowly=True))
