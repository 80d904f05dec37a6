"""Limits a client cannot lift: an account locked after failed sign-ins, an address refused after invalid ones,
whatever address each request claims to come from."""

from behave import then, when

from creditflow.deployments.base import RefusalKind
from creditflow.screenplay.questions.sign_in import CallsFromTheAddressOf
from creditflow.screenplay.tasks.sign_in import FailSignIns, PresentInvalidSignIns, PresentOwnSignIn, SignIn
from creditflow.verdicts import TargetLacksPart


@when("{name:Persona} fails to sign in as often as her account allows")
async def fails_own_sign_ins(context, name):
    await name.attempts_to(FailSignIns(name))


@when("{attacker:Persona} fails to sign in as {target:Persona} as often as the account allows")
async def fails_sign_ins_as(context, attacker, target):
    await attacker.attempts_to(FailSignIns(target))


@when("{attacker:Persona} fails to sign in as {target:Persona} as often as the account allows, each time claiming "
      "a new address in {header:AddressHeader}")
async def fails_sign_ins_claiming(context, attacker, target, header):
    await attacker.attempts_to(FailSignIns(target, header))


@when("{name:Persona} signs in with her right credentials")
async def signs_in(context, name):
    await name.attempts_to(SignIn())


@when("{name:Persona} presents invalid sign-ins, one more than her address is allowed")
async def presents_invalid(context, name):
    await name.attempts_to(PresentInvalidSignIns())


@when("{name:Persona} presents invalid sign-ins, one more than her address is allowed, each claiming a new address in "
      "{header:AddressHeader}")
async def presents_invalid_claiming(context, name, header):
    await name.attempts_to(PresentInvalidSignIns(header))


@when("{name:Persona} presents her own sign-in")
async def presents_valid(context, name):
    await name.attempts_to(PresentOwnSignIn())


@then("{name:Persona}'s sign-in is refused")
def sign_in_refused(context, name):
    reply = name.tried()
    assert not reply.ok and reply.refusal.kind in (RefusalKind.UNAUTHORIZED, RefusalKind.TOO_MANY), (
        f"{name}'s account should be locked after its failed sign-ins, but her sign-in with her right credentials "
        f"{reply.describe()} (the lockout: {name.deployment.declared_limits().lockout()})")


@then("{name:Persona}'s sign-in succeeds")
def sign_in_succeeds(context, name):
    reply = name.tried()
    assert reply.ok, f"{name} should sign in as usual, but her sign-in {reply.describe()}"


@then("{name:Persona} is refused as making too many attempts, and told when she may try again")
def too_many_with_a_time(context, name):
    refusal = refused_as_too_many(name)
    assert refusal.retry_after_s is not None and refusal.retry_after_s > 0, (
        f"{name} should be told when she may try again, but the refusal names no time: {refusal.describe()}")


@then("{name:Persona} is refused as making too many attempts")
def too_many(context, name):
    refused_as_too_many(name)


@then("{name:Persona}'s sign-in succeeds while {other:Persona} is refused")
async def served_beside_a_refused_address(context, name, other):
    if await name.asks(CallsFromTheAddressOf(other)):
        raise TargetLacksPart(f"{name} and {other} call from the same address on this target, so a limit on "
                              f"{other}'s address is a limit on {name}'s")
    refused_as_too_many(other)
    sign_in_succeeds(context, name)


def refused_as_too_many(name):
    reply = name.tried()
    assert not reply.ok and reply.refusal.kind is RefusalKind.TOO_MANY, (
        f"{name} should be refused as making too many attempts after the limit of invalid sign-ins, but her last "
        f"sign-in {reply.describe()} (the limit: {name.deployment.declared_limits().rate()})")
    return reply.refusal
