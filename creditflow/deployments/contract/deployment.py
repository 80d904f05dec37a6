"""The contract deployment, put together: its prices, its limits on sign-ins, and its capabilities and readers
connected to the systems a run's configuration names."""

import math
from decimal import Decimal
from typing import Any

from creditflow.config import Config
from creditflow.deployments.base import MoneyIn, Reply, Session
from creditflow.deployments.contract.answers import reply
from creditflow.deployments.contract.api import ContractApi
from creditflow.deployments.contract.capabilities import (
    ContractAccounts,
    ContractCalls,
    ContractKeys,
    ContractOrganizations,
    ContractOwnCredits,
    ContractPurchases,
    ContractSignIns,
)
from creditflow.deployments.contract.payments import ContractPayments
from creditflow.deployments.contract.storage import (
    ContractArrangements,
    ContractBilling,
    ContractCache,
    ContractLedger,
)
from creditflow.deployments.declarations import Lacking, Limits
from creditflow.deployments.deployment import Deployment
from creditflow.deployments.hooks import FuzzTarget, LoadTarget
from creditflow.deployments.http import HttpClient
from creditflow.deployments.readers import PriceList
from creditflow.evidence import Evidence
from creditflow.systems.identity import Identity
from creditflow.systems.lago import Lago
from creditflow.systems.payment_provider import PaymentProvider

# Credits per 1,000 tokens (docs/contract.md, "Units and prices").
RATES = {"gpt-3.5-turbo": 90, "gpt-4": 480, "gpt-4-turbo": 240, "claude-3-sonnet": 150}
# The realm's brute-force detection and the reference's limit on invalid sign-ins (docs/contract.md, "Limits a client
# cannot lift").
CONTRACT_LIMITS = Limits(
    failed_sign_ins_before_lockout=5, lockout_keyed_on="the account, wherever the attempts come from",
    lockout_seen_at="sandbox/realm/uchub-realm.json: bruteForceProtected, failureFactor 5",
    invalid_sign_ins_per_window=10, window_s=60, rate_keyed_on="the connection's peer address",
    rate_seen_at="sandbox/opscenter/limits.py, InvalidSignIns")
NO_PAYMENT_PROVIDER = "this target names no payment provider (PAYMENTS_URL, PAYMENTS_API_KEY, PAYMENTS_WEBHOOK_SECRET)"
REQUESTS_ONLY = "a load generator's deployment sends requests only: no ledger, cache, billing or payments are connected"


class ContractPrices(PriceList):
    smallest_amount = Decimal(1)

    def price(self, model: str, tokens: int, plan: str | None = None) -> Decimal:
        model = model.rpartition("/")[2]  # a provider's prefix names the same model at the same price
        if model not in RATES:
            raise ValueError(f"the contract prices no model called {model!r}")
        return Decimal(math.ceil(tokens * RATES[model] / 1000))


class ContractDeployment(Deployment, FuzzTarget, LoadTarget):
    openapi_path = "/openapi.json"
    name = "contract"
    limits = CONTRACT_LIMITS
    session_max_age_s = 240  # well before the realm's 5-minute access tokens expire

    def __init__(self, api: ContractApi, identity: Identity | None, ledger: ContractLedger | Lacking,
                 cache: ContractCache | Lacking, billing: ContractBilling | Lacking,
                 arrangements: ContractArrangements | None = None, provider: PaymentProvider | None = None):
        super().__init__(
            prices=ContractPrices(), accounts=ContractAccounts(api, identity), calls=ContractCalls(api, arrangements),
            identity=identity, own_credits=ContractOwnCredits(api), orgs=ContractOrganizations(api),
            keys=ContractKeys(api), sign_ins=ContractSignIns(api, identity),
            purchases=ContractPurchases(api, provider), ledger=ledger, cache=cache, billing=billing,
            payments=ContractPayments(provider) if provider else Lacking(NO_PAYMENT_PROVIDER))
        self.api, self.arrangements, self.provider = api, arrangements, provider

    @classmethod
    async def connect(cls, config: Config, evidence: Evidence, run_marks: dict[str, str]) -> "ContractDeployment":
        identity = Identity.configured(config, run_marks)
        # Each user calls from an address of their own, as users of a deployed product do: one user's refused
        # address never refuses another, and the suite's processes never share a limit.
        return cls(ContractApi(HttpClient(config.ops_center_url, evidence, own_addresses=True)), identity,
                   await ContractLedger.connect(config.database_url, config.database_password),
                   ContractCache(config.redis_url), ContractBilling(Lago(config.lago_url, config.lago_api_key)),
                   await ContractArrangements.connect(config.database_url, config.database_password, config.redis_url),
                   PaymentProvider(config.payments_url, config.payments_api_key, config.payments_webhook_secret)
                   if config.payments_url else None)

    @classmethod
    def requests_only(cls, ops_center_url: str, client, identity, build: str = "") -> "ContractDeployment":
        return cls(ContractApi(client(ops_center_url)), identity, Lacking(REQUESTS_ONLY), Lacking(REQUESTS_ONLY),
                   Lacking(REQUESTS_ONLY))

    @property
    def unanswered(self) -> int:
        return self.api.http.unanswered

    async def close(self) -> None:
        await self.api.http.close()
        await self.ledger.close()
        await self.cache.close()
        await self.arrangements.close()
        if self.provider is not None:
            await self.provider.close()

    def tool_headers(self, session: Session) -> dict[str, str]:
        return ContractApi._auth(session)

    def money_in(self, method: str, path: str, query: dict[str, str], status: int, body: Any) -> MoneyIn | None:
        """A platform admin's grant by user id (200). A purchase puts in only what its payment paid, which the payment
        provider's records tell (ContractPayments), not the request."""
        if method == "POST" and status == 200 and path == "/api/v1/admin/credits/grant" and isinstance(body, dict):
            credited = body.get("credits")
            user = body.get("user_id")
            return MoneyIn("user", user, Decimal(credited)) if user and isinstance(credited, int) else None
        return None

    async def health(self) -> Reply[dict[str, str]]:
        answer = await self.api.health()
        return reply(answer, dict(answer.body) if answer.ok and isinstance(answer.body, dict) else None)
