"""Lago: subscriptions on the right plan and usage events for every call."""

from behave import then


@then("billing has {customer} subscribed to the {plan} plan")
async def subscribed(context, customer, plan):
    account, plans = await context.flow.billing_customer(customer)
    assert account is not None, f"billing should know {customer} as a customer"
    assert plan in plans, f"billing should have {customer} on the {plan} plan, but has {plans or 'no subscription'}"


@then("billing received the usage of {name}'s call on {org}'s subscription")
async def usage_on_org(context, name, org):
    outcome = context.flow.last
    event = await context.flow.billing_event(outcome)
    assert event is not None, f"billing should have received the usage of {name}'s call"
    assert event.external_subscription_id.endswith(context.flow.org(org).org_id), (
        f"{name}'s usage should be billed on {org}'s subscription, not {event.external_subscription_id}")
    assert event.properties.get("user_email") == context.flow.persona(name).email, (
        f"the usage event should name {name}: {event.properties}")


@then("billing received the usage of {name}'s call")
async def usage_received(context, name):
    outcome = context.flow.last
    event = await context.flow.billing_event(outcome)
    assert event is not None, f"billing should have received the usage of {name}'s call"
    assert event.code == "llm_call", f"the usage event should be an llm_call, not {event.code}"
    properties = event.properties or {}
    assert properties.get("model") == outcome.model, f"the usage event should name {outcome.model}: {properties}"
    assert properties.get("tokens") == outcome.reported_tokens, f"the usage event should carry the tokens: {properties}"
    assert properties.get("credits") == outcome.cost, f"the usage event should carry the credits: {properties}"
