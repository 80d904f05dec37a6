"""The integration checklist: each part of the stack doing its part."""

from behave import then


@then("Ops-Center reports every part healthy")
async def healthy(context):
    answer = await context.services.api.health()
    unhealthy = {part: state for part, state in (answer.body or {}).items() if state != "ok"}
    assert answer.ok and not unhealthy, f"every part should be healthy, but: {unhealthy or answer.status}"
    for part in ("postgres", "redis", "keycloak", "litellm", "lago"):
        assert part in answer.body, f"the health report should cover {part}: {answer.body}"


@then("{name}'s sign-in is signed by the realm and names the {plan} plan")
async def signed_in(context, name, plan):
    claims = await context.flow.token_claims(name)
    assert claims.get("subscription_tier") == plan, f"{name}'s sign-in should name the {plan} plan: {claims}"
    assert claims.get("email") == context.flow.persona(name).email, f"{name}'s sign-in should carry her e-mail"


@then("a stranger without a valid sign-in is turned away")
async def stranger_refused(context):
    for token in (None, "not-a-token", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"):
        answer = await context.flow.anonymous_balance(token)
        assert answer.status == 401, f"a caller without a valid sign-in must be refused (401), got {answer.status}"


@then("{name}'s balance in the ledger equals her opening credits less her charges")
async def ledger_consistent(context, name):
    opening = context.flow.opening(name).credits
    charged = sum(charge.credits for charge in await context.flow.own_charges(name))
    balance = await context.flow.ledger_balance(name)
    assert balance == opening - charged, (f"{name}'s ledger balance should be {opening} - {charged} = "
                                          f"{opening - charged}, but is {balance}")


@then("the cached balance of {name} agrees with the ledger")
async def cache_agrees(context, name):
    cached, ledger = await context.flow.cached_balance(name), await context.flow.ledger_balance(name)
    assert cached == ledger, f"the cache says {name} has {cached} credits but the ledger says {ledger}"


@then("the cached API-call count of {name} agrees with her usage")
async def calls_cached(context, name):
    cached, tracked = await context.flow.cached_calls(name), await context.flow.ledger_calls(name)
    assert cached == tracked, f"the cache counts {cached} API calls for {name}, but usage tracking counts {tracked}"


@then("the request is refused as invalid, naming what is wrong")
def refused_invalid(context):
    answer = context.answer
    assert answer.status == 422, f"a malformed request must be refused (422), never a {answer.status}"
    assert answer.error_code and answer.detail, f"the refusal should name what is wrong: {answer.body}"
