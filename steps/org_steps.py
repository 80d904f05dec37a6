"""Organization administration: allocations, books and who may see them."""

import re

from behave import then, when

from creditflow.deployments.base import RefusalKind
from creditflow.screenplay.actors import Actor, Organization
from creditflow.screenplay.questions.organizations import Attributed, Members, OrganizationsCreated
from creditflow.screenplay.tasks.accounts import no_ones
from creditflow.screenplay.tasks.money import BuyFor, BuyOwn
from creditflow.screenplay.tasks.organizations import (
    Allocate,
    AllocateExactly,
    AllocateJustUnder,
    AllocateNaming,
    AskForCredits,
    InviteNaming,
    TryToCreateOrganization,
)
from creditflow.verdicts import claims
from creditflow.wording import listing

# What a request naming no one's account gives, for each way it is refused (docs/contract.md, "Endpoints").
GIVES = {RefusalKind.INVALID: "a name past the length a name may have",
         RefusalKind.NOT_FOUND: "a name of a length a name may have, but no one's"}


def acting_admin(admin: Actor, org: Organization) -> None:
    """The step names the organization's admin as the one who acts: any other name is a mistake in the scenario."""
    assert org.admin is admin, f"{admin} is not the admin of {org} in this scenario"


@when("{admin:Persona} tries to allocate {credits:Credits} of {org:Org}'s credits to {name:Persona}")
async def try_allocate(context, admin, credits, org, name):
    acting_admin(admin, org)
    await admin.attempts_to(Allocate(org, name, credits))


@when("{admin:Persona} tries to allocate {org:Org}'s credits to {name:Persona}, just under what that call cost")
async def try_allocate_under_use(context, admin, org, name):
    acting_admin(admin, org)
    call, plan = name.succeeded_call(), name.account.plan
    credits = context.stage.just_under(call.model, call.tokens, plan)
    await admin.attempts_to(AllocateJustUnder(org, name, credits, "what that call cost"))


@when("{admin:Persona} tries to allocate {org:Org}'s credits to {name:Persona}, exactly what that call cost")
async def try_allocate_use(context, admin, org, name):
    acting_admin(admin, org)
    await admin.attempts_to(AllocateExactly(org, name, context.stage.price_of(name), "what that call cost"))


@when("{admin:Persona} tries to allocate {credits:Credits} of {org:Org}'s credits naming no member")
async def try_allocate_to_no_one(context, admin, credits, org):
    acting_admin(admin, org)
    await admin.attempts_to(AllocateNaming(org, credits, user_id=None, email=None))


@when("{admin:Persona} tries to allocate {credits:Credits} of {org:Org}'s credits naming a member by {name:NoOnesName}")
async def try_allocate_to_no_ones_name(context, admin, credits, org, name):
    acting_admin(admin, org)
    await admin.attempts_to(AllocateNaming(org, credits, *no_ones(admin, name)))


@when("{admin:Persona} tries to invite someone to {org:Org} by {name:NoOnesName}")
async def try_invite_no_ones_name(context, admin, org, name):
    acting_admin(admin, org)
    await admin.attempts_to(InviteNaming(org, *no_ones(admin, name)))


@when("{admin:Persona} tries to allocate {credits:Credits} of {org:Org}'s credits naming "
      "{first:Persona} by identity and {second:Persona} by e-mail")
async def try_allocate_to_two(context, admin, credits, org, first, second):
    acting_admin(admin, org)
    await admin.attempts_to(AllocateNaming(org, credits, user_id=first.user_id, email=second.email))


@when("{admin:Persona} tries to buy {amount} credits for {org:Org}")
async def try_buy(context, admin, amount, org):
    if org.name in ("herself", "himself"):  # a purchase of one's own: one pattern, or behave would find two that match
        await admin.attempts_to(BuyOwn(literal(amount)))
        return
    acting_admin(admin, org)
    await admin.attempts_to(BuyFor(org, literal(amount)))


def literal(text: str):
    """An amount as a client might send it: a number when it reads as one ("10,000" as people write it), else the
    text itself."""
    number_text = text.replace(",", "") if re.fullmatch(r"-?\d{1,3}(,\d{3})+", text) else text
    for kind in (int, float):
        try:
            return kind(number_text)
        except ValueError:
            continue
    return text


@when("{name:Persona} asks for {org:Org}'s credits")
async def ask_for_books(context, name, org):
    await name.attempts_to(AskForCredits(org))


def refused(name: Actor, kinds: tuple[RefusalKind, ...], why: str):
    reply = name.tried()
    assert reply.refusal is not None and reply.refusal.kind in kinds, (
        f"{name} should be refused {why}, but Ops-Center {reply.describe()}")
    return reply.refusal


@then("{name:Persona} is refused because the allocation would exceed the pool")
@claims("contract.endpoints")  # how a refusal reads; that the pool did not move is the Rule's invariant
def allocation_refused(context, name):
    refusal = refused(name, (RefusalKind.CONFLICT, RefusalKind.INVALID), "because the pool is too small")
    assert "pool" in refusal.detail.lower(), f"the refusal should say the pool is exceeded: '{refusal.detail}'"


