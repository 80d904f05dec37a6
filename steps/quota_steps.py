"""API-call quotas and the refusals a caller gets: 402 and 429 are the business outcomes here."""

from collections import Counter

from behave import given, then

from creditflow.deployments.base import Refusal, RefusalKind
from creditflow.judging.invariants import served_unpaid
from creditflow.rules.quota import moment, period_ends_for
from creditflow.screenplay.questions.calls import ProviderCallsOfLastBatch
from creditflow.screenplay.questions.money import OpeningBalance, OwnBalance, OwnCharges
from creditflow.screenplay.questions.organizations import AllocationIn
from creditflow.screenplay.tasks.accounts import UseCalls
from creditflow.verdicts import claims
from creditflow.wording import figure, number


def refusal_of(context, kind: RefusalKind, what: str):
    call = context.stage.protagonist.last_call
    assert call.refusal is not None and call.refusal.kind is kind, (
        f"{context.stage.protagonist.name}'s call should be refused for {what}, but Ops-Center {call.describe()}")
    return call.refusal


def outcomes_of(batch) -> str:
    """What became of a batch of calls, most frequent first: "100 succeeded, 100 payment"."""
    outcomes = Counter(call.refusal.kind.value if call.refusal else "succeeded" for call in batch)
    return ", ".join(f"{number(count)} {kind}" for kind, count in outcomes.most_common())


@given("{name:Persona} has already used {used:Count} of her {limit:Count} API calls this month")
async def calls_already_used(context, name, used, limit):
    await name.attempts_to(UseCalls(used, limit))


@then("{name:Persona} has used {used:Count} of her {limit:Count} API calls on the {plan} plan")
async def calls_used(context, name, used, limit, plan):
    balance = await name.asks(OwnBalance())
    assert balance.plan == plan, f"{name} should be on the {plan} plan, but is on {balance.plan or 'no plan'}"
    assert balance.calls_limit == limit, (f"the {plan} plan should allow {number(limit)} API calls, not "
                                          f"{figure(balance.calls_limit, 'an unstated number')}")
    assert balance.calls_used == used, (f"{name} should have used {number(used)} API calls, but Ops-Center reports "
                                        f"{figure(balance.calls_used, 'no count')}")


@then("the call counted one more of {name:Persona}'s {limit:Count} API calls")
async def one_more_call(context, name, limit):
    before, now = await name.asks(OpeningBalance()), await name.asks(OwnBalance())
    assert now.calls_limit == limit, (f"{name}'s plan should allow {number(limit)} API calls, not "
                                      f"{figure(now.calls_limit, 'an unstated number')}")
    assert now.calls_used is not None and before.calls_used is not None, (
        f"{name}'s call should count against the quota, but Ops-Center reports no API-call usage")
    assert now.calls_used == before.calls_used + 1, (f"{name}'s call should count once against the quota, but the "
                                                     f"count went from {number(before.calls_used)} to "
                                                     f"{number(now.calls_used)} of {number(limit)}")


@then("{name:Persona}'s answer says {left:Count} API calls are left in the period")
def answer_says_calls_left(context, name, left):
    call = name.succeeded_call()
    assert call.calls_left == left, (f"{name}'s answer should say {number(left)} API calls are left, but says "
                                     f"{figure(call.calls_left, 'nothing of them')}")


@then("{name:Persona}'s answer says her API calls come back at the start of next month")
def answer_says_when_calls_come_back(context, name):
    call = name.succeeded_call()
    says_start_of_next_month(f"{name}'s answer", call.resets_at, call)


def says_start_of_next_month(what: str, resets_at: int | None, call) -> None:
    """`resets_at`, what `call`'s answer says of when the period's API calls come back, is the start of next month."""
    ends = period_ends_for(call)
    assert resets_at in ends, (f"{what} should say the API calls come back at the start of next month, "
                               f"{' or '.join(moment(end) for end in ends)}, but says "
                               f"{'nothing of it' if resets_at is None else moment(resets_at)}")


