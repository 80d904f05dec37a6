"""The business driver the steps call: personas, organizations, LLM calls and what they cost.

`Services` holds the run's connections to every real system; `CreditFlow` is one scenario's world:
it creates run-unique users and organizations, remembers what it made, and removes it afterwards.
"""

import asyncio
import itertools
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from creditflow.api import Answer, OpsCenterApi
from creditflow.billing import Billing
from creditflow.cache import CacheReader
from creditflow.config import Config
from creditflow.evidence import Evidence
from creditflow.identity import Account, Identity
from creditflow.ledger import Charge, LedgerReader
from creditflow.metrics import Metrics
from creditflow.provider import ProviderDouble
from creditflow.redaction import Redactor

TOKEN_MAX_AGE_S = 240  # sign in again well before a short-lived access token expires
BYOK_PROVIDER = "openrouter"


class FlowError(AssertionError):
    """A precondition the scenario relies on did not hold; the message names the business fact."""


class TargetLacksPart(Exception):
    """The target has no such part (an environment limit, not a product defect)."""


@dataclass
class Persona:
    name: str
    account: Account
    token: str
    signed_in_at: float

    @property
    def email(self) -> str:
        return self.account.email


@dataclass
class Organization:
    name: str
    org_id: str
    admin: str


@dataclass(frozen=True)
class Snapshot:
    credits: int
    calls_used: int
    calls_limit: int
    plan: str


@dataclass
class CallOutcome:
    persona: str
    model: str
    tokens: int
    answer: Answer
    sent_at: float

    @property
    def succeeded(self) -> bool:
        return self.answer.status == 200

    @property
    def cost(self) -> int | None:
        return self.answer.body.get("cost_credits") if self.succeeded else None

    @property
    def billed_to(self) -> str | None:
        return self.answer.body.get("billed_to") if self.succeeded else None

    @property
    def request_id(self) -> str | None:
        return self.answer.body.get("request_id") if self.succeeded else None

    @property
    def reported_tokens(self) -> int | None:
        return self.answer.body.get("usage", {}).get("total_tokens") if self.succeeded else None

    def describe(self) -> str:
        if self.succeeded:
            return f"succeeded, {self.cost} credits billed to {self.billed_to}"
        return f"answered {self.answer.status} {self.answer.error_code or ''}: {self.answer.detail}"


@dataclass
class Services:
    config: Config
    api: OpsCenterApi
    identity: Identity
    ledger: LedgerReader
    cache: CacheReader
    billing: Billing
    provider: ProviderDouble | None  # absent against a deployment with real providers
    evidence: Evidence
    redactor: Redactor
    metrics: Metrics
    run_id: str = field(default_factory=lambda: secrets.token_hex(3))
    operator: Persona | None = None
    _serial: itertools.count = field(default_factory=itertools.count)

    @classmethod
    async def connect(cls, config: Config) -> "Services":
        redactor = Redactor(config.secrets())
        evidence = Evidence(redactor)
        return cls(
            config=config,
            api=OpsCenterApi(config.ops_center_url, evidence),
            identity=Identity(config.keycloak_url, config.keycloak_realm, config.keycloak_client_id,
                              config.keycloak_client_secret, config.keycloak_admin_user,
                              config.keycloak_admin_password),
            ledger=await LedgerReader.connect(config.database_url, config.database_password),
            cache=CacheReader(config.redis_url),
            billing=Billing(config.lago_url, config.lago_api_key),
            provider=ProviderDouble(config.provider_url) if config.provider_url else None,
            evidence=evidence,
            redactor=redactor,
            metrics=Metrics(),
        )

    def unique(self, name: str) -> str:
        return f"{name.lower()}-{self.run_id}-{next(self._serial)}"

    async def new_persona(self, name: str, plan: str, platform_admin: bool = False) -> Persona:
        username = self.unique(name)
        account = await self.identity.create_account(username, f"{username}@creditflow.test", plan, platform_admin)
        self.redactor.remember(account.password)
        persona = Persona(name, account, token="", signed_in_at=0.0)
        await self.sign_in(persona)
        # The first authenticated call provisions the user in Ops-Center.
        await self.api.balance(name, persona.token)
        return persona

    async def sign_in(self, persona: Persona) -> float:
        """Signs the persona in again; returns how long Keycloak took, in milliseconds."""
        persona.token, elapsed = await self.identity.sign_in(persona.account.username, persona.account.password)
        persona.signed_in_at = time.monotonic()
        self.redactor.remember(persona.token)
        self.metrics.add("authentication", elapsed)
        return elapsed

    async def fresh_token(self, persona: Persona) -> str:
        if time.monotonic() - persona.signed_in_at > TOKEN_MAX_AGE_S:
            await self.sign_in(persona)
        return persona.token

    async def operator_token(self) -> str:
        """A platform administrator for the whole run: the one who grants credits."""
        if self.operator is None:
            self.operator = await self.new_persona("Operator", "professional", platform_admin=True)
        return await self.fresh_token(self.operator)

    async def close(self) -> None:
        if self.operator is not None:
            await self.identity.delete_account(self.operator.account.user_id)
        await self.api.close()
        await self.ledger.close()
        await self.cache.close()
        if self.provider is not None:
            await self.provider.close()


