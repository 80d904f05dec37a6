"""The integration checklist: each part of the stack doing its part."""

from behave import then

from creditflow.deployments.base import RefusalKind
from creditflow.screenplay.questions.calls import RoutedByLiteLLM
from creditflow.screenplay.questions.money import (
    CachedBalance,
    CachedCallCount,
    CallsCounted,
    LedgerBalance,
    OpeningBalance,
    OwnCharges,
)
from creditflow.screenplay.questions.sign_in import Health, PlanInIdentity, StrangersBalances
from creditflow.verdicts import claims

PARTS = ("postgres", "redis", "keycloak", "litellm", "lago")


@then("Ops-Center reports every part healthy")
async def healthy(context):
    reply = await context.stage.crew.asks(Health())
    assert reply.ok, f"Ops-Center should report its health, but {reply.describe()}"
    unhealthy = {part: state for part, state in reply.value.items() if state != "ok"}
    assert not unhealthy, f"every part should be healthy, but: {unhealthy}"
    missing = [part for part in PARTS if part not in reply.value]
    assert not missing, f"the health report should cover {', '.join(missing)}"


@then("{name:Persona}'s sign-in is signed by the realm and names the {plan} plan")
async def signed_in(context, name, plan):
    email, named_plan = await name.asks(PlanInIdentity())
    assert named_plan == plan, f"{name}'s sign-in should name the {plan} plan, not {named_plan}"
    assert email == name.email, f"{name}'s sign-in should carry her e-mail, not {email}"


@then("a stranger without a valid sign-in is turned away")
async def stranger_refused(context):
    for reply in await context.stage.crew.asks(StrangersBalances()):
        assert reply.refusal is not None and reply.refusal.kind is RefusalKind.UNAUTHORIZED, (
            f"a caller without a valid sign-in must be turned away (401), but Ops-Center {reply.describe()}")


@then("{name:Persona}'s balance in the ledger equals her opening credits less her charges")
async def ledger_consistent(context, name):
    opening = (await name.asks(OpeningBalance())).credits
    charged = sum(charge.credits for charge in await name.asks(OwnCharges()))
    balance = await name.asks(LedgerBalance())
    assert balance == opening - charged, (f"{name}'s ledger balance should be {opening} - {charged} = "
                                          f"{opening - charged}, but is {balance}")


@then("LiteLLM reports that it routed {name:Persona}'s call")
async def litellm_routed(context, name):
    reports = await name.asks(RoutedByLiteLLM())
    assert reports, f"LiteLLM should report routing {name}'s call, but reports no call of {name}'s"
    assert all(report.served for report in reports), (
        f"LiteLLM should report {name}'s call served, but reports a failure")


@then("the cached balance of {name:Persona} agrees with the ledger")
@claims("contract.redis")  # "after a call completes, the cache never disagrees with the ledger"
async def cache_agrees(context, name):
    """A cache that holds no balance disagrees with nothing: a read-through cache is emptied by each debit."""
    cached, ledger = await name.asks(CachedBalance()), await name.asks(LedgerBalance())
    assert cached is None or cached == ledger, (f"the cache says {name} has {cached} credits but the ledger says "
                                                f"{ledger}")


@then("the cached API-call count of {name:Persona} agrees with her usage")
async def calls_cached(context, name):
    cached, tracked = await name.asks(CachedCallCount()), await name.asks(CallsCounted())
    assert cached is not None, f"the cache should count {name}'s API calls, but holds no count (usage: {tracked})"
    assert cached == tracked, f"the cache counts {cached} API calls for {name}, but usage tracking counts {tracked}"


@then("{name:Persona}'s request is refused as invalid, naming what is wrong")
def refused_invalid(context, name):
    reply = name.tried()
    assert reply.refusal is not None and reply.refusal.kind is RefusalKind.INVALID, (
        f"{name}'s malformed request must be refused as invalid (422), but Ops-Center {reply.describe()}")
    assert reply.refusal.detail, "the refusal should name what is wrong"
