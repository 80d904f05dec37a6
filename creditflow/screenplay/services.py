"""The run's connections: the deployment under test, the provider double, evidence, redaction, metrics."""

import itertools
import secrets
from dataclasses import dataclass, field

from creditflow import deployments
from creditflow.config import Config
from creditflow.deployments.deployment import Deployment
from creditflow.evidence import Evidence
from creditflow.metrics import Metrics
from creditflow.redaction import Redactor
from creditflow.rules.money import MoneyTrail
from creditflow.screenplay.actors import Actor
from creditflow.systems.identity import run_marks
from creditflow.systems.payment_provider import PaymentProvider
from creditflow.systems.provider_double import ProviderDouble
from creditflow.verdicts import TargetLacksPart


@dataclass
class Services:
    config: Config
    deployment: Deployment
    provider: ProviderDouble | None  # absent against a deployment with real providers
    payment_provider: PaymentProvider | None  # as its webhook sender: absent where the target names none
    evidence: Evidence
    redactor: Redactor
    metrics: Metrics
    run_id: str = field(default_factory=lambda: secrets.token_hex(3))
    operator: Actor | None = None
    money: MoneyTrail = field(default_factory=MoneyTrail)  # what the run put into each account it touched
    _serial: itertools.count = field(default_factory=itertools.count)

    @classmethod
    async def connect(cls, config: Config, under_load: bool = False) -> "Services":
        """`under_load`: latency taken beside other runs, listed apart and not judged."""
        redactor = Redactor(config.secrets())
        evidence = Evidence(redactor)
        run_id = secrets.token_hex(3)
        return cls(
            config=config,
            deployment=await deployments.connect(config, evidence, run_marks(run_id)),
            provider=ProviderDouble(config.provider_url) if config.provider_url else None,
            payment_provider=PaymentProvider(config.payments_url, config.payments_api_key,
                                             config.payments_webhook_secret) if config.payments_url else None,
            evidence=evidence,
            redactor=redactor,
            metrics=Metrics(under_load=under_load),
            run_id=run_id,
        )

    def unique(self, name: str) -> str:
        return f"{name.lower()}-{self.run_id}-{next(self._serial)}"

    def provider_double(self, purpose: str) -> ProviderDouble:
        """The provider double, which `purpose` needs; a target without one is an environment limit."""
        if self.provider is None:
            raise TargetLacksPart(f"{purpose} needs the LLM provider double (PROVIDER_DOUBLE_URL); "
                                  "this target has none")
        return self.provider

    def payments(self, purpose: str) -> PaymentProvider:
        """The payment provider in its role of webhook sender, which `purpose` needs."""
        if self.payment_provider is None:
            raise TargetLacksPart(f"{purpose} needs the payment provider (PAYMENTS_URL); this target names none")
        return self.payment_provider

    async def enroll(self, actor: Actor, plan: str, platform_admin: bool = False, arranged: bool = True) -> Actor:
        """Gives `actor` an account on `plan`, signed in."""
        actor.account, actor.session = await self.deployment.accounts.enroll(self.unique(actor.name), plan,
                                                                             actor.name, platform_admin, arranged)
        self.redactor.remember(actor.account.password, actor.session.secret)
        self.metrics.add("authentication", actor.session.elapsed_ms)
        actor.sign_in_again, actor.session_max_age_s = self.sign_in, self.deployment.session_max_age_s
        return actor

    async def sign_in(self, actor: Actor) -> float:
        """Signs the actor in again; returns how long it took, in milliseconds."""
        actor.session = await self.deployment.accounts.sign_in(actor.account, actor.name)
        self.redactor.remember(actor.session.secret)
        self.metrics.add("authentication", actor.session.elapsed_ms)
        return actor.session.elapsed_ms

    async def operator_actor(self) -> Actor:
        """A platform administrator for the whole run: the one who grants credits."""
        if self.operator is None:
            self.operator = await self.enroll(Actor("Operator"), "professional", platform_admin=True)
        await self.operator.current_session()
        return self.operator

    async def operator_session(self):
        return (await self.operator_actor()).session

    async def close(self) -> None:
        if self.operator is not None:
            await self.deployment.accounts.remove(self.operator.account)
        await self.deployment.close()
        if self.provider is not None:
            await self.provider.close()
        if self.payment_provider is not None:
            await self.payment_provider.close()
