"""Bring-your-own-key: an actor stores an OpenRouter key of her own, or asks to see someone else's settings."""

import uuid
from dataclasses import dataclass

from creditflow.deployments.base import Reply
from creditflow.screenplay.actors import Actor
from creditflow.wording import of_length

BYOK_PROVIDER = "openrouter"


async def store(actor: Actor, key: str) -> Reply:
    actor.stage.services.redactor.remember(key)
    actor.last_reply = await actor.deployment.keys.store(await actor.current_session(), BYOK_PROVIDER, key)
    return actor.last_reply


@dataclass(frozen=True)
class StoreOwnKey:
    """Stores the run's OpenRouter key (TEST_OPENROUTER_KEY) as the actor's own."""

    async def perform_as(self, actor: Actor) -> Reply:
        return await store(actor, actor.stage.services.config.byok_key)


@dataclass(frozen=True)
class StoreKeyOfLength:
    """Stores a made-up OpenRouter key of `length` characters, as a client might send one whose length is what is
    judged."""

    length: int

    async def perform_as(self, actor: Actor) -> Reply:
        actor.stage.acting(actor)
        return await store(actor, of_length(f"sk-or-v1-{uuid.uuid4().hex}", self.length))


@dataclass(frozen=True)
class AskForKeySettingsNaming:
    """Asks for key settings, naming `named`'s account in the request: an attempt on another's, its answer kept."""

    named: Actor

    async def perform_as(self, actor: Actor) -> None:
        actor.stage.acting(actor)
        actor.last_reply = await actor.deployment.keys.settings(await actor.current_session(), self.named.account)
