"""One scenario's scene: its cast and organizations, the abilities its actors act with, what things cost, and how
it is cleaned up.

Everything the scenario creates registers its own cleanup, which runs pass or fail; a cleanup that fails is
reported beside the scenario's verdict, never instead of it.
"""

from collections.abc import Awaitable, Callable
from decimal import Decimal

from creditflow.deployments.base import Reply
from creditflow.screenplay.actors import Actor, FlowError, Organization
from creditflow.screenplay.services import Services

Undo = Callable[[], Awaitable[object]]


class Scene:
    def __init__(self, services: Services, add_cleanup: Callable[[str, Undo], None] | None = None):
        self.services = services
        # Named in every call this scenario makes, so that what it sets in the provider double, and what it reads
        # of its log, is its own (sandbox/doubles/provider.py).
        self.scope = services.unique("scenario")
        self.cast: dict[str, Actor] = {}
        self.orgs: dict[str, Organization] = {}
        self.cleanup_failures: list[str] = []
        self.ledger_mark = None  # where the ledger stood when the scenario began (invariants.charged_elsewhere)
        self.deliveries: list[Reply] = []  # Ops-Center's answers to the payment events delivered in this scenario
        self.delivered = ""  # what was delivered, in words: "Acme's payment event, delivered again with no signature"
        self._protagonist: Actor | None = None
        # Those who work the doubles behind the scenes (the LLM provider, the payment provider's events): they act
        # with the scene's abilities, and have no account of the product's.
        self.crew = Actor("the stage crew", stage=self)
        self._provider_set = False  # this scenario has set the provider double (its settings end with it)
        self._pending: list[tuple[str, Undo]] = []
        self._add_cleanup = add_cleanup or (lambda description, undo: self._pending.append((description, undo)))

    @property
    def deployment(self):
        return self.services.deployment

    # -- who and what -------------------------------------------------------------------------
    def persona(self, name: str) -> Actor:
        """The actor `name` plays in this scenario; one not introduced yet, without an account, is not cast by
        being named (behave names the personas of a step before it runs it, and in a dry run)."""
        return self.cast.get(name) or Actor(name, stage=self)

    def organization(self, name: str) -> Organization:
        """The organization `name` of this scenario; one not created yet is not added by being named."""
        return self.orgs.get(name) or Organization(name)

    def actor(self, name: str) -> Actor:
        """The actor `name`, who must have been introduced (for callers outside the steps: the fuzzer, the load)."""
        if name not in self.cast:
            raise Actor(name).not_introduced()
        return self.cast[name]

    def acting(self, actor: Actor) -> Actor:
        """Marks `actor` as the one who acted last: the subject of "the call", "the refusal"."""
        self._protagonist = actor
        return actor

    @property
    def protagonist(self) -> Actor:
        if self._protagonist is None:
            raise FlowError("nobody has acted yet in this scenario")
        return self._protagonist

    async def platform_admin(self) -> Actor:
        """The run's platform administrator (the one who grants credits), acting in this scenario."""
        operator = await self.services.operator_actor()
        operator.stage = self
        return operator

    # -- the doubles --------------------------------------------------------------------------
    def provider(self, purpose: str):
        """The provider double, which `purpose` needs; reading its log changes nothing."""
        return self.services.provider_double(purpose)

    def provider_for_this_scenario(self, purpose: str):
        """The provider double to set for this scenario's calls; its settings end with the scenario."""
        provider = self.provider(purpose)
        if not self._provider_set:
            self._provider_set = True
            self.on_cleanup("let the LLM provider answer as usual", lambda: provider.forget(self.scope))
        return provider

    # -- prices -------------------------------------------------------------------------------
    def price(self, model: str, tokens: int, plan: str | None = None) -> Decimal:
        return self.deployment.prices.price(model, tokens, plan)

    def price_of(self, actor: Actor, succeeded: bool = True) -> Decimal:
        """What `actor`'s last call costs at the deployment's prices, for the tokens the provider reported.

        `succeeded`: the step is about a served call, so a refused one fails it with the business fact."""
        call = actor.succeeded_call() if succeeded else actor.last_call
        tokens = call.tokens if call.tokens is not None else call.request.tokens
        return self.price(call.model, tokens, actor.account.plan)

    def worth(self, count: int, model: str, tokens: int, plan: str | None = None) -> Decimal:
        """Credits for exactly `count` calls of `model` with `tokens` tokens each, for a caller on `plan`."""
        return count * self.price(model, tokens, plan)

    def just_under(self, model: str, tokens: int, plan: str | None = None) -> Decimal:
        return self.price(model, tokens, plan) - self.deployment.prices.smallest_amount

    # -- cleanup ------------------------------------------------------------------------------
    def on_cleanup(self, description: str, undo: Undo) -> None:
        self._add_cleanup(description, undo)

    async def undo(self, description: str, undo: Undo) -> None:
        try:
            await undo()
        except Exception as error:  # every leftover is reported, and the other cleanups still run
            self.cleanup_failures.append(f"could not {description}: {type(error).__name__}: {error}"[:300])

    async def clean_up(self) -> list[str]:
        """Runs the cleanups registered without behave (pytest, scripts), newest first."""
        while self._pending:
            await self.undo(*self._pending.pop())
        return self.cleanup_failures
