"""The credit flow's Locust users: the suite's personas, arranged by scripts/load.py (make load).

Each user acts as one persona of the plan: an individual paying from her own credits, an organization member
paying from her allocation, a BYOK user calling with her own key, or an organization admin reading its books.
What a user sends, and how the answer is read, is the deployment's (creditflow.deployments.wire): nothing here
knows a path, a header or a field. Each operation is reported to Locust as one request, named for the business
(sign-in, charged call, balance read, organization read; a refusal for payment is its own name, not a failure).

The plan comes from the file CREDITFLOW_LOAD_PLAN names (the master, or a single process) and reaches each
worker as a message, so workers on other machines need nothing but this repository and Locust.
"""

import itertools
import json
import os
import time
import types
from decimal import Decimal
from pathlib import Path

import gevent.event
from locust import LoadTestShape, User, constant_throughput, events, task
from locust.runners import MasterRunner, WorkerRunner

from creditflow.deployments import deployment_class
from creditflow.deployments.base import Account, CallRequest, OrgRef, Payer, ProductRefused, RefusalKind, Session
from creditflow.deployments.hooks import load_target
from creditflow.deployments.http import address_of
from creditflow.deployments.wire import Transport, WireClient, WireIdentity, drive
from creditflow.load.figures import (
    BALANCE_READ,
    BYOK_CALL,
    CALL_THROTTLED,
    CHARGED_CALL,
    CREDIT_DEDUCTION,
    LOAD_ERROR,
    ORG_READ,
    PURCHASE,
    PURCHASE_THROTTLED,
    READ_THROTTLED,
    REFUSED_FOR_PAYMENT,
    SIGN_IN,
    SIGN_IN_THROTTLED,
    USAGE_TRACKING,
    Sample,
    step_figures,
    stopped_rising,
)
from creditflow.load.origins import transport_for
from creditflow.load.plan import Persona as PlannedPersona
from creditflow.load.plan import Plan, Profile

PLAN_MESSAGE = "creditflow_plan"
SAMPLES_KEY = "creditflow_samples"
HAND_OVER_MESSAGE = "creditflow_hand_over"  # the master asks each worker for its last samples
LAST_SAMPLES_MESSAGE = "creditflow_last_samples"
SAMPLES_LAG_S = 4  # a worker's samples reach the master within its report interval (3 s)
DRAIN_LIMIT_S = 50  # after the last step: how long users may take to finish their calls and workers to report
PLAN_WAIT_S = 30  # a worker's users wait this long for the master's plan before giving up
PHASES = {"credits": CREDIT_DEDUCTION, "usage": USAGE_TRACKING}  # server timings a call reports
LIMIT_WAIT_S = 60  # a sign-in refused as too frequent without a Retry-After: the usual window of such limits

plan_arrived = gevent.event.Event()


class LoadState:
    """This process's share of the load: the plan, the deployment's requests, and who takes the samples."""

    plan: Plan | None = None
    deployment = None  # the deployment's API over WireClient: what the users send, and how answers are read
    started_at: float | None = None  # the master's (or single process's) clock when the load began
    origin = "single process"
    workers = 0  # the master: workers that took part
    workers_done = 0  # the master: workers whose last samples arrived
    hand_over_asked = False
    steps_judged = 0  # a knee profile: the steps judged so far, from the samples that reached this process
    steps_run: int | None = None  # a knee profile that reached it: the steps it ran to their end


state = LoadState()
samples: list[tuple] = []  # this process's samples; a worker hands them to the master with each report
persona_turns = {}  # per kind: the next persona a new user takes


class LoadFailure(Exception):
    """An operation failed in a way no business rule explains: a server error, no answer, a refused sign-in."""


def receive_plan(plan: Plan) -> None:
    state.plan = plan
    state.deployment = load_target(deployment_class(plan.deployment)).requests_only(
        plan.ops_center_url, WireClient, WireIdentity(plan.keycloak), plan.build)
    plan_arrived.set()


