"""What a deployment can be asked, one small interface per capability.

Every deployment has accounts and LLM calls. The others (own credits, organizations, keys, limits on sign-ins,
purchases) it implements where its product has them; where it lacks one, it declares why (`Deployment.lacks`), and
every question of that capability is answered NotApplicable (declarations.Lacking).
"""

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from creditflow.deployments.base import (
    Account,
    Allocation,
    Balance,
    ByokSettings,
    CallRequest,
    CallResult,
    ClaimedAddress,
    ForeignSignIn,
    Malformed,
    MemberUsage,
    OrgRef,
    Pool,
    Purchase,
    Refusal,
    RefusalKind,
    Reply,
    Session,
)
from creditflow.systems.payment_provider import Delivery, PayWith
from creditflow.verdicts import CannotArrange, TargetLacksPart


class Accounts(ABC):
    """People: run-unique users on a plan, signed in, and the sign-ins that must be refused."""

    @abstractmethod
    async def enroll(self, username: str, plan: str, owner: str, platform_admin: bool = False,
                     arranged: bool = True) -> tuple[Account, Session]:
        """A new user on `plan`, known to Keycloak and to Ops-Center, signed in. `arranged=False`: nothing beyond
        what the product itself does when a user signs up and signs in (none of the deployment's workarounds)."""

    @abstractmethod
    async def remove(self, account: Account) -> None: ...

    @abstractmethod
    async def sign_in(self, account: Account, owner: str) -> Session: ...

    @abstractmethod
    async def plan_in_identity(self, session: Session) -> tuple[str | None, str | None]:
        """The (e-mail, plan) the identity provider vouches for in this session, verified."""

    @abstractmethod
    async def stranger_sessions(self) -> list[Session]:
        """Sessions a stranger might present: none, garbage, forged."""

    async def foreign_session(self, account: Account, kind: ForeignSignIn) -> Session:
        """A sign-in of `account` that must be refused: expired, or issued by another realm."""
        raise TargetLacksPart(f"this deployment has no sign-in that could be {kind}")

    async def forged_session(self, account: Account, forge: Callable[[str], Awaitable[str]]) -> Session:
        """A sign-in an attacker forged (`forge`) from a real token the realm issued to `account`, presented where the
        product takes a token."""
        raise TargetLacksPart("this deployment takes no token of the realm that could be forged")

    async def recreate(self, account: Account, owner: str) -> tuple[Account, Session]:
        """The account removed and created again with the same username and e-mail (a new identity)."""
        await self.remove(account)
        return await self.enroll(account.username, account.plan, owner)


class OwnCredits(ABC):
    """A user's own credits: the balance, and a platform administrator's grants."""

    @abstractmethod
    async def balance(self, session: Session, naming: Account | None = None) -> Reply[Balance]:
        """The session's own balance; `naming`: another account named in the request, as a prober would."""

    @abstractmethod
    async def grant(self, operator: Session, account: Account, credits: Decimal) -> Reply[None]:
        """Credits given by a platform administrator to the account, named by its identity."""

    @abstractmethod
    async def grant_naming(self, operator: Session, user_id: str | None, email: str | None,
                           credits: Decimal) -> Reply[None]:
        """The same, the account named as a client names it: by `user_id` or by `email` (None leaves that name
        out), whether or not the name is anyone's."""

    async def arrange_credits(self, operator: Session, account: Account, credits: Decimal) -> Reply[None]:
        """Credits a scenario starts with: through the product's own grant, where it has one."""
        return await self.grant(operator, account, credits)


class Organizations(ABC):
    """Organizations: their pools, bought into, their members and the allocations members spend."""

    @abstractmethod
    async def create(self, admin: Session, name: str, plan: str) -> Reply[OrgRef]: ...

    @abstractmethod
    async def delete(self, admin: Session, org: OrgRef) -> Reply[None]: ...

    async def remove(self, admin: Session, org: OrgRef) -> Reply[None]:
        """Cleanup: the organization removed by whoever the deployment lets remove it (its admin, usually)."""
        return await self.delete(admin, org)

    @abstractmethod
    async def buy(self, admin: Session, org: OrgRef, amount: Any) -> Reply[Purchase]:
        """The organization's admin buys credits into its pool, paid as the product takes payment."""

    def purchasable(self, credits: Decimal) -> Decimal:
        """The fewest credits, at least `credits`, that the product sells in one purchase."""
        return credits

    async def stock_pool(self, operator: Session, admin: Session, org: OrgRef, amount: Decimal) -> Reply[Purchase]:
        """Credits an organization starts a scenario with: bought by its admin, where the product takes payment for
        them; else a platform admin's grant (`Purchase.granted`)."""
        purchase = await self.buy(admin, org, amount)
        if purchase.ok and not purchase.value.credited:
            return Reply(refusal=Refusal(RefusalKind.UNREADABLE, 202, "the purchase was answered before its credits "
                                         "arrived"), elapsed_ms=purchase.elapsed_ms)
        return purchase

    @abstractmethod
    async def add_member(self, admin: Session, org: OrgRef, member: Account) -> Reply[None]: ...

    @abstractmethod
    async def invite_naming(self, admin: Session, org: OrgRef, user_id: str | None, email: str | None) -> Reply[None]:
        """An account added as a member, named as a client names it: by `user_id` or by `email` (None leaves that
        name out), whether or not the name is anyone's."""

    @abstractmethod
    async def allocate(self, admin: Session, org: OrgRef, member: Account, credits: Any) -> Reply[Allocation]: ...

    @abstractmethod
    async def allocate_naming(self, admin: Session, org: OrgRef, user_id: str | None, email: str | None,
                              credits: Any) -> Reply[Allocation]:
        """An allocation whose member is named as a careless client might name it: by `user_id`, by `email`, by
        both or by neither (None leaves that name out)."""

    @abstractmethod
    async def pool(self, session: Session, org: OrgRef) -> Reply[Pool]: ...

    @abstractmethod
    async def allocation(self, member: Session, org: OrgRef) -> Reply[Allocation]: ...

    @abstractmethod
    async def attribution(self, admin: Session, org: OrgRef) -> Reply[list[MemberUsage]]: ...


