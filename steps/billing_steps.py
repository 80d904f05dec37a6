"""Lago: subscriptions on the right plan and usage events for every call."""

from behave import then

from creditflow.screenplay.questions.calls import UsageBilled
from creditflow.screenplay.questions.money import ChargesOfLastCall, Subscriptions
from creditflow.wording import counted, dollars, figure, listing


@then("billing has {customer:Customer} subscribed to the {plan} plan at {price:Dollars} a month")
async def subscribed(context, customer, plan, price):
    known, plans = await context.stage.crew.asks(Subscriptions(customer))
    assert known, f"billing should know {customer} as a customer"
    assert plan in plans, (f"billing should have {customer} on the {plan} plan, but has "
                           f"{listing(sorted(plans)) or 'no subscription'}")
    assert plans[plan] == price, (f"billing should charge {customer} {dollars(price)} a month for the {plan} plan, "
                                  f"but charges {'no price' if plans[plan] is None else dollars(plans[plan])}")


@then("billing received the usage of {name:Persona}'s call on {org:Org}'s subscription")
async def usage_on_org(context, name, org):
    _, event = await name.asks(UsageBilled())
    assert event is not None, f"billing should have received the usage of {name}'s call"
    assert event.customer and event.customer.endswith(org.org_id), (
        f"{name}'s usage should be billed on {org}'s subscription, not on {event.customer}")
    assert event.member in (name.email, name.user_id), (
        f"the usage billed to {org} should name {name}, but names {event.member}")


@then("billing received the usage of {name:Persona}'s call as the ledger charged it")
async def usage_as_charged(context, name):
    _, event = await name.asks(UsageBilled())
    charges = await name.asks(ChargesOfLastCall())
    assert len(charges) == 1, f"the ledger should show 1 charge for {name}'s call, but shows {len(charges)}"
    charged = charges[0]
    assert event is not None, f"billing should have received the usage of {name}'s call"
    assert event.credits == charged.credits, (
        f"billing should have received the {counted(charged.credits, 'credit')} the ledger charged for {name}'s call, "
        f"but received {figure(event.credits, 'no credits')}")
    if charged.tokens is not None:
        assert event.tokens == charged.tokens, (
            f"billing should have received the {counted(charged.tokens, 'token')} the ledger charged {name}'s call "
            f"for, but received {figure(event.tokens, 'no tokens')}")


@then("billing received the usage of {name:Persona}'s call")
async def usage_received(context, name):
    call, event = await name.asks(UsageBilled())
    assert event is not None, f"billing should have received the usage of {name}'s call"
    assert event.model == call.model, f"the usage billed should name {call.model}, not {event.model}"
    assert event.tokens == call.tokens, f"the usage billed should carry {call.tokens} tokens, not {event.tokens}"
    assert event.credits == call.cost, f"the usage billed should carry {call.cost} credits, not {event.credits}"
