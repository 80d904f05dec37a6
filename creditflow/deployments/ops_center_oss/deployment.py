"""The ops-center-oss deployment, put together for one build: its prices, its LLM calls, and its capabilities and
readers connected to the systems a run's configuration names."""

import re
import time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import asyncpg

from creditflow.config import Config
from creditflow.deployments.base import Account, CallRequest, CallResult, Malformed, MoneyIn, Reply, Session
from creditflow.deployments.capabilities import Hold, LlmCalls
from creditflow.deployments.chat import conversation, malformed_body
from creditflow.deployments.declarations import DeployedFinding, Lacking, Workaround
from creditflow.deployments.deployment import Deployment
from creditflow.deployments.hooks import FuzzTarget, LoadTarget
from creditflow.deployments.http import HttpClient
from creditflow.deployments.ops_center_oss.answers import call_result, reply
from creditflow.deployments.ops_center_oss.api import CLIENT_OPTIONS, OssApi
from creditflow.deployments.ops_center_oss.builds import OPS_CENTER_OSS, OssBuild, build_named, build_of
from creditflow.deployments.ops_center_oss.capabilities import (
    KeptAdministrator,
    OssAccounts,
    OssKeys,
    OssOrganizations,
    OssOwnCredits,
    OssPurchases,
    OssSignIns,
)
from creditflow.deployments.ops_center_oss.payments import OssPayments
from creditflow.deployments.ops_center_oss.storage import (
    WALLET_TIERS,
    Arrangements,
    OssBilling,
    OssCache,
    OssLedger,
    ProviderLookupHold,
)
from creditflow.deployments.readers import PriceList
from creditflow.evidence import Evidence
from creditflow.systems.identity import Identity
from creditflow.systems.lago import Lago
from creditflow.systems.payment_provider import PaymentProvider
from creditflow.verdicts import CannotArrange

# How the product prices a chat call (litellm_credit_system.py): tokens / 1,000 x the provider's base
# price x the power level's multiplier x (1 + the tier's markup), to six places.
BASE_PER_1K = Decimal("0.015")  # openai/ and anthropic/ models, which is every model of the guide
BALANCED = Decimal("0.25")  # the default power level
MARKUP = {"free": Decimal(0), "trial": Decimal(0), "starter": Decimal("0.4"), "professional": Decimal("0.6"),
          "enterprise": Decimal("0.8")}
REQUESTS_ONLY = "a load generator's deployment sends requests only: no ledger, cache or billing is connected"


class OssPrices(PriceList):
    smallest_amount = Decimal("0.000001")
    # An allocation is a whole number of credits in its API (org_billing_api.py:121, BIGINT columns in
    # create_org_billing.sql), while its organization debit counts thousandths (org_credit_integration.py:143, 224).
    allocation_unit = Decimal(1)

    def price(self, model: str, tokens: int, plan: str | None = None) -> Decimal:
        markup = MARKUP[WALLET_TIERS.get(plan or "professional", "professional")]
        cost = Decimal(tokens) / 1000 * BASE_PER_1K * BALANCED * (1 + markup)
        return cost.quantize(self.smallest_amount, rounding=ROUND_HALF_UP)


class OssCalls(LlmCalls):
    def __init__(self, api: OssApi, build: OssBuild, arrangements: Arrangements | None):
        self.api, self.build, self.arrangements = api, build, arrangements

    async def make(self, session: Session, request: CallRequest) -> CallResult:
        sent_at = time.time()
        body = {"model": request.model, "max_tokens": request.tokens,
                "messages": conversation(request.scope, request.sender, request.answers_tool_call),
                **dict(request.settings)}
        if request.stream:
            return call_result(request, sent_at, await self.api.stream_chat(session, body, request.request_id,
                                                                                request.leave_after))
        return call_result(request, sent_at, await self.api.chat(session, body, request.request_id, request.compressed))

    async def time_operation(self, session: Session, operation: str) -> Reply[None] | None:
        """The product reports no phases of a call; usage tracking has an endpoint of its own
        (POST /api/v1/credits/usage/track, backend/credit_api.py:542-569)."""
        if operation != "usage tracking":
            return None
        return reply(await self.api.track_usage(session))

    async def hold(self) -> Hold:
        return await ProviderLookupHold.taken(self.arrangements.pool) if self.arrangements else Hold()

    async def malformed(self, session: Session, problem: Malformed, scope: str = "") -> Reply[None]:
        return reply(await self.api.chat(session, malformed_body(problem, scope)))

    async def arrange_used(self, account: Account, used: int) -> None:
        raise CannotArrange(self.build.calls_uncounted)


