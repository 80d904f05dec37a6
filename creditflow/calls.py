"""LLM calls: one, many at once, retried, malformed, and the latency of the budgeted operations."""

import asyncio
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from creditflow.actors import Actor, FlowError, Organization
from creditflow.books import Books
from creditflow.deployments.base import (
    CallRequest,
    CallResult,
    ForeignSignIn,
    Malformed,
    ProductRefused,
    Refusal,
    RefusalKind,
    Reply,
)
from creditflow.deployments.chat import question
from creditflow.deployments.declarations import Capability
from creditflow.forgeries import Forger, Forgery
from creditflow.scene import Scene
from creditflow.verdicts import CannotArrange, TargetLacksPart
from creditflow.wording import counted, number

# The pieces of a streamed answer read before a caller who "stops reading after the first words" leaves.
FIRST_WORDS = 3
# Server-side phases the deployments report, and the guide's budgeted operation each one measures.
PHASES = {"credits": "credit deduction", "usage": "usage tracking"}
USUAL_BUDGET = 100  # the token budget of a call whose budget is not what the scenario is about


@dataclass(frozen=True)
class AtALimit:
    """A call at, or just past, one of the chat body's limits (docs/contract.md, "Endpoints"): its token budget, the
    length of the name its question is signed with, or the length of the id of a tool call it answers (None: the
    call carries no such name or answer)."""

    tokens: int = USUAL_BUDGET
    sender_length: int | None = None
    tool_call_id_length: int | None = None


def of_length(text: str, length: int) -> str:
    """`text`, cut or padded with x's to exactly `length` characters."""
    return text.ljust(length, "x")[:length]


