"""Money in: purchases paid at the payment provider, its events, and refunds."""

from behave import given, then, when

from creditflow.deployments.base import RefusalKind
from creditflow.screenplay.actors import Organization, expect
from creditflow.screenplay.questions.money import PaidAtTheProvider, PaymentOutcome
from creditflow.screenplay.questions.organizations import PoolOf
from creditflow.screenplay.tasks.money import BuyFor, BuyOwn, PutOnFile, Refund
from creditflow.screenplay.tasks.payment_events import PayElsewhere, Redeliver
from creditflow.verdicts import claims
from creditflow.wording import counted, dollars, number


@given("{payer:Customer} pays with {method:PayWith}")
async def pays_with(context, payer, method):
    """`payer`: an organization, whose admin puts the method on file, or a person paying for themself."""
    org = payer if isinstance(payer, Organization) else None
    who = org.admin if org else payer
    expect(await who.attempts_to(PutOnFile(method, org)),
           f"{who} could not put {method.name.lower().replace('_', ' ')} on file for {payer}")


@when("{admin:Persona} tries to put on file for {org:Org} {method:PayWith}")
async def try_pay_with(context, admin, org, method):
    await admin.attempts_to(PutOnFile(method, org))


@when("{name:Persona} buys {credits:Credits} credits for herself")
@when("{name:Persona} buys {credits:Credits} credits for himself")
async def buys_own(context, name, credits):
    expect(await name.attempts_to(BuyOwn(credits)), f"{name}'s purchase of {number(credits)} credits "
                                                                 "was not accepted")


# After the step above, which would otherwise read "herself" as an organization.
@when("{admin:Persona} buys {credits:Credits} credits for {org:Org}")
async def buys_for(context, admin, credits, org):
    expect(await org.admin.attempts_to(BuyFor(org, credits)), f"{admin}'s purchase of {number(credits)} credits "
                                                                 f"for {org} was not accepted")


@then("once the payment has failed, {org:Org} holds {credits:Credits} credits")
@claims("invariant.money-in")
async def holds_once_settled(context, org, credits):
    outcome = await context.stage.crew.asks(PaymentOutcome(org))
    pool = await org.admin.asks(PoolOf(org))
    assert pool.remaining == credits, (f"once the payment provider said the payment {outcome}, {org} should hold "
                                       f"{number(credits)} credits, but holds {number(pool.remaining)}")


# After the step above, which would otherwise read "once the payment has failed, Acme" as an organization.
@then("{org:Org} holds {credits:Credits} credits")
@claims("invariant.money-in")
async def holds(context, org, credits):
    pool = await org.admin.asks(PoolOf(org))
    assert pool.remaining == credits, f"{org} should hold {number(credits)} credits, but holds {number(pool.remaining)}"


@then("the payment provider charged {whose:Customer} {amount:Dollars} for them")
async def provider_charged(context, whose, amount):
    paid = await context.stage.crew.asks(PaidAtTheProvider(whose))
    assert paid.payments == 1 and paid.charged == amount, (
        f"the payment provider should show one payment of {dollars(amount)} by {whose}, but shows "
        f"{counted(paid.payments, 'payment')} of {dollars(paid.charged)} in all")


@then("{name:Persona}'s purchase is refused as unpaid, saying why")
def refused_unpaid(context, name):
    reply = name.tried()
    assert reply.refusal is not None and reply.refusal.kind is RefusalKind.PAYMENT, (
        f"{name}'s purchase should be refused as unpaid (402), but Ops-Center {reply.describe()}")
    assert reply.refusal.detail, f"the refusal of {name}'s purchase should say why it was not paid"


@then("{name:Persona} is told the card was declined")
def card_declined(context, name):
    reply = name.tried()
    assert reply.refusal is not None and reply.refusal.kind is RefusalKind.PAYMENT, (
        f"{name} should be told the card was declined (402), but Ops-Center {reply.describe()}")


@when("the payment provider delivers {org:Org}'s payment event again {signing:Signing}")
async def redelivered(context, org, signing):
    await context.stage.crew.attempts_to(Redeliver(org, signing))


@when("the payment provider delivers {org:Org}'s payment event {copies:Count} more times at once")
async def redelivered_at_once(context, org, copies):
    await context.stage.crew.attempts_to(Redeliver(org, copies=copies))


@when("the payment provider reports {org:Org}'s payment again in an event of its own")
async def reported_again(context, org):
    await context.stage.crew.attempts_to(Redeliver(org, new_id=True))


@then("the event is refused as not the payment provider's")
@claims("invariant.money-in")
def event_refused(context):
    stage = context.stage
    reply = stage.deliveries[-1]
    assert reply.refusal is not None and reply.refusal.kind in (
        RefusalKind.INVALID, RefusalKind.UNAUTHORIZED, RefusalKind.FORBIDDEN), (
        f"{stage.delivered}, should be refused as not the payment provider's, but Ops-Center {reply.describe()}")


@when("someone else pays the payment provider {credits:Credits} credits' worth, labelled as {org:Org}'s")
async def paid_elsewhere(context, credits, org):
    await context.stage.crew.attempts_to(PayElsewhere(org, credits))


@when("the platform admin refunds {credits:Credits} credits of {org:Org}'s purchase")
async def refunds_part(context, credits, org):
    expect(await (await context.stage.platform_admin()).attempts_to(Refund(org, credits)),
           f"the platform admin could not refund {number(credits)} credits of {org}'s purchase")


# After the step above: "{org}'s purchase" would read "7,500 credits of Acme's purchase" as an organization's.
@when("the platform admin refunds {org:Org}'s purchase")
@when("the platform admin tries to refund {org:Org}'s purchase in full")
async def refunds(context, org):
    await (await context.stage.platform_admin()).attempts_to(Refund(org, None))


@then("the refund is refused, saying {credits:Credits} of its credits were spent or allocated")
@claims("contract.money-in")
def refund_refused(context, credits):
    reply = context.stage.protagonist.tried()
    assert reply.refusal is not None and reply.refusal.kind is RefusalKind.CONFLICT, (
        f"a refund of credits already spent or allocated should be refused (409), but Ops-Center {reply.describe()}")
    assert number(credits) in reply.refusal.detail, (
        f"the refusal should say that {number(credits)} of the purchase's credits were spent or allocated: "
        f"'{reply.refusal.detail}'")


@then("the payment provider gave {whose:Customer} back {amount:Dollars}")
async def given_back(context, whose, amount):
    paid = await context.stage.crew.asks(PaidAtTheProvider(whose))
    assert paid.given_back == amount, (f"the payment provider should have given {whose} back {dollars(amount)}, but "
                                       f"gave back {dollars(paid.given_back)}")

