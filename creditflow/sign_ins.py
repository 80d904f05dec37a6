"""Limits a client cannot lift, tried as an attacker tries them: failed sign-ins that lock an account, invalid
sign-ins that refuse an address, each request claiming a new address where the scenario says so. How many attempts
each limit allows is the deployment's own (`Deployment.declared_limits`), never the Gherkin's."""

import itertools
from collections.abc import Iterator

from creditflow.actors import Actor, FlowError
from creditflow.deployments.base import AddressHeader, ClaimedAddress
from creditflow.scene import Scene
from creditflow.verdicts import TargetLacksPart

# Addresses a client claims to come from: TEST-NET-3 (RFC 5737), set aside for documentation, nobody's.
CLAIMED_NETWORK = "203.0.113"


def claims(header: AddressHeader | None) -> Iterator[ClaimedAddress | None]:
    """A new address claimed in `header` for each request (up to 254 of them); no claim at all without a header."""
    if header is None:
        return itertools.repeat(None)
    return (ClaimedAddress(header, f"{CLAIMED_NETWORK}.{host}") for host in range(1, 255))


class SignIns:
    def __init__(self, scene: Scene):
        self.w = scene

    async def fail_as(self, attacker: Actor, target: Actor, header: AddressHeader | None = None) -> None:
        """`attacker` signs in as `target` with wrong credentials, as often as the target's account allows before it
        is locked; `header`: each attempt claims a new address in it."""
        allowed = self.w.deployment.declared_limits().failed_sign_ins_before_lockout
        if allowed is None:
            raise FlowError("the deployment declares no lockout of accounts, yet does not declare that it lacks one")
        by, account = self.w.acting(attacker), target.account
        for claim in itertools.islice(claims(header), allowed):
            by.last_reply = await self.w.deployment.sign_ins.attempt(account, f"not-{account.password}", by.account,
                                                                     claim)

    async def sign_in(self, actor: Actor) -> None:
        """`actor` signs in with her right credentials, from her own address."""
        self.w.acting(actor)
        actor.last_reply = await self.w.deployment.sign_ins.attempt(actor.account, actor.account.password,
                                                                    actor.account)

    async def present_invalid(self, actor: Actor, header: AddressHeader | None = None) -> None:
        """`actor` presents invalid sign-ins from her own address, one more than the deployment allows an address
        within its window; `header`: each claims a new address in it. Her answer is the last one's."""
        allowed = self.w.deployment.declared_limits().invalid_sign_ins_per_window
        self.w.acting(actor)
        for claim in itertools.islice(claims(header), allowed + 1):
            actor.last_reply = await self.w.deployment.sign_ins.present(actor.account, actor.session, False, claim)

    async def present_valid(self, actor: Actor) -> None:
        """`actor` presents her own sign-in, from her own address, where invalid ones are limited."""
        self.w.acting(actor)
        actor.last_reply = await self.w.deployment.sign_ins.present(actor.account, await actor.current_session(), True)

    @staticmethod
    def apart(actor: Actor, other: Actor) -> None:
        """`actor` and `other` call from addresses of their own, as users of a deployed product do; where the target
        gives every persona this machine's one address (a remote target), one's limit is the other's too."""
        if actor.session.origin == other.session.origin:
            raise TargetLacksPart(f"{actor} and {other} call from the same address on this target, so a limit on "
                                  f"{other}'s address is a limit on {actor}'s")
