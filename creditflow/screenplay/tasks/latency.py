"""The latency of the guide's budgeted operations, measured as an actor does them."""

from dataclasses import dataclass

from creditflow.deployments.base import ProductRefused, RefusalKind
from creditflow.screenplay.actors import Actor, FlowError
from creditflow.screenplay.questions.organizations import PoolAnswer, PoolOf
from creditflow.screenplay.tasks.calls import PHASES, Ask
from creditflow.verdicts import CannotArrange, TargetLacksPart
from creditflow.wording import counted, number


@dataclass(frozen=True)
class Measure:
    """`count` samples of one of the guide's budgeted operations done by the actor, in milliseconds, kept as her
    last measurement."""

    operation: str
    count: int

    async def perform_as(self, actor: Actor) -> list[float]:
        actor.stage.acting(actor)
        if self.operation == "authentication":
            actor.samples = await self._sign_ins(actor)
        elif self.operation == "organization queries":
            actor.samples = await self._org_queries(actor)
        else:
            actor.samples = [await self._server_phase(actor) for _ in range(self.count)]
        return actor.samples

    async def _sign_ins(self, actor: Actor) -> list[float]:
        actor.samples = []
        for _ in range(self.count):
            try:
                actor.samples.append(await actor.stage.services.sign_in(actor))
            except ProductRefused as refused:
                if refused.refusal is None or refused.refusal.kind is not RefusalKind.TOO_MANY:
                    raise
                raise CannotArrange(f"{actor}'s sign-ins cannot be timed {number(self.count)} times in a row: "
                                    f"Ops-Center refused sign-in {number(len(actor.samples) + 1)} "
                                    f"({refused.refusal.describe()})") from None
        return actor.samples

    async def _org_queries(self, actor: Actor) -> list[float]:
        org = next((o for o in actor.stage.orgs.values() if o.admin is actor), None)
        if org is None:
            raise FlowError(f"{actor} administers no organization in this scenario")
        await actor.asks(PoolOf(org))  # the first read opens connections; the budget is for steady state
        replies = [await actor.asks(PoolAnswer(org)) for _ in range(self.count)]
        failed = [reply for reply in replies if not reply.ok]
        if failed:
            raise FlowError(f"{counted(len(failed), 'organization query', 'organization queries')} of "
                            f"{number(self.count)} did not succeed, so none is timed: Ops-Center "
                            f"{failed[0].describe()}")
        return [reply.elapsed_ms for reply in replies]

    async def _server_phase(self, actor: Actor) -> float:
        operation = self.operation
        phase = next((phase for phase, known in PHASES.items() if known == operation), None)
        if phase is None:
            raise FlowError(f"the guide budgets no operation called {operation!r}")
        timed = await actor.deployment.calls.time_operation(await actor.current_session(), operation)
        if timed is not None:
            if not timed.ok:
                raise FlowError(f"{operation} cannot be measured: Ops-Center {timed.describe()}")
            return timed.elapsed_ms
        call = await actor.attempts_to(Ask("gpt-3.5-turbo", 100))
        if not call.succeeded:
            raise FlowError(f"{operation} cannot be measured: {actor}'s call {call.describe()}")
        if phase not in call.phases:
            raise TargetLacksPart(f"{operation} cannot be measured: this deployment reports no server-side "
                                  f"timing of it (phases reported: {sorted(call.phases) or 'none'})")
        return call.phases[phase]
