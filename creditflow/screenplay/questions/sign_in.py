"""What a sign-in says and where it comes from, and what the product tells those who are not signed in."""

from dataclasses import dataclass

from creditflow.deployments.base import Reply
from creditflow.screenplay.actors import Actor


@dataclass(frozen=True)
class CallsFromTheAddressOf:
    """Whether the actor calls from the same address as `other`: where the target gives every persona this machine's
    one address (a remote target), a limit on one's address is a limit on the other's too."""

    other: Actor

    async def answered_by(self, actor: Actor) -> bool:
        return actor.session.origin == self.other.session.origin


@dataclass(frozen=True)
class PlanInIdentity:
    """(e-mail, plan) as the actor's sign-in carries them."""

    async def answered_by(self, actor: Actor) -> tuple[str | None, str | None]:
        return await actor.deployment.accounts.plan_in_identity(await actor.current_session())


@dataclass(frozen=True)
class StrangersBalances:
    """What the product answers a caller without a valid sign-in who asks for a balance, once for each kind of
    stranger the deployment knows."""

    async def answered_by(self, actor: Actor) -> list[Reply]:
        deployment = actor.deployment
        return [await deployment.own_credits.balance(session)
                for session in await deployment.accounts.stranger_sessions()]


@dataclass(frozen=True)
class Health:
    async def answered_by(self, actor: Actor) -> Reply[dict[str, str]]:
        return await actor.deployment.health()