@then("the call was not counted against {name:Persona}'s API calls")
async def not_counted(context, name):
    before, now = await name.asks(OpeningBalance()), await name.asks(OwnBalance())
    assert now.calls_used == before.calls_used, (f"a refused call must not use an API call, but {name}'s count went "
                                                 f"from {figure(before.calls_used, 'none')} to "
                                                 f"{figure(now.calls_used, 'none')}")


@then("all {count:Count} calls succeed")
def all_succeed(context, count):
    batch = context.stage.protagonist.batch
    failed = [call for call in batch if not call.succeeded]
    assert len(batch) == count and not failed, (f"all {number(count)} calls should succeed, but "
                                                f"{number(len(failed))} did not; "
                                                f"first: {failed[0].describe() if failed else ''}")


@then("exactly {count:Count} calls succeed and the others are refused with 402 Payment Required")
@claims("guide.concurrent-requests")  # what each caller is told; the money is the Rule's invariant, checked apart
def exactly_some_succeed(context, count):
    batch = context.stage.protagonist.batch
    succeeded = sum(call.succeeded for call in batch)
    refused = sum(call.refusal is not None and call.refusal.kind is RefusalKind.PAYMENT for call in batch)
    seen = outcomes_of(batch)
    assert succeeded == count, (f"exactly {count} calls should succeed with the credits there were, but {succeeded} "
                                f"did (of {len(batch)}: {seen})")
    assert refused == len(batch) - count, (f"the other {len(batch) - count} calls should be refused for payment, "
                                           f"but {refused} were (of {len(batch)}: {seen})")


@then("the LLM provider served only the calls that were paid for")
async def provider_served_only_paid_calls(context):
    actor = context.stage.protagonist
    served, paid = len(await actor.asks(ProviderCallsOfLastBatch())), sum(
        call.succeeded for call in actor.batch)
    unpaid = served_unpaid(f"{actor.name}'s", served, paid)
    assert unpaid is None, unpaid


@then("the call is refused with 402 Payment Required")
def refused_for_payment(context):
    refusal_of(context, RefusalKind.PAYMENT, "payment (402)")


@then("the call is refused with 429 Too Many Requests")
def refused_for_quota(context):
    refusal_of(context, RefusalKind.QUOTA, "its exhausted quota (429)")


@then("the refusal's X-RateLimit-Reset names the start of next month")
def reset_at_next_month(context):
    refusal = refusal_of(context, RefusalKind.QUOTA, "its exhausted quota (429)")
    says_start_of_next_month("the quota refusal", refusal.resets_at, context.stage.protagonist.last_call)


@then("the refusal says {left:Count} API calls are left in the period")
def refusal_says_calls_left(context, left):
    refusal = refusal_of(context, RefusalKind.PAYMENT, "payment (402)")
    assert refusal.calls_left == left, (f"the payment refusal should say {number(left)} API calls are left, as every "
                                        f"answer does, but says {figure(refusal.calls_left, 'nothing of them')}")


@then("the refusal offers an upgrade")
def offers_upgrade(context):
    refusal = refusal_of(context, RefusalKind.PAYMENT, "payment (402)")
    assert refusal.upgrade_offered, f"the payment refusal should offer an upgrade, but says '{refusal.detail}'"


def names_required(context, actor) -> Refusal:
    """The 402, which names what the actor's call needs at the deployment's prices."""
    refusal = refusal_of(context, RefusalKind.PAYMENT, "payment (402)")
    price = context.stage.price_of(actor, succeeded=False)
    assert refusal.required == price, f"the refusal should say the call needs {price} credits: '{refusal.detail}'"
    return refusal


@then("the refusal names the price of the call as required and {name:Persona}'s allocation as available")
async def says_required(context, name):
    refusal = names_required(context, name)
    allocation = await name.asks(AllocationIn(name.member_of))
    assert refusal.available == allocation.remaining, (
        f"the refusal should say {allocation.remaining} credits are available: '{refusal.detail}'")


@then("the refusal names the price of the call as required and no credits as available")
def says_required_of_nothing(context):
    refusal = names_required(context, context.stage.protagonist)
    assert refusal.available == 0, f"the refusal should say no credits are available: '{refusal.detail}'"


