"""LLM calls: one, many at once, retried, malformed, made with a sign-in that is not the caller's own."""

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace

from creditflow.deployments.base import CallRequest, CallResult, ForeignSignIn, Malformed, Refusal, RefusalKind, Reply
from creditflow.deployments.declarations import Capability
from creditflow.screenplay.actors import Actor, Organization
from creditflow.screenplay.questions.money import OwnBalance
from creditflow.systems.forgeries import Forger, Forgery
from creditflow.verdicts import TargetLacksPart
from creditflow.wording import of_length

# The pieces of a streamed answer read before a caller who "stops reading after the first words" leaves.
FIRST_WORDS = 3
# Server-side phases the deployments report, and the guide's budgeted operation each one measures.
PHASES = {"credits": "credit deduction", "usage": "usage tracking"}
USUAL_BUDGET = 100  # the token budget of a call whose budget is not what the scenario is about
SAMPLING = (("temperature", 0.5), ("top_p", 0.9))  # settings a client may send beside its question


@dataclass(frozen=True)
class AtALimit:
    """A call at, or just past, one of the chat body's limits (docs/contract.md, "Endpoints"): its token budget, the
    length of the name its question is signed with, or the length of the id of a tool call it answers (None: the
    call carries no such name or answer)."""

    tokens: int = USUAL_BUDGET
    sender_length: int | None = None
    tool_call_id_length: int | None = None


async def about_to_call(actor: Actor) -> None:
    """Marks the actor as the one who acts, and notes her balance before her first call, where the deployment
    keeps one."""
    actor.stage.acting(actor)
    if actor.opening is None and actor.deployment.has(Capability.OWN_CREDITS):
        actor.opening = await actor.asks(OwnBalance())


async def call(actor: Actor, request: CallRequest, session=None, under_load: bool = False) -> CallResult:
    """One call, its server-side phases and its latency recorded; budgets are for one caller at a time, so samples
    taken inside a burst are reported apart."""
    result = await actor.deployment.calls.make(session or await actor.current_session(), request)
    suffix = " under load" if under_load else ""
    metrics = actor.stage.services.metrics
    for phase, operation in PHASES.items():
        if phase in result.phases:
            metrics.add(operation + suffix, result.phases[phase])
    if result.succeeded:
        metrics.add("llm call" + suffix, result.elapsed_ms)
    return result


@dataclass(frozen=True)
class Ask:
    """A question of `tokens` tokens to `model`. `paid_by`: the organization of the caller's the call names to pay
    for it; `use_byok`: whether she pays with her own key (None: as her settings say)."""

    model: str
    tokens: int
    use_byok: bool | None = None
    request_id: str | None = None
    stream: bool = False
    leave_after: int | None = None
    compressed: bool = False
    sender: str | None = None
    answers_tool_call: str | None = None
    paid_by: Organization | None = None
    settings: tuple[tuple[str, float], ...] = ()

    async def perform_as(self, actor: Actor) -> CallResult:
        await about_to_call(actor)
        org = self.paid_by.ref if self.paid_by is not None else None
        result = await call(actor, CallRequest(self.model, self.tokens, self.use_byok, self.request_id, self.stream,
                                               self.leave_after, actor.stage.scope, self.compressed, self.sender,
                                               self.answers_tool_call, org, self.settings))
        actor.calls.append(result)
        return result


def leaving_after_the_first_words(model: str, tokens: int) -> Ask:
    """A streamed call whose caller stops reading after the first words and closes the connection."""
    return Ask(model, tokens, stream=True, leave_after=FIRST_WORDS)


def at_a_limit(actor: Actor, model: str, limit: AtALimit) -> Ask:
    """The actor's call of `model` at, or just past, one of the chat body's limits."""
    sender = None if limit.sender_length is None else of_length(actor.name, limit.sender_length)
    tool_call = (None if limit.tool_call_id_length is None
                 else of_length(f"call_{uuid.uuid4().hex}", limit.tool_call_id_length))
    return Ask(model, limit.tokens, sender=sender, answers_tool_call=tool_call)


def under_one_request_id(kind: str, *calls: tuple[str, int]) -> list[Ask]:
    """Calls of (model, tokens) sent one after the other under one request id of their own: a retry (`kind`
    "retry"), another call under a reused id ("reused"), or callers who chose the same id ("chosen")."""
    request_id = f"{kind}-{uuid.uuid4().hex}"
    return [Ask(model, tokens, request_id=request_id) for model, tokens in calls]


def retried_with_settings_reordered(model: str, tokens: int) -> list[Ask]:
    """A call and its retry, both with the same sampling settings, written in another order the second time: JSON
    gives the order of an object's fields no meaning, and clients' libraries write them in orders of their own."""
    first, retry = under_one_request_id("retry", (model, tokens), (model, tokens))
    return [replace(first, settings=SAMPLING), replace(retry, settings=SAMPLING[::-1])]


