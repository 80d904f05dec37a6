"""Tenant isolation: nobody reaches into another's organization, balance or key, and no stale or foreign
sign-in is accepted; after every attempt the ledger shows that nothing moved."""

from behave import then, when

from creditflow.deployments.base import RefusalKind
from creditflow.screenplay.questions.calls import ProviderCallsOfLastCall
from creditflow.screenplay.questions.keys import KeySettings
from creditflow.screenplay.questions.money import OwnBalance
from creditflow.screenplay.questions.organizations import OrgBooks, books_change
from creditflow.screenplay.tasks.calls import AskSignedInAs, AskWithAForgedSignIn
from creditflow.screenplay.tasks.keys import AskForKeySettingsNaming
from creditflow.screenplay.tasks.money import AskForBalanceNaming
from creditflow.screenplay.tasks.organizations import Attempt
from creditflow.wording import counted


@when("{name:Persona} attempts to {act:OrgAct} {org:Org}")
async def attempt(context, name, act, org):
    await name.attempts_to(Attempt(act, org))


@when("{asker:Persona} asks for a balance, naming {named:Persona}'s account")
async def balance_naming(context, asker, named):
    await asker.attempts_to(AskForBalanceNaming(named))


@when("{asker:Persona} asks for key settings, naming {named:Persona}'s account")
async def key_settings_naming(context, asker, named):
    await asker.attempts_to(AskForKeySettingsNaming(named))


@when("{name:Persona} asks {model} a question of {tokens:Count} tokens with {sign_in:ForeignSignIn}")
async def ask_with_foreign_sign_in(context, name, model, tokens, sign_in):
    await name.attempts_to(AskSignedInAs(sign_in, model, tokens))


@when("{name:Persona} asks {model} a question of {tokens:Count} tokens with {forgery:Forgery}")
async def ask_with_forged_sign_in(context, name, model, tokens, forgery):
    await name.attempts_to(AskWithAForgedSignIn(forgery, model, tokens))


@then("the LLM provider served none of {name:Persona}'s calls")
async def provider_served_none(context, name):
    served = await name.asks(ProviderCallsOfLastCall())
    assert not served, (f"the LLM provider should have served none of {name}'s calls, but served "
                        f"{counted(len(served), 'call')}")


@then("nothing moved in {org:Org}'s books")
async def nothing_moved(context, org):
    before, after = org.books_before, await context.stage.crew.asks(OrgBooks(org))
    assert before is not None, f"{org}'s books were not read before the attempt"
    assert after == before, f"{org}'s books changed after an attempt from outside: {books_change(before, after)}"


@then("{asker:Persona} learns nothing of {named:Persona}'s balance")
async def no_balance_leak(context, asker, named):
    reply, own, theirs = asker.tried(), await asker.asks(OwnBalance()), await named.asks(OwnBalance())
    assert own.credits != theirs.credits, f"{asker} and {named} should hold different balances for this to prove much"
    if reply.ok:
        assert reply.value.credits == own.credits, (f"{asker} named {named}'s account and was shown "
                                                    f"{reply.value.credits} credits: {named}'s balance, not hers")


@then("{asker:Persona} learns nothing of {named:Persona}'s key")
async def no_key_leak(context, asker, named):
    reply, theirs = asker.tried(), await named.asks(KeySettings())
    assert theirs.hints, f"{named} should have a key stored for this to prove much"
    if reply.ok:
        shown = reply.value
        assert not shown.openrouter_configured and not set(shown.hints) & set(theirs.hints), (
            f"{asker} named {named}'s account and was shown {named}'s key settings: {list(shown.hints)}")


@then("{name:Persona}'s call is turned away as not signed in")
def turned_away(context, name):
    call = name.last_call
    assert call.refusal is not None and call.refusal.kind is RefusalKind.UNAUTHORIZED, (
        f"{name}'s call should be refused as not signed in (401), but the call {call.describe()}")