class Calls:
    def __init__(self, scene: Scene, books: Books):
        self.w = scene
        self.books = books

    async def ask(self, actor: Actor, model: str, tokens: int, use_byok: bool | None = None,
                  request_id: str | None = None, stream: bool = False, leave_after: int | None = None,
                  compressed: bool = False, sender: str | None = None,
                  answers_tool_call: str | None = None, paid_by: Organization | None = None) -> CallResult:
        """`paid_by`: the organization of `actor`'s the call names to pay for it."""
        self.w.acting(actor)
        await self._remember_opening(actor)
        org = paid_by.ref if paid_by is not None else None
        call = await self._call(actor, CallRequest(model, tokens, use_byok, request_id, stream, leave_after,
                                                   self.w.scope, compressed, sender, answers_tool_call, org))
        actor.calls.append(call)
        return call

    async def ask_at_a_limit(self, actor: Actor, model: str, limit: AtALimit) -> CallResult:
        """`actor`'s call of `model` at, or just past, one of the chat body's limits."""
        sender = None if limit.sender_length is None else of_length(actor.name, limit.sender_length)
        tool_call = (None if limit.tool_call_id_length is None
                     else of_length(f"call_{uuid.uuid4().hex}", limit.tool_call_id_length))
        return await self.ask(actor, model, limit.tokens, sender=sender, answers_tool_call=tool_call)

    async def ask_signed_in_as(self, actor: Actor, sign_in: ForeignSignIn, model: str, tokens: int) -> CallResult:
        """A call made with a sign-in of `actor` that must be refused (expired, or of another realm)."""
        self.w.acting(actor)
        await self._remember_opening(actor)
        session = await self.w.deployment.accounts.foreign_session(actor.account, sign_in)
        self.w.services.redactor.remember(session.secret)
        call = await self.w.deployment.calls.make(session, CallRequest(model, tokens, scope=self.w.scope))
        actor.calls.append(call)
        return call

    async def ask_forged(self, actor: Actor, forgery: Forgery, model: str, tokens: int) -> CallResult:
        """A call made with a sign-in forged from a real token the realm issued to `actor`."""
        self.w.acting(actor)
        await self._remember_opening(actor)
        if self.w.deployment.identity is None:
            raise TargetLacksPart("the deployment signs no one in through the realm whose tokens could be forged")
        forger = Forger(self.w.deployment.identity)
        self.w.on_cleanup("take back the signing key the forgeries were signed with", forger.close)
        session = await self.w.deployment.accounts.forged_session(actor.account,
                                                                  lambda token: forger.forge(token, forgery))
        self.w.services.redactor.remember(session.secret)
        call = await self.w.deployment.calls.make(session, CallRequest(model, tokens, scope=self.w.scope))
        actor.calls.append(call)
        return call

    async def leave_stream(self, actor: Actor, model: str, tokens: int) -> CallResult:
        """A streamed call whose caller stops reading after the first words and closes the connection."""
        return await self.ask(actor, model, tokens, stream=True, leave_after=FIRST_WORDS)

    async def retried(self, actor: Actor, model: str, tokens: int) -> tuple[CallResult, CallResult]:
        """The same call sent twice with one request id, the second after the first has ended."""
        request_id = f"retry-{uuid.uuid4().hex}"
        return (await self.ask(actor, model, tokens, request_id=request_id),
                await self.ask(actor, model, tokens, request_id=request_id))

    async def copies_at_once(self, actor: Actor, count: int, model: str, tokens: int) -> list[CallResult]:
        """The same call, with one request id, sent `count` times at once (a client retrying impatiently)."""
        return await self.many(actor, count, model, tokens, request_id=f"retry-{uuid.uuid4().hex}")

    async def reused_id(self, actor: Actor, first: str, second: str, tokens: int) -> tuple[CallResult, CallResult]:
        """A call, then another call (another model) under the same request id."""
        request_id = f"reused-{uuid.uuid4().hex}"
        return (await self.ask(actor, first, tokens, request_id=request_id),
                await self.ask(actor, second, tokens, request_id=request_id))

    def question_tokens(self) -> int:
        """The tokens of this scenario's question as the contract counts a prompt it counts itself: four characters
        a token, rounded up (docs/contract.md, "Streaming")."""
        return math.ceil(len(question(self.w.scope)) / 4)

    @staticmethod
    def request_id_of(length: int) -> str:
        """A request id of its own, `length` characters long."""
        return of_length(f"long-{uuid.uuid4().hex}", length)

    async def one_id_for_two(self, first: Actor, second: Actor, model: str,
                             tokens: int) -> tuple[CallResult, CallResult]:
        """Two callers who happen to choose the same request id, each for a call of their own."""
        request_id = f"chosen-{uuid.uuid4().hex}"
        return (await self.ask(first, model, tokens, request_id=request_id),
                await self.ask(second, model, tokens, request_id=request_id))

    async def in_waves(self, actor: Actor, count: int, model: str, tokens: int, concurrency: int,
                       progress: Callable[[int, int], None] | None = None) -> list[CallResult]:
        """`count` calls, `concurrency` in flight at a time (no more than the deployment can take, where a Rule is
        about something else than simultaneity)."""
        limit = self.w.deployment.in_flight_at_most
        return await self.many(actor, count, model, tokens, min(concurrency, limit or concurrency), progress)

    async def many(self, actor: Actor, count: int, model: str, tokens: int, concurrency: int | None = None,
                   progress: Callable[[int, int], None] | None = None,
                   request_id: str | None = None) -> list[CallResult]:
        """`count` calls at once (at most `concurrency` in flight when given), all under `request_id` if given.

        Once a call goes unanswered, the calls not yet sent are not sent: each is recorded as unanswered."""
        self.w.acting(actor)
        await self._remember_opening(actor)
        session = await actor.current_session()
        gate = asyncio.Semaphore(concurrency or count)
        done, stalled = 0, False

        async def one() -> CallResult:
            nonlocal done, stalled
            async with gate:
                request = CallRequest(model, tokens, request_id=request_id, scope=self.w.scope)
                if stalled:
                    call = CallResult(request, time.time(), 0.0, Refusal(
                        RefusalKind.NO_ANSWER, 0, "not sent: Ops-Center had stopped answering this batch"))
                else:
                    call = await self._call(actor, request, session, under_load=True)
                    stalled = stalled or (call.refusal is not None and call.refusal.kind is RefusalKind.NO_ANSWER)
            done += 1
            if progress is not None:
                progress(done, count)
            return call

        hold = await self.w.deployment.calls.hold()
        calls = [asyncio.ensure_future(one()) for _ in range(count)]
        await hold.release(min(count, concurrency or count))
        actor.batch = list(await asyncio.gather(*calls))
        actor.calls.extend(actor.batch)
        return actor.batch

    async def malformed(self, actor: Actor, problem: Malformed) -> Reply:
        self.w.acting(actor)
        await self._remember_opening(actor)
        actor.last_reply = await self.w.deployment.calls.malformed(await actor.current_session(), problem, self.w.scope)
        return actor.last_reply

    async def _remember_opening(self, actor: Actor) -> None:
        """The balance before the actor's first call, where the deployment keeps one."""
        if actor.opening is None and self.w.deployment.has(Capability.OWN_CREDITS):
            actor.opening = await self.books.balance(actor)

    async def _call(self, actor: Actor, request: CallRequest, session=None, under_load: bool = False) -> CallResult:
        call = await self.w.deployment.calls.make(session or await actor.current_session(), request)
        # Budgets are for one caller at a time; samples taken inside a burst are reported apart.
        suffix = " under load" if under_load else ""
        metrics = self.w.services.metrics
        for phase, operation in PHASES.items():
            if phase in call.phases:
                metrics.add(operation + suffix, call.phases[phase])
        if call.succeeded:
            metrics.add("llm call" + suffix, call.elapsed_ms)
        return call

    # -- latency --------------------------------------------------------------------------------
    async def measure(self, actor: Actor, operation: str, count: int) -> list[float]:
        """`count` samples of one of the guide's budgeted operations done by `actor`, in milliseconds."""
        self.w.acting(actor)
        if operation == "authentication":
            actor.samples = []
            for _ in range(count):
                try:
                    actor.samples.append(await self.w.services.sign_in(actor))
                except ProductRefused as refused:
                    if refused.refusal is None or refused.refusal.kind is not RefusalKind.TOO_MANY:
                        raise
                    raise CannotArrange(f"{actor}'s sign-ins cannot be timed {number(count)} times in a row: "
                                        f"Ops-Center refused sign-in {number(len(actor.samples) + 1)} "
                                        f"({refused.refusal.describe()})") from None
        elif operation == "organization queries":
            org = next((o for o in self.w.orgs.values() if o.admin is actor), None)
            if org is None:
                raise FlowError(f"{actor} administers no organization in this scenario")
            await self.books.pool(org)  # the first read opens connections; the budget is for steady state
            replies = [await self.books.pool_reply(org) for _ in range(count)]
            failed = [reply for reply in replies if not reply.ok]
            if failed:
                raise FlowError(f"{counted(len(failed), 'organization query', 'organization queries')} of "
                                f"{number(count)} did not succeed, so none is timed: Ops-Center {failed[0].describe()}")
            actor.samples = [reply.elapsed_ms for reply in replies]
        else:
            actor.samples = [await self._server_phase(actor, operation) for _ in range(count)]
        return actor.samples

    async def _server_phase(self, actor: Actor, operation: str) -> float:
        phase = next((phase for phase, known in PHASES.items() if known == operation), None)
        if phase is None:
            raise FlowError(f"the guide budgets no operation called {operation!r}")
        timed = await self.w.deployment.calls.time_operation(await actor.current_session(), operation)
        if timed is not None:
            if not timed.ok:
                raise FlowError(f"{operation} cannot be measured: Ops-Center {timed.describe()}")
            return timed.elapsed_ms
        call = await self.ask(actor, "gpt-3.5-turbo", 100)
        if not call.succeeded:
            raise FlowError(f"{operation} cannot be measured: {actor}'s call {call.describe()}")
        if phase not in call.phases:
            raise TargetLacksPart(f"{operation} cannot be measured: this deployment reports no server-side "
                                  f"timing of it (phases reported: {sorted(call.phases) or 'none'})")
        return call.phases[phase]
