"""What became of an actor's calls beyond her own answers: what the LLM provider received, what LiteLLM routed,
and what billing was told."""

import asyncio
import math
import time
from dataclasses import dataclass

from creditflow.deployments.base import CallResult, UsageEvent
from creditflow.deployments.chat import question
from creditflow.screenplay.actors import Actor, FlowError
from creditflow.systems.provider_double import ProviderCall, RoutedCall

LITELLM_REPORTS_WITHIN_S = 8  # LiteLLM posts its reports every second (DEFAULT_FLUSH_INTERVAL_SECONDS, sandbox)


async def provider_calls(actor: Actor, purpose: str, since: float, model: str) -> list[ProviderCall]:
    calls = await actor.stage.provider(purpose).calls_since(actor.stage.scope, since)
    return [c for c in calls if c.model and c.model.endswith(model)]


@dataclass(frozen=True)
class ProviderCallsOfLastCall:
    """The calls the provider received for the actor's last call, each with the fingerprint of its key."""

    async def answered_by(self, actor: Actor) -> list[ProviderCall]:
        call = actor.last_call
        return await provider_calls(actor, "seeing which key reached the provider", call.sent_at, call.model)


@dataclass(frozen=True)
class ProviderCallsOfLastBatch:
    """The calls the provider received since the actor's last batch of calls began."""

    async def answered_by(self, actor: Actor) -> list[ProviderCall]:
        if not actor.batch:
            raise FlowError(f"{actor} has made no batch of calls in this scenario")
        return await provider_calls(actor, "counting the calls the provider served",
                                    min(call.sent_at for call in actor.batch), actor.batch[0].model)


@dataclass(frozen=True)
class ProviderCallsSince:
    """The calls of `model` the provider received since `since` (Unix seconds), each with its key's fingerprint."""

    since: float
    model: str

    async def answered_by(self, actor: Actor) -> list[ProviderCall]:
        return await provider_calls(actor, "counting the calls the provider served", self.since, self.model)


@dataclass(frozen=True)
class RoutedByLiteLLM:
    """LiteLLM's own reports of routing the actor's last call; it reports in batches, so they are awaited."""

    async def answered_by(self, actor: Actor) -> list[RoutedCall]:
        provider = actor.stage.provider("asking LiteLLM what it routed")
        model = actor.last_call.model
        deadline = time.monotonic() + LITELLM_REPORTS_WITHIN_S
        while True:
            reports = [r for r in await provider.litellm_reports(actor.stage.scope) if r.model.endswith(model)]
            if reports or time.monotonic() > deadline:
                return reports
            await asyncio.sleep(0.25)


@dataclass(frozen=True)
class UsageBilled:
    """The actor's last served call, and the usage event billing received for it (None: none)."""

    async def answered_by(self, actor: Actor) -> tuple[CallResult, UsageEvent | None]:
        call = actor.succeeded_call()
        return call, await actor.deployment.billing.usage_event(call)


@dataclass(frozen=True)
class QuestionTokens:
    """The tokens of the scenario's question as the contract counts a prompt it counts itself: four characters a
    token, rounded up (docs/contract.md, "Streaming")."""

    async def answered_by(self, actor: Actor) -> int:
        return math.ceil(len(question(actor.stage.scope)) / 4)