class CreditFlow:
    def __init__(self, services: Services):
        self.s = services
        self.personas: dict[str, Persona] = {}
        self.orgs: dict[str, Organization] = {}
        self.before: dict[str, Snapshot] = {}
        self.outcomes: list[CallOutcome] = []
        self.provider_failing = False

    # -- people ---------------------------------------------------------------------------------
    def persona(self, name: str) -> Persona:
        if name not in self.personas:
            raise FlowError(f"{name} has not been introduced in this scenario")
        return self.personas[name]

    def org(self, name: str) -> Organization:
        if name not in self.orgs:
            raise FlowError(f"the organization {name} has not been created in this scenario")
        return self.orgs[name]

    async def sign_up(self, name: str, plan: str, credits: int = 0) -> Persona:
        if name in self.personas:
            return self.personas[name]
        persona = await self.s.new_persona(name, plan)
        self.personas[name] = persona
        if credits:
            await self.grant(name, credits)
        return persona

    async def grant(self, name: str, credits: int) -> None:
        answer = await self.s.api.grant("Operator", await self.s.operator_token(), self.persona(name).email, credits)
        if not answer.ok:
            raise FlowError(f"the platform admin could not grant {credits} credits to {name}: {answer.detail}")

    async def sign_in_again(self, name: str) -> float:
        return await self.s.sign_in(self.persona(name))

    async def token_claims(self, name: str) -> dict:
        return await self.s.identity.decode(await self.s.fresh_token(self.persona(name)))

    async def snapshot(self, name: str) -> Snapshot:
        answer = await self.s.api.balance(name, await self.s.fresh_token(self.persona(name)))
        if not answer.ok:
            raise FlowError(f"{name}'s balance could not be read: {answer.detail}")
        body = answer.body
        return Snapshot(body["credits"], body["api_calls_used"], body["api_calls_limit"], body["tier"])

    async def anonymous_balance(self, token: str | None) -> Answer:
        return await self.s.api.balance("a stranger", token)

    # -- organizations --------------------------------------------------------------------------
    async def create_org(self, admin: str, org_name: str, plan: str) -> Organization:
        await self.sign_up(admin, plan)
        answer = await self.s.api.create_org(admin, await self.s.fresh_token(self.persona(admin)),
                                             self.s.unique(org_name), plan)
        if answer.status != 201:
            raise FlowError(f"{admin} could not create the organization {org_name}: {answer.detail}")
        self.orgs[org_name] = Organization(org_name, answer.body["id"], admin)
        return self.orgs[org_name]

    async def _as_admin(self, org_name: str) -> tuple[Organization, str, str]:
        org = self.org(org_name)
        return org, org.admin, await self.s.fresh_token(self.persona(org.admin))

    async def buy(self, org_name: str, credits) -> Answer:
        org, admin, token = await self._as_admin(org_name)
        return await self.s.api.purchase(admin, token, org.org_id, credits)

    async def join(self, name: str, org_name: str) -> None:
        await self.sign_up(name, "platform")
        org, admin, token = await self._as_admin(org_name)
        answer = await self.s.api.invite(admin, token, org.org_id, self.persona(name).email)
        if answer.status != 201:
            raise FlowError(f"{name} could not join {org_name}: {answer.detail}")

    async def allocate(self, org_name: str, name: str, credits) -> Answer:
        org, admin, token = await self._as_admin(org_name)
        return await self.s.api.allocate(admin, token, org.org_id, self.persona(name).email, credits)

    async def pool(self, org_name: str) -> dict:
        org, admin, token = await self._as_admin(org_name)
        answer = await self.s.api.org_credits(admin, token, org.org_id)
        self.s.metrics.add("organization queries", answer.elapsed_ms)
        if not answer.ok:
            raise FlowError(f"{admin} could not read {org_name}'s credits: {answer.detail}")
        return answer.body

    async def allocation(self, name: str, org_name: str) -> dict:
        answer = await self.s.api.my_allocation(name, await self.s.fresh_token(self.persona(name)),
                                                self.org(org_name).org_id)
        self.s.metrics.add("organization queries", answer.elapsed_ms)
        if not answer.ok:
            raise FlowError(f"{name} could not read their allocation in {org_name}: {answer.detail}")
        return answer.body

    async def attribution(self, org_name: str) -> dict[str, dict]:
        org, admin, token = await self._as_admin(org_name)
        answer = await self.s.api.usage_attribution(admin, token, org.org_id)
        self.s.metrics.add("organization queries", answer.elapsed_ms)
        if not answer.ok:
            raise FlowError(f"{admin} could not read {org_name}'s usage report: {answer.detail}")
        return {row["user_email"]: row for row in answer.body}

    async def org_view_as(self, name: str, org_name: str) -> Answer:
        """What `name` gets when asking for the organization's credits (members and strangers included)."""
        token = await self.s.fresh_token(self.persona(name))
        return await self.s.api.org_credits(name, token, self.org(org_name).org_id)

    # -- BYOK -----------------------------------------------------------------------------------
    async def store_byok_key(self, name: str) -> Answer:
        """Stores the run's OpenRouter key (TEST_OPENROUTER_KEY) as `name`'s own."""
        key = self.s.config.byok_key
        self.s.redactor.remember(key)
        return await self.s.api.store_byok_key(name, await self.s.fresh_token(self.persona(name)), BYOK_PROVIDER, key)

    async def byok_settings(self, name: str) -> Answer:
        return await self.s.api.byok_keys(name, await self.s.fresh_token(self.persona(name)))

    # -- LLM calls ------------------------------------------------------------------------------
    async def call(self, name: str, model: str, tokens: int, use_byok: bool | None = None,
                   request_id: str | None = None) -> CallOutcome:
        await self._remember_opening(name)
        return await self._call(name, model, tokens, use_byok, request_id)

    def opening(self, name: str) -> Snapshot:
        """`name`'s balance and usage before their first call in this scenario."""
        if name not in self.before:
            raise FlowError(f"{name} has made no call in this scenario")
        return self.before[name]

    async def before_and_now(self, name: str) -> tuple[Snapshot, Snapshot]:
        return self.opening(name), await self.snapshot(name)

    async def _remember_opening(self, name: str) -> None:
        """The balance and usage before `name`'s first call, for the steps that compare before and after."""
        if name not in self.before:
            self.before[name] = await self.snapshot(name)

    async def _call(self, name: str, model: str, tokens: int, use_byok: bool | None = None,
                    request_id: str | None = None, under_load: bool = False) -> CallOutcome:
        token = await self.s.fresh_token(self.persona(name))
        sent_at = time.time()
        answer = await self.s.api.chat(name, token, model, tokens, use_byok, request_id)
        outcome = CallOutcome(name, model, tokens, answer, sent_at)
        # Budgets are for one caller at a time; samples taken inside a burst are reported apart.
        suffix = " under load" if under_load else ""
        phases = answer.server_timing()
        if "credits" in phases:
            self.s.metrics.add("credit deduction" + suffix, phases["credits"])
        if "usage" in phases:
            self.s.metrics.add("usage tracking" + suffix, phases["usage"])
        if outcome.succeeded:
            self.s.metrics.add("llm call" + suffix, answer.elapsed_ms)
        self.outcomes.append(outcome)
        return outcome

    async def call_many(self, name: str, count: int, model: str, tokens: int, concurrency: int | None = None,
                        progress: Callable[[int, int], None] | None = None) -> list[CallOutcome]:
        """`count` calls at once (at most `concurrency` in flight when given)."""
        await self._remember_opening(name)
        await self.s.fresh_token(self.persona(name))
        gate = asyncio.Semaphore(concurrency or count)
        done = 0

        async def one() -> CallOutcome:
            nonlocal done
            async with gate:
                outcome = await self._call(name, model, tokens, under_load=True)
            done += 1
            if progress is not None:
                progress(done, count)
            return outcome

        return list(await asyncio.gather(*(one() for _ in range(count))))

    async def send_raw(self, name: str, body) -> Answer:
        """A malformed or unusual request body, sent as it is."""
        return await self.s.api.chat_as_sent(name, await self.s.fresh_token(self.persona(name)), body)

    @property
    def last(self) -> CallOutcome:
        if not self.outcomes:
            raise FlowError("no LLM call has been made in this scenario")
        return self.outcomes[-1]

    def _provider_double(self, purpose: str) -> ProviderDouble:
        if self.s.provider is None:
            raise TargetLacksPart(f"{purpose} needs the LLM provider double (PROVIDER_DOUBLE_URL); "
                                  "this target has none")
        return self.s.provider

    async def provider_calls_of(self, outcome: CallOutcome) -> list[dict]:
        """The calls the provider received for `outcome`, each with the fingerprint of the key it carried."""
        calls = await self._provider_double("seeing which key reached the provider").calls_since(outcome.sent_at)
        return [c for c in calls if c["model"] and c["model"].endswith(outcome.model)]

    def byok_fingerprint(self) -> str:
        return ProviderDouble.fingerprint(self.s.config.byok_key)

    async def break_provider(self) -> None:
        await self._provider_double("making the provider fail").fail_calls("error")
        self.provider_failing = True

    # -- latency --------------------------------------------------------------------------------
    async def measure(self, name: str, operation: str, count: int) -> list[float]:
        """`count` samples of one of the guide's budgeted operations done by `name`, in milliseconds."""
        if operation == "authentication":
            return [await self.sign_in_again(name) for _ in range(count)]
        if operation == "organization queries":
            org = next((o.name for o in self.orgs.values() if o.admin == name), None)
            if org is None:
                raise FlowError(f"{name} administers no organization in this scenario")
            await self.pool(org)  # the first read opens connections; the budget is for steady state
            start = len(self.s.metrics.samples[operation])
            for _ in range(count):
                await self.pool(org)
            return self.s.metrics.samples[operation][start:]
        phase = {"credit deduction": "credits", "usage tracking": "usage"}.get(operation)
        if phase is None:
            raise FlowError(f"the guide budgets no operation called {operation!r}")
        samples = []
        for _ in range(count):
            outcome = await self.call(name, "gpt-3.5-turbo", 100)
            phases = outcome.answer.server_timing()
            if not outcome.succeeded or phase not in phases:
                raise FlowError(f"{operation} cannot be measured: the call {outcome.describe()} and reported "
                                f"Server-Timing phases {sorted(phases)} (needs {phase!r})")
            samples.append(phases[phase])
        return samples

    # -- ledger, cache, billing -----------------------------------------------------------------
    def _as_evidence(self, charges: list[Charge]) -> list[Charge]:
        self.s.evidence.ledger_rows.extend(charge.__dict__ for charge in charges)
        return charges

    async def own_charges(self, name: str) -> list[Charge]:
        return self._as_evidence(await self.s.ledger.charges(self.persona(name).account.user_id))

    async def member_charges(self, name: str, org_name: str) -> list[Charge]:
        user_id, org_id = self.persona(name).account.user_id, self.org(org_name).org_id
        return self._as_evidence(await self.s.ledger.charges(user_id, org_id))

    async def org_charges(self, org_name: str) -> list[Charge]:
        return self._as_evidence(await self.s.ledger.org_charges(self.org(org_name).org_id))

    async def ledger_balance(self, name: str) -> int | None:
        return await self.s.ledger.own_balance(self.persona(name).account.user_id)

    async def ledger_calls(self, name: str) -> int:
        return await self.s.ledger.calls_counted(self.persona(name).account.user_id)

    async def cached_balance(self, name: str) -> int | None:
        return await self.s.cache.cached_balance(self.persona(name).account.user_id)

    async def cached_calls(self, name: str) -> int | None:
        return await self.s.cache.calls_this_period(self.persona(name).account.user_id)

    async def stored_key_ciphertexts(self, name: str) -> list[bytes]:
        return await self.s.ledger.stored_byok_ciphertexts(self.persona(name).account.user_id)

    async def billing_customer(self, customer: str):
        """The Lago customer of a persona or an organization, and the plans it is actively subscribed to."""
        external_id = self.orgs[customer].org_id if customer in self.orgs else self.persona(customer).account.user_id
        return await self.s.billing.customer(external_id), await self.s.billing.active_plans(external_id)

    async def billing_event(self, outcome: CallOutcome):
        return await self.s.billing.usage_event(outcome.request_id)

    async def invariant_violations(self) -> list[str]:
        problems = []
        for persona in self.personas.values():
            found, rows = await self.s.ledger.user_violations(persona.account.user_id)
            problems += found
            self.s.evidence.ledger_rows.extend(rows)
        for org in self.orgs.values():
            found, rows = await self.s.ledger.org_violations(org.org_id)
            problems += found
            self.s.evidence.ledger_rows.extend(rows)
        return problems

    async def cleanup(self) -> list[str]:
        """Removes what the scenario made, pass or fail; returns what could not be removed."""
        leftovers = []
        if self.provider_failing:
            await self._provider_double("healing the provider").fail_calls(None)
        for org in self.orgs.values():
            answer = await self.s.api.delete_org(org.admin, await self.s.fresh_token(self.persona(org.admin)),
                                                 org.org_id)
            if answer.status not in (204, 404):
                leftovers.append(f"organization {org.name} ({answer.status})")
        for persona in self.personas.values():
            try:
                await self.s.identity.delete_account(persona.account.user_id)
            except Exception as error:  # cleanup reports every leftover and goes on
                leftovers.append(f"account of {persona.name} ({type(error).__name__})")
        return leftovers
