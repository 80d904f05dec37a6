"""The LLM provider double, as the stage crew sets it for the scenario's calls: failing, using a share of each
call's token budget, or streaming slowly, without its usage, or breaking off. The settings end with the scenario."""

from dataclasses import dataclass

from creditflow.screenplay.actors import Actor

SLOW_PIECE_MS = 40  # 100 tokens take 4 s: the first words, under 2 s even on a loaded machine, come well before half


def slow_writing_ms(tokens: int) -> float:
    """How long the provider, writing slowly (a piece a token), takes to write an answer of `tokens` tokens."""
    return tokens * SLOW_PIECE_MS


@dataclass(frozen=True)
class MakeTheProviderFail:
    async def perform_as(self, actor: Actor) -> None:
        provider = actor.stage.provider_for_this_scenario("making the provider fail")
        await provider.fail_calls(actor.stage.scope, "error")


@dataclass(frozen=True)
class MakeTheProviderUse:
    """The provider reports using `percent` of each call's token budget."""

    percent: int

    async def perform_as(self, actor: Actor) -> None:
        provider = actor.stage.provider_for_this_scenario("choosing the tokens the provider reports")
        await provider.use_share(actor.stage.scope, self.percent)


@dataclass(frozen=True)
class MakeTheProviderStream:
    """Slowly: a piece every SLOW_PIECE_MS, so a caller can leave long before the answer ends; `usage`: whether the
    stream reports its usage; `breaks_after`: the pieces the provider sends before it breaks the stream off."""

    slowly: bool = False
    usage: bool = True
    breaks_after: int | None = None

    async def perform_as(self, actor: Actor) -> None:
        provider = actor.stage.provider_for_this_scenario("choosing how the provider streams")
        await provider.stream_as(actor.stage.scope, SLOW_PIECE_MS if self.slowly else 0, self.usage,
                                 self.breaks_after)
