"""Limits a client cannot lift, tried as an attacker tries them: failed sign-ins that lock an account, invalid
sign-ins that refuse an address, each request claiming a new address where the scenario says so. How many attempts
each limit allows is the deployment's own (`Deployment.declared_limits`), never the Gherkin's."""

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

from creditflow.deployments.base import AddressHeader, ClaimedAddress
from creditflow.screenplay.actors import Actor, FlowError

# Addresses a client claims to come from: TEST-NET-3 (RFC 5737), set aside for documentation, nobody's.
CLAIMED_NETWORK = "203.0.113"


def claims(header: AddressHeader | None) -> Iterator[ClaimedAddress | None]:
    """A new address claimed in `header` for each request (up to 254 of them); no claim at all without a header."""
    if header is None:
        return itertools.repeat(None)
    return (ClaimedAddress(header, f"{CLAIMED_NETWORK}.{host}") for host in range(1, 255))


@dataclass(frozen=True)
class FailSignIns:
    """Signs in as `target` with wrong credentials, as often as the target's account allows before it is locked;
    `header`: each attempt claims a new address in it."""

    target: Actor
    header: AddressHeader | None = None

    async def perform_as(self, actor: Actor) -> None:
        deployment = actor.deployment
        allowed = deployment.declared_limits().failed_sign_ins_before_lockout
        if allowed is None:
            raise FlowError("the deployment declares no lockout of accounts, yet does not declare that it lacks one")
        actor.stage.acting(actor)
        account = self.target.account
        for claim in itertools.islice(claims(self.header), allowed):
            actor.last_reply = await deployment.sign_ins.attempt(account, f"not-{account.password}", actor.account,
                                                                 claim)


@dataclass(frozen=True)
class SignIn:
    """Signs in with her right credentials, from her own address."""

    async def perform_as(self, actor: Actor) -> None:
        actor.stage.acting(actor)
        actor.last_reply = await actor.deployment.sign_ins.attempt(actor.account, actor.account.password,
                                                                   actor.account)


@dataclass(frozen=True)
class PresentInvalidSignIns:
    """Presents invalid sign-ins from her own address, one more than the deployment allows an address within its
    window; `header`: each claims a new address in it. Her answer is the last one's."""

    header: AddressHeader | None = None

    async def perform_as(self, actor: Actor) -> None:
        allowed = actor.deployment.declared_limits().invalid_sign_ins_per_window
        actor.stage.acting(actor)
        for claim in itertools.islice(claims(self.header), allowed + 1):
            actor.last_reply = await actor.deployment.sign_ins.present(actor.account, actor.session, False, claim)


@dataclass(frozen=True)
class PresentOwnSignIn:
    """Presents her own sign-in, from her own address, where invalid ones are limited."""

    async def perform_as(self, actor: Actor) -> None:
        actor.stage.acting(actor)
        actor.last_reply = await actor.deployment.sign_ins.present(actor.account, await actor.current_session(),
                                                                   True)