PLAN_FILE = os.getenv("CREDITFLOW_LOAD_PLAN")  # set for the master or a single process, not for workers
if PLAN_FILE:
    receive_plan(Plan.from_json(Path(PLAN_FILE).read_text()))


@events.init.add_listener
def on_init(environment, **_):
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        runner.register_message(PLAN_MESSAGE, lambda msg, **_: receive_plan(Plan.from_json(msg.data)))
        runner.register_message(HAND_OVER_MESSAGE, lambda **_: hand_over_last_samples(runner))
    if isinstance(runner, MasterRunner):
        runner.register_message(LAST_SAMPLES_MESSAGE, take_last_samples)


def hand_over_last_samples(runner) -> None:
    runner.send_message(LAST_SAMPLES_MESSAGE, samples[:])
    samples.clear()


def take_last_samples(msg, **_):
    samples.extend(msg.data)
    state.workers_done += 1


@events.test_start.add_listener
def on_test_start(environment, **_):
    if isinstance(environment.runner, WorkerRunner):
        state.origin = f"worker {environment.runner.worker_index}"
    else:
        state.started_at = time.time()
    if isinstance(environment.runner, MasterRunner):
        state.workers = environment.runner.worker_count
        environment.runner.send_message(PLAN_MESSAGE, state.plan.to_json())


@events.request.add_listener
def keep_sample(name, response_time, exception, **_):
    samples.append((time.time(), name, response_time, exception is None, state.origin))


@events.user_error.add_listener
def keep_error(user_instance, exception, tb, **_):
    samples.append((time.time(), LOAD_ERROR, 0.0, False, state.origin))


@events.report_to_master.add_listener
def hand_samples_over(client_id, data, **_):
    data[SAMPLES_KEY] = samples[:]
    samples.clear()


@events.worker_report.add_listener
def take_samples(client_id, data, **_):
    samples.extend(data.get(SAMPLES_KEY, []))


@events.quitting.add_listener
def write_samples(environment, **_):
    if isinstance(environment.runner, WorkerRunner) or state.plan is None:
        return
    Path(state.plan.samples_path).write_text(json.dumps({
        "started_at": state.started_at, "samples": samples, "steps_run": state.steps_run,
        "workers_unreported": max(state.workers - state.workers_done, 0)}))