@then("{admin:Persona} is refused because {name:Persona} has already used more than that")
def allocation_below_use_refused(context, admin, name):
    refusal = refused(admin, (RefusalKind.CONFLICT, RefusalKind.INVALID),
                      f"because {name} already used more than the allocation offered")
    assert "used" in refusal.detail.lower(), f"the refusal should say what {name} already used: '{refusal.detail}'"


@then("the platform admin is refused because the e-mail names more than one account")
def ambiguous_email(context):
    reply = context.stage.protagonist.tried()
    assert reply.refusal is not None and reply.refusal.kind is RefusalKind.CONFLICT, (
        f"a grant by an e-mail that names more than one account must be refused (409), but Ops-Center "
        f"{reply.describe()}")
    assert "account" in reply.refusal.detail.lower(), f"the refusal should say why: '{reply.refusal.detail}'"


@then("{name:Persona} is refused because only an organization admin may do that")
@claims("contract.endpoints")  # the refusal's form; that nothing moved is the Rule's invariant
def refused_not_admin(context, name):
    refused(name, (RefusalKind.FORBIDDEN,), "as not an admin (403)")


@then("{name:Persona} is told there is no such organization")
@claims("contract.endpoints")  # 404 rather than 403 is creditflow's rule; that nothing moved is the Rule's invariant
def no_such_org(context, name):
    refused(name, (RefusalKind.NOT_FOUND,), "as an outsider to whom the organization looks absent (404)")


@then("{name:Persona} is told her call names an organization that is not hers")
@claims("contract.six-steps")  # 404 rather than 403 is creditflow's rule; that nothing moved is the Rule's invariant
def call_names_no_org_of_hers(context, name):
    call = name.last_call
    assert call.refusal is not None and call.refusal.kind is RefusalKind.NOT_FOUND, (
        f"{name}'s call names an organization she is not a member of, and should be refused as naming no organization "
        f"of hers (404), but the call {call.describe()}")


@then("{org:Org}'s usage report attributes the price of that call and {calls:Count} API call to {name:Persona}")
async def attribution(context, org, calls, name):
    price = context.stage.price_of(name)
    usage = await org.admin.asks(Attributed(org, name))
    assert usage is not None, f"{org}'s usage report should list {name}"
    assert usage.credits == price, f"{org} should attribute {price} credits to {name}, not {usage.credits}"
    assert usage.calls == calls, f"{org} should attribute {calls} API calls to {name}, not {usage.calls}"


@when("{admin:Persona} creates the organization {org:Org} with a name of {length:Count} character")
@when("{admin:Persona} creates the organization {org:Org} with a name of {length:Count} characters")
@when("{admin:Persona} tries to create the organization {org:Org} with a name of {length:Count} characters")
async def create_org_named(context, admin, org, length):
    await admin.attempts_to(TryToCreateOrganization(org, "platform", length))


@when("{admin:Persona} tries to create the organization {org:Org} with an empty name")
async def create_org_unnamed(context, admin, org):
    await admin.attempts_to(TryToCreateOrganization(org, "platform", 0))


@then("{admin:Persona}'s organization {org:Org} is created")
def org_created(context, admin, org):
    reply = admin.last_reply
    assert reply.ok, f"{admin}'s organization {org} should be created, but Ops-Center {reply.describe()}"


@then("{admin:Persona} has no organizations but {org:Org}")
async def only_org(context, admin, org):
    held = await admin.asks(OrganizationsCreated())
    assert held == [org.name], f"{admin} should have only the organization {org}, but has {', '.join(held) or 'none'}"


@then("{who:Persona}'s {act} is refused as {kind:NameRefusal}")
def refused_naming_no_one(context, who, act, kind):
    # the platform admin is the run's operator, who is in no scenario's cast
    actor = context.stage.protagonist if who.name == "the platform admin" else who
    reply = actor.tried()
    assert reply.refusal is not None and reply.refusal.kind is kind, (
        f"{who}'s {act} gives {GIVES[kind]}, so it should be refused as {kind}, but Ops-Center {reply.describe()}")


@then("{org:Org}'s members are still {names}")
async def members_unchanged(context, org, names):
    members = await context.stage.crew.asks(Members(org))
    assert members == sorted(re.split(r", | and ", names)), (
        f"{org}'s members should still be {names}, but are {listing(members)}")


@then("{name:Persona}'s purchase is refused as invalid, naming what is wrong")
@then("{name:Persona}'s allocation is refused as invalid, naming what is wrong")
@then("{name:Persona}'s organization is refused as invalid, naming what is wrong")
@then("{name:Persona}'s key is refused as invalid, naming what is wrong")
def refused_as_invalid(context, name):
    refusal = refused(name, (RefusalKind.INVALID,), "as invalid, never accepted or a server error")
    assert refusal.detail, "the refusal should say what is wrong"
