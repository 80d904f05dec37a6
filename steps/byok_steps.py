"""Bring-your-own-key: the key stays secret, reaches the provider, and costs no credits."""

from behave import then, when

from creditflow.redaction import hint
from creditflow.screenplay.questions.calls import ProviderCallsOfLastCall
from creditflow.screenplay.questions.keys import (
    KeySettings,
    ReadableStoredKeys,
    StoredKeys,
    StoredKeysOpen,
    own_key_fingerprint,
)
from creditflow.screenplay.tasks.keys import StoreKeyOfLength
from creditflow.verdicts import claims


@then("{name:Persona}'s settings show that an OpenRouter key is configured")
async def key_configured(context, name):
    settings = await name.asks(KeySettings())
    assert settings.openrouter_configured, f"{name}'s settings should show an OpenRouter key configured"


@then("{name:Persona}'s settings never show the key itself")
async def never_the_key(context, name):
    settings = await name.asks(KeySettings())
    assert context.cf_config.byok_key not in settings.shown, f"{name}'s settings must never show the stored key back"


@then("{name:Persona}'s settings show a short hint of the key")
@claims("contract.endpoints")  # a hint is creditflow's rule (`key_hint`); the guide asks only that the key stay secret
async def short_hint(context, name):
    key = context.cf_config.byok_key
    settings = await name.asks(KeySettings())
    assert settings.hints and all(key[-4:] in h and len(h) < len(key) // 2 for h in settings.hints), (
        f"{name}'s settings should show a short hint of the key like {hint(key)}, but show "
        + (", ".join(f"'{h}'" for h in settings.hints) or "none"))


@then("{name:Persona}'s key is not stored in readable form")
async def stored_unreadable(context, name):
    stored = await name.asks(StoredKeys())
    assert stored, f"{name}'s key should be stored"
    readable = await name.asks(ReadableStoredKeys())
    assert not readable, f"{name}'s BYOK key is stored in a form anyone can turn back: {', '.join(readable)}"


@then("{name:Persona}'s stored key opens only with Ops-Center's cipher key")
async def stored_encrypted(context, name):
    opened, by_another = await name.asks(StoredKeysOpen())
    assert opened, f"{name}'s stored key should be a token of Ops-Center's cipher that its key opens to her key"
    assert not by_another, f"{name}'s stored key opens with a key other than Ops-Center's: it is not encrypted"


@then("the provider received the call through OpenRouter with {name:Persona}'s own key")
async def routed_with_own_key(context, name):
    calls, fingerprint = await name.asks(ProviderCallsOfLastCall()), own_key_fingerprint(name)
    mine = [call for call in calls if call.carried(fingerprint)]
    assert mine, f"the provider should have received {name}'s call with {name}'s own key, but saw {len(calls)} calls"
    assert all(call.route == "openrouter" for call in mine), f"{name}'s BYOK call should go through OpenRouter"


@then("the provider received the call with the platform's key, not {name:Persona}'s")
async def routed_with_platform_key(context, name):
    calls, fingerprint = await name.asks(ProviderCallsOfLastCall()), own_key_fingerprint(name)
    assert calls, f"the provider should have received {name}'s call"
    assert not any(call.carried(fingerprint) for call in calls), f"{name}'s own key must not be used"
    assert all(call.route == "openai" for call in calls), "a platform-paid call should go to the platform's provider"


@when("{name:Persona} stores a new OpenRouter key of {length:Count} characters")
@when("{name:Persona} tries to store a new OpenRouter key of {length:Count} characters")
async def store_key_of_length(context, name, length):
    await name.attempts_to(StoreKeyOfLength(length))


@then("{name:Persona}'s new key is stored")
def new_key_stored(context, name):
    reply = name.last_reply
    assert reply.ok, f"{name}'s new key should be stored, but Ops-Center {reply.describe()}"