def request_id_of(length: int) -> str:
    """A request id of its own, `length` characters long."""
    return of_length(f"long-{uuid.uuid4().hex}", length)


@dataclass(frozen=True)
class AskSignedInAs:
    """A call made with a sign-in of the actor's that must be refused (expired, or of another realm)."""

    sign_in: ForeignSignIn
    model: str
    tokens: int

    async def perform_as(self, actor: Actor) -> CallResult:
        await about_to_call(actor)
        session = await actor.deployment.accounts.foreign_session(actor.account, self.sign_in)
        actor.stage.services.redactor.remember(session.secret)
        return await made_with(actor, session, self.model, self.tokens)


@dataclass(frozen=True)
class AskWithAForgedSignIn:
    """A call made with a sign-in forged from a real token the realm issued to the actor."""

    forgery: Forgery
    model: str
    tokens: int

    async def perform_as(self, actor: Actor) -> CallResult:
        await about_to_call(actor)
        deployment = actor.deployment
        if deployment.identity is None:
            raise TargetLacksPart("the deployment signs no one in through the realm whose tokens could be forged")
        forger = Forger(deployment.identity)
        actor.stage.on_cleanup("take back the signing key the forgeries were signed with", forger.close)
        session = await deployment.accounts.forged_session(actor.account,
                                                           lambda token: forger.forge(token, self.forgery))
        actor.stage.services.redactor.remember(session.secret)
        return await made_with(actor, session, self.model, self.tokens)


async def made_with(actor: Actor, session, model: str, tokens: int) -> CallResult:
    result = await actor.deployment.calls.make(session, CallRequest(model, tokens, scope=actor.stage.scope))
    actor.calls.append(result)
    return result


@dataclass(frozen=True)
class CallAtOnce:
    """`count` calls at once (at most `concurrency` in flight when given), all under `request_id` if given.

    Once a call goes unanswered, the calls not yet sent are not sent: each is recorded as unanswered."""

    count: int
    model: str
    tokens: int
    concurrency: int | None = None
    progress: Callable[[int, int], None] | None = None
    request_id: str | None = None

    async def perform_as(self, actor: Actor) -> list[CallResult]:
        await about_to_call(actor)
        session = await actor.current_session()
        count, concurrency = self.count, self.concurrency
        gate = asyncio.Semaphore(concurrency or count)
        done, stalled = 0, False

        async def one() -> CallResult:
            nonlocal done, stalled
            async with gate:
                request = CallRequest(self.model, self.tokens, request_id=self.request_id, scope=actor.stage.scope)
                if stalled:
                    result = CallResult(request, time.time(), 0.0, Refusal(
                        RefusalKind.NO_ANSWER, 0, "not sent: Ops-Center had stopped answering this batch"))
                else:
                    result = await call(actor, request, session, under_load=True)
                    stalled = stalled or (result.refusal is not None
                                          and result.refusal.kind is RefusalKind.NO_ANSWER)
            done += 1
            if self.progress is not None:
                self.progress(done, count)
            return result

        hold = await actor.deployment.calls.hold()
        calls = [asyncio.ensure_future(one()) for _ in range(count)]
        await hold.release(min(count, concurrency or count))
        actor.batch = list(await asyncio.gather(*calls))
        actor.calls.extend(actor.batch)
        return actor.batch


def copies_of_one_call(count: int, model: str, tokens: int) -> CallAtOnce:
    """The same call, with one request id, sent `count` times at once (a client retrying impatiently)."""
    return CallAtOnce(count, model, tokens, request_id=f"retry-{uuid.uuid4().hex}")


@dataclass(frozen=True)
class CallInWaves:
    """`count` calls, `concurrency` in flight at a time (no more than the deployment can take, where a Rule is about
    something else than simultaneity)."""

    count: int
    model: str
    tokens: int
    concurrency: int
    progress: Callable[[int, int], None] | None = None

    async def perform_as(self, actor: Actor) -> list[CallResult]:
        limit = actor.deployment.in_flight_at_most
        return await actor.attempts_to(CallAtOnce(self.count, self.model, self.tokens,
                                                  min(self.concurrency, limit or self.concurrency), self.progress))


@dataclass(frozen=True)
class SendMalformed:
    problem: Malformed

    async def perform_as(self, actor: Actor) -> Reply:
        await about_to_call(actor)
        actor.last_reply = await actor.deployment.calls.malformed(await actor.current_session(), self.problem,
                                                                  actor.stage.scope)
        return actor.last_reply