@then("the refusal explains that no credits are allocated to {name:Persona}")
def explains_missing_allocation(context, name):
    refusal = refusal_of(context, RefusalKind.PAYMENT, "payment (402)")
    assert refusal.no_allocation and "allocat" in refusal.detail.lower(), (
        f"{name}'s refusal should explain that no credits are allocated to {name}, but says '{refusal.detail}'")


@then("the retry is refused as already charged")
def retry_refused(context):
    first, retry = context.stage.protagonist.calls[-2:]
    assert first.succeeded, f"the first call should succeed, but Ops-Center {first.describe()}"
    assert retry.refusal is not None and retry.refusal.kind is RefusalKind.DUPLICATE, (
        f"a retried call must be refused as already charged, but the retry {retry.describe()}")


@then("exactly 1 of the copies succeeds and the others are refused as already received")
def one_copy_served(context):
    batch = context.stage.protagonist.batch
    served = sum(call.succeeded for call in batch)
    duplicates = sum(call.refusal is not None and call.refusal.kind is RefusalKind.DUPLICATE for call in batch)
    seen = outcomes_of(batch)
    assert served == 1 and duplicates == len(batch) - 1, (
        f"one of the {len(batch)} copies should be served and the others refused as already received, but: {seen}")


@then("the second call is refused because its request id named another call")
def reused_id_refused(context):
    first, second = context.stage.protagonist.calls[-2:]
    assert first.succeeded, f"the first call should succeed, but Ops-Center {first.describe()}"
    assert second.refusal is not None and second.refusal.kind is RefusalKind.INVALID, (
        f"a request id reused for another call must be refused (422), but the second call {second.describe()}")
    assert "request id" in second.refusal.detail.lower(), f"the refusal should name the request id: {second.describe()}"


@then("the call is refused as invalid, naming the request id")
def refused_for_its_request_id(context):
    call = context.stage.protagonist.last_call
    assert call.refusal is not None and call.refusal.kind is RefusalKind.INVALID, (
        f"a call under a request id that is too long must be refused as invalid (422), but Ops-Center "
        f"{call.describe()}")
    assert "request id" in call.refusal.detail.lower(), f"the refusal should name the request id: {call.describe()}"


@then("the call is refused as invalid, naming what is wrong")
def refused_as_invalid(context):
    call = context.stage.protagonist.last_call
    assert call.refusal is not None and call.refusal.kind is RefusalKind.INVALID, (
        f"a call past a limit of the chat body must be refused as invalid (422), but Ops-Center {call.describe()}")
    assert call.refusal.detail, "the refusal should say what is wrong"


@then("the call is refused as invalid, saying {name:Persona} has stored no key of her own")
def refused_without_own_key(context, name):
    call = name.last_call
    assert call.refusal is not None and call.refusal.kind is RefusalKind.INVALID, (
        f"{name}'s call demanding her own key, when she has stored none, must be refused as invalid (400), but "
        f"Ops-Center {call.describe()}")
    assert "key" in call.refusal.detail.lower(), f"the refusal should say {name} has no key stored: {call.describe()}"


@then("{first:Persona}'s call and {second:Persona}'s call are both served")
def both_served(context, first, second):
    for name in (first, second):
        call = name.last_call
        assert call.succeeded, (f"{name}'s call should be served, the request id she chose being hers alone, but "
                                f"Ops-Center {call.describe()}")


@then("{name:Persona} was charged only for her first call")
async def charged_for_first_call(context, name):
    stage = context.stage
    actor = name
    first = actor.calls[-2]
    price = stage.price(first.model, first.tokens or first.request.tokens, actor.account.plan)
    charges = [charge.credits for charge in await name.asks(OwnCharges())]
    assert charges == [price], f"{name} should be charged once, {price} credits for her first call, but was: {charges}"


@then("the call fails and {name:Persona} is told the provider failed")
def provider_failed(context, name):
    call = name.last_call
    assert call.refusal is not None and call.refusal.kind is RefusalKind.PROVIDER_FAILURE, (
        f"{name} should hear the provider failed, but Ops-Center {call.describe()}")
    assert "provider" in call.refusal.detail.lower(), f"the error should name the provider: '{call.refusal.detail}'"