class StepLoad(LoadTestShape):
    """`step_users` more users every `step_seconds`, `steps` times; then the users finish their calls and stop,
    and every worker hands its last samples over, before the load ends. (Ending the load at once would let the
    master quit while workers still report: the callers' last calls would be missing from the figures.)"""

    def tick(self):
        profile = state.plan.profile
        run_time = self.get_run_time()
        if profile.until_knee and state.steps_run is None:
            self.judge(run_time, profile)
        steps = state.steps_run or profile.steps
        step = int(run_time // profile.step_seconds)
        if step < steps:
            return (step + 1) * profile.step_users, profile.step_users
        return None if self.drained(run_time - steps * profile.step_seconds) else (0, profile.most_users)

    @staticmethod
    def judge(run_time: float, profile: Profile) -> None:
        """A knee profile: each step, once its samples are in (workers report every few seconds), is judged with
        those before it; when the rate of charged calls has stopped rising, the load ends after that step."""
        ended = min(int((run_time - SAMPLES_LAG_S) // profile.step_seconds), profile.steps)
        if ended <= state.steps_judged:
            return
        state.steps_judged = ended
        taken = [Sample(*sample) for sample in samples]
        if stopped_rising(step_figures(taken, state.started_at, profile, steps_run=ended)):
            state.steps_run = ended

    def drained(self, overtime: float) -> bool:
        if overtime > DRAIN_LIMIT_S:
            return True
        if self.runner.user_count:  # users still finishing their calls
            return False
        if isinstance(self.runner, MasterRunner):
            if not state.hand_over_asked:
                self.runner.send_message(HAND_OVER_MESSAGE)
                state.hand_over_asked = True
            return state.workers_done >= state.workers
        return True


class LoadUser(User):
    """What every load user has: the plan, the deployment's requests, its pace, and a way to report."""

    abstract = True
    kind: str

    def on_start(self):
        if not plan_arrived.wait(PLAN_WAIT_S):
            raise LoadFailure(f"no load plan arrived from the master within {PLAN_WAIT_S} s")
        runner = self.environment.runner
        self.deployment = state.deployment
        self.wait_time = types.MethodType(constant_throughput(state.plan.profile.user_rate), self)
        self.turn = next(persona_turns.setdefault(self.kind, itertools.count()))
        # Each process deals out every persona in turn, each worker from its own index on, so that a persona's
        # users come from several workers: simultaneous calls on one account from several processes.
        self.offset = runner.worker_index if isinstance(runner, WorkerRunner) else 0

    def report(self, operation: str, started: float, failure: str | None = None) -> None:
        self.environment.events.request.fire(
            request_type=self.kind, name=operation, response_time=(time.perf_counter() - started) * 1000,
            response_length=0, exception=LoadFailure(failure) if failure else None, context={})

    def address(self, *which) -> str:
        """An address of this machine's loopback that is this user's alone (or its sign-in's): per-address limits
        meet one user's traffic, as they would meet one client's of a deployed product."""
        return address_of(":".join(map(str, (state.plan.scope, state.origin, self.kind, self.turn, *which))))

    def sign_in_as(self, persona: PlannedPersona, transport: Transport) -> Session | None:
        """A sign-in, reported; the product's refusal as too frequent is its limit's, reported apart."""
        started, account = time.perf_counter(), account_of(persona)
        try:
            session = drive(self.deployment.accounts.sign_in(account, persona.name), transport.send)
        except ProductRefused as refused:
            if refused.refusal is not None and refused.refusal.kind is RefusalKind.TOO_MANY:
                self.report(SIGN_IN_THROTTLED, started)
                self.refused_until = time.monotonic() + (refused.refusal.retry_after_s or LIMIT_WAIT_S)
            else:
                self.report(SIGN_IN, started, f"{persona.name} could not sign in: {refused}")
            return None
        except Exception as error:
            self.report(SIGN_IN, started, f"{persona.name} could not sign in: {error}")
            return None
        self.report(SIGN_IN, started)
        return session


class Persona(LoadUser):
    """One persona's user: it signs in once, from an address of its own, and keeps that session until the
    deployment would have it sign in again, as a client of the product keeps the session it was given."""

    abstract = True
    acts_as: str | None = None  # the persona kind it acts as, where that is not its own kind

    def on_start(self):
        super().on_start()
        personas = state.plan.of_kind(self.acts_as or self.kind)
        self.persona = personas[(self.turn + self.offset) % len(personas)]
        self.org = OrgRef(self.persona.org_id, self.persona.org_name) if self.persona.org_id else None
        self.transport, self.session, self.refused_until = transport_for(state.plan, self.address()), None, 0.0
        self.signed_in()

    def on_stop(self):
        self.transport.close()

    def perform(self, coroutine):
        return drive(coroutine, self.transport.send)

    def signed_in(self) -> bool:
        """A session to act with: the one the user has, or a new one when it has none or it is too old. A user the
        product's limit refused waits as long as the refusal says before it tries again."""
        expired = self.session is None or \
            time.monotonic() - self.session.signed_in_at > self.deployment.session_max_age_s
        if expired and time.monotonic() >= self.refused_until:
            self.session = self.sign_in_as(self.persona, self.transport)
        return self.session is not None


class Caller(Persona):
    abstract = True
    use_byok: bool | None = None

    @task(10)
    def call(self):
        if not self.signed_in():
            return
        plan, started = state.plan, time.perf_counter()
        result = self.perform(self.deployment.calls.make(self.session, CallRequest(plan.model, plan.tokens,
                                                                                   self.use_byok, scope=plan.scope)))
        if result.succeeded:
            self.report(BYOK_CALL if result.paid_by is Payer.BYOK else CHARGED_CALL, started)
            for phase, operation in PHASES.items():
                if phase in result.phases:
                    self.environment.events.request.fire(
                        request_type=self.kind, name=operation, response_time=result.phases[phase],
                        response_length=0, exception=None, context={})
        elif result.refusal.kind is RefusalKind.PAYMENT:
            self.report(REFUSED_FOR_PAYMENT, started)
        elif result.refusal.kind is RefusalKind.TOO_MANY:
            self.report(CALL_THROTTLED, started)
        else:
            self.report(CHARGED_CALL, started, f"{self.persona.name}'s call: Ops-Center {result.describe()}")

    @task(2)
    def read_balance(self):
        if not self.signed_in():
            return
        started = time.perf_counter()
        reply = self.perform(self.deployment.own_credits.balance(self.session))
        if limited(reply):
            self.report(READ_THROTTLED, started)
            return
        self.report(BALANCE_READ, started, None if reply.ok else f"{self.persona.name}'s balance: {reply.describe()}")


class Individual(Caller):
    """Pays from her own credits (Cody)."""

    kind = "individual"


class Member(Caller):
    """Pays from her allocation in an organization (Olivia)."""

    kind = "member"


class Byok(Caller):
    """Calls with her own OpenRouter key, which costs no credits (Bea)."""

    kind = "byok"
    use_byok = True


class Admin(Persona):
    """Reads her organization's books (Alice)."""

    kind = "admin"

    @task(10)
    def read_organization(self):
        if not self.signed_in():
            return
        started = time.perf_counter()
        reply = self.perform(self.deployment.orgs.pool(self.session, self.org))
        if limited(reply):
            self.report(READ_THROTTLED, started)
            return
        self.report(ORG_READ, started, None if reply.ok else f"{self.persona.name}'s organization: {reply.describe()}")


class Buyer(Persona):
    """An admin at the checkout (Alice): buys the smallest package of credits the deployment sells for her
    organization, paid with its card on file at the payment provider."""

    kind = "buyer"
    acts_as = "admin"

    @task
    def buy(self):
        if not self.signed_in():
            return
        started = time.perf_counter()
        orgs = self.deployment.orgs
        reply = self.perform(orgs.buy(self.session, self.org, orgs.purchasable(Decimal(1))))
        if limited(reply):
            self.report(PURCHASE_THROTTLED, started)
            return
        self.report(PURCHASE, started, None if reply.ok else f"{self.persona.name}'s purchase: {reply.describe()}")


class SignIn(LoadUser):
    """Signs in again and again, each time as a new client (a connection, and an address, of its own) of one
    persona after another: the load's share of sign-ins beyond each user's first, as people opening the product."""

    kind = "signin"

    def on_start(self):
        super().on_start()
        self.wait_time = types.MethodType(constant_throughput(state.plan.profile.sign_in_rate), self)
        self.signed_in_count, self.refused_until = 0, 0.0

    @task
    def sign_in(self):
        personas = state.plan.personas
        persona = personas[(self.turn + self.offset + self.signed_in_count) % len(personas)]
        self.signed_in_count += 1
        transport = transport_for(state.plan, self.address(self.signed_in_count))
        try:
            self.sign_in_as(persona, transport)
        finally:
            transport.close()


def limited(reply) -> bool:
    """The product refused as too many requests: one of its own limits, not the credit flow."""
    return reply.refusal is not None and reply.refusal.kind is RefusalKind.TOO_MANY


def account_of(persona: PlannedPersona) -> Account:
    return Account(persona.user_id, persona.username, persona.email, persona.password, persona.plan)


def weigh_by_the_mix(plan: Plan) -> None:
    """The master dispatches users by their classes' weights (a kind the mix leaves out is not on its command line)."""
    for kind_of_user in (Individual, Member, Byok, Admin, SignIn, Buyer):
        kind_of_user.weight = plan.mix.get(kind_of_user.kind) or kind_of_user.weight


if state.plan is not None:
    weigh_by_the_mix(state.plan)
