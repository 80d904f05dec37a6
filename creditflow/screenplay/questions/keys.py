"""What is shown of an actor's key and what is stored of it."""

from dataclasses import dataclass

from creditflow.deployments.base import ByokSettings
from creditflow.rules.keys_at_rest import opens_with, opens_with_another_key, readable_in
from creditflow.screenplay.actors import Actor, expect
from creditflow.systems.provider_double import ProviderDouble
from creditflow.verdicts import TargetLacksPart


@dataclass(frozen=True)
class KeySettings:
    async def answered_by(self, actor: Actor) -> ByokSettings:
        return expect(await actor.deployment.keys.settings(await actor.current_session()),
                      f"{actor}'s key settings could not be read")


@dataclass(frozen=True)
class StoredKeys:
    """What the ledger stores of the actor's keys, as stored."""

    async def answered_by(self, actor: Actor) -> list[bytes]:
        return await actor.deployment.ledger.stored_byok_keys(actor.user_id)


@dataclass(frozen=True)
class ReadableStoredKeys:
    """The reversible encodings of the run's BYOK key found in what is stored for the actor."""

    async def answered_by(self, actor: Actor) -> list[str]:
        key = actor.stage.services.config.byok_key
        return [form for blob in await actor.asks(StoredKeys()) for form in readable_in(blob, key)]


@dataclass(frozen=True)
class StoredKeysOpen:
    """Whether each stored key opens to the run's BYOK key with the configured cipher key, and whether any opens
    with another key."""

    async def answered_by(self, actor: Actor) -> tuple[bool, bool]:
        config = actor.stage.services.config
        if not config.byok_cipher_key:
            raise TargetLacksPart("proving a stored key is encrypted needs Ops-Center's cipher key "
                                  "(BYOK_ENCRYPTION_KEY); this target has none")
        stored, key = await actor.asks(StoredKeys()), config.byok_key.encode()
        return (bool(stored) and all(opens_with(blob, config.byok_cipher_key) == key for blob in stored),
                any(opens_with_another_key(blob) for blob in stored))


def own_key_fingerprint(actor: Actor) -> str:
    """How the provider double names the run's BYOK key in its log."""
    return ProviderDouble.fingerprint(actor.stage.services.config.byok_key)