class Keys(ABC):
    """The user's own provider keys (BYOK)."""

    @abstractmethod
    async def store(self, session: Session, provider: str, key: str) -> Reply[None]: ...

    @abstractmethod
    async def settings(self, session: Session, naming: Account | None = None) -> Reply[ByokSettings]:
        """The session's own key settings; `naming`: another account named in the request."""


class SignIns(ABC):
    """The limits on sign-ins a client cannot lift (`Limits`): sign-ins sent from an address of the sender's."""

    @abstractmethod
    async def attempt(self, account: Account, secret: str, sender: Account,
                      claim: ClaimedAddress | None = None) -> Reply[None]:
        """A sign-in of `account` with `secret` (its password, or a wrong one) at the deployment's sign-in, sent from
        `sender`'s address; `claim`: the request also says it comes from another address. Refused as unauthorized
        (wrong credentials, or a locked account: an identity provider need not say which) or as too many."""

    @abstractmethod
    async def present(self, sender: Account, session: Session, valid: bool,
                      claim: ClaimedAddress | None = None) -> Reply[None]:
        """From `sender`'s address, a sign-in where the deployment limits invalid ones: `sender`'s own (`session`,
        where the deployment signs requests with it) if `valid`, one it never issued otherwise."""


class Purchases(ABC):
    """Money in, paid at the payment provider: a user's own purchases, cards on file, refunds, and the provider's
    events (an organization's purchase is the organization's: Organizations.buy)."""

    @abstractmethod
    async def buy_own(self, session: Session, amount: Any) -> Reply[Purchase]:
        """A user buys credits for themself, paid with their card on file."""

    @abstractmethod
    async def put_on_file(self, session: Session, org: OrgRef | None, method: PayWith) -> Reply[None]:
        """The payment method the session's user (for `org`, its admin) pays with from now on, made at the provider
        in their browser and handed to Ops-Center."""

    @abstractmethod
    async def refund(self, operator: Session, payment_id: str, credits: Decimal | None) -> Reply[Decimal]:
        """A platform admin refunds a purchase (`credits`: part of it); the value: the credits taken back."""

    @abstractmethod
    async def deliver(self, delivery: Delivery) -> Reply[None]:
        """An event delivered to the endpoint where the product receives the payment provider's events."""


class Hold:
    """Calls a scenario sends at once, held by the deployment until they are all in flight and then let go
    together, so that "at once" means at once in every run. This one holds nothing."""

    async def release(self, in_flight: int) -> None:
        """Lets the held calls go once `in_flight` of them wait, or once no more arrive."""


class LlmCalls(ABC):
    """LLM calls through Ops-Center, served or refused."""

    @abstractmethod
    async def make(self, session: Session, request: CallRequest) -> CallResult: ...

    @abstractmethod
    async def malformed(self, session: Session, problem: Malformed, scope: str = "") -> Reply[None]:
        """A request with the problem (chat.MALFORMED_CHAT_BODIES), sent as a careless client would."""

    async def hold(self) -> Hold:
        """A hold on the calls about to be sent at once (none, where the deployment has no way to hold them)."""
        return Hold()

    async def arrange_used(self, account: Account, used: int) -> None:
        """The account has already used `used` API calls this period, set where the product counts them: a Rule about
        the call at the quota's edge need not make the 699 calls before it. A product that keeps no count a call is
        checked against cannot hold this (CannotArrange, with where its source shows it)."""
        raise CannotArrange("this deployment does not say where its product counts API calls")

    async def time_operation(self, session: Session, operation: str) -> Reply[None] | None:
        """One request to an endpoint of the product's own that does one of the guide's budgeted operations (its
        time, seen from outside, bounds the operation's); None where the operation is timed inside a call, from
        the phases the call's answer reports."""
        return None