class OpsCenterOssDeployment(Deployment, FuzzTarget, LoadTarget):
    name = "ops-center-oss"
    openapi_path = "/openapi.json"
    session_max_age_s = 3600  # renewed at half the product's session of 2 hours (redis_session.py:22, every build)
    # What the class declares is the newest build's; each deployment declares its own build's (builds.py).
    lacks, limits, in_flight_at_most = OPS_CENTER_OSS.lacks, OPS_CENTER_OSS.limits, OPS_CENTER_OSS.in_flight_at_most
    workarounds, deployed_findings = OPS_CENTER_OSS.workarounds, OPS_CENTER_OSS.deployed_findings

    def __init__(self, build: OssBuild, api: OssApi, identity: Identity | None, arrangements: Arrangements | None,
                 ledger: OssLedger | Lacking, cache: OssCache | Lacking, billing: OssBilling | Lacking,
                 provider: PaymentProvider | None = None):
        self.build = build
        self.lacks, self.limits, self.in_flight_at_most = build.lacks, build.limits, build.in_flight_at_most
        self.workarounds, self.deployed_findings = build.workarounds, build.deployed_findings
        accounts = OssAccounts(api, identity, arrangements)
        self.administrator = KeptAdministrator(accounts)
        super().__init__(
            prices=OssPrices(), accounts=accounts, calls=OssCalls(api, build, arrangements), identity=identity,
            own_credits=OssOwnCredits(api, build, arrangements), orgs=OssOrganizations(api, build, self.administrator),
            keys=OssKeys(api), sign_ins=OssSignIns(api), purchases=OssPurchases(api, build, provider), ledger=ledger,
            cache=cache, billing=billing, payments=OssPayments(provider))
        self.api, self.arrangements, self.provider = api, arrangements, provider

    @classmethod
    async def connect(cls, config: Config, evidence: Evidence, run_marks: dict[str, str]) -> "OpsCenterOssDeployment":
        identity = Identity.configured(config, run_marks)
        password = config.database_password or None
        reader = await asyncpg.create_pool(config.database_url, password=password, min_size=1, max_size=4,
                                           server_settings={"default_transaction_read_only": "on"})
        writer = await asyncpg.create_pool(config.database_url, password=password, min_size=1, max_size=2)
        http = HttpClient(config.ops_center_url, evidence, **CLIENT_OPTIONS)
        provider = PaymentProvider(config.payments_url, config.payments_api_key,
                                   config.payments_webhook_secret) if config.payments_url else None
        return cls(build_of(config), OssApi(http, build_of(config)), identity, Arrangements(writer, config.redis_url),
                   OssLedger(reader), OssCache(config.redis_url),
                   OssBilling(Lago(config.lago_url, config.lago_api_key)), provider)

    @classmethod
    def declared_for(cls, config: Config) -> tuple[tuple[Workaround, ...], tuple[DeployedFinding, ...]]:
        build = build_of(config)
        return build.workarounds, build.deployed_findings

    @classmethod
    def requests_only(cls, ops_center_url: str, client, identity, build: str = "") -> "OpsCenterOssDeployment":
        known = build_named(build)
        return cls(known, OssApi(client(ops_center_url, **CLIENT_OPTIONS), known), identity, None,
                   Lacking(REQUESTS_ONLY), Lacking(REQUESTS_ONLY), Lacking(REQUESTS_ONLY))

    @property
    def unanswered(self) -> int:
        return self.api.http.unanswered

    async def close(self) -> None:
        await self.administrator.remove()
        await self.api.http.close()
        await self.arrangements.close()
        await self.ledger.close()
        if self.provider is not None:
            await self.provider.close()
        await self.cache.close()

    def tool_headers(self, session: Session) -> dict[str, str]:
        return OssApi._cookie(session)

    def money_in(self, method: str, path: str, query: dict[str, str], status: int, body: Any) -> MoneyIn | None:
        """A purchase into a pool: `POST /api/v1/org-billing/credits/{org}/add?credits=N` (org_billing_api.py)."""
        match = re.fullmatch(r"/api/v1/org-billing/credits/([^/]+)/add", path)
        if method != "POST" or not 200 <= status < 300 or match is None:
            return None
        try:
            return MoneyIn("organization", match.group(1), Decimal(query.get("credits", "")))
        except ArithmeticError:
            return None

    async def health(self) -> Reply[dict[str, str]]:
        """Ops-Center-OSS has no health report of its parts: its public status answer is what there is. A build with
        one reports each part of the credit flow it checks, a "healthy" one as the suite's "ok"."""
        answer = await self.api.status()
        if not answer.ok:
            return reply(answer)
        body = answer.body if isinstance(answer.body, dict) else {}
        if self.build.health_parts:
            checks = body.get("checks") if isinstance(body.get("checks"), dict) else {}
            states = {part: str((checks.get(part) or {}).get("status")) for part in self.build.health_parts
                      if part in checks}
            return reply(answer, {part: "ok" if state == "healthy" else state for part, state in states.items()})
        return reply(answer, {key: str(value) for key, value in body.items() if isinstance(value, str)})
