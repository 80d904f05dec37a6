"""The contract's capabilities, each over its endpoints (ContractApi): Keycloak bearer tokens sign actors in."""

import math
import secrets
import time
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
    Reply,
    Session,
)
from creditflow.deployments.capabilities import (
    Accounts,
    Keys,
    LlmCalls,
    Organizations,
    OwnCredits,
    Purchases,
    SignIns,
)
from creditflow.deployments.chat import conversation, malformed_body
from creditflow.deployments.contract.answers import (
    allocation,
    call_result,
    created,
    purchase,
    reply,
    sign_in_reply,
    whole,
)
from creditflow.deployments.contract.api import ContractApi
from creditflow.deployments.contract.payments import CREDITS_PER_CENT, SMALLEST_PURCHASE
from creditflow.deployments.contract.storage import ContractArrangements
from creditflow.deployments.http import claiming, credits, owner_of
from creditflow.systems.forgeries import stranger_token
from creditflow.systems.identity import EMAIL_DOMAIN, Identity
from creditflow.systems.payment_provider import Delivery, PaymentProvider, PayWith
from creditflow.verdicts import TargetLacksPart


class ContractAccounts(Accounts):
    def __init__(self, api: ContractApi, identity: Identity):
        self.api, self.identity = api, identity

    async def enroll(self, username: str, plan: str, owner: str, platform_admin: bool = False,
                     arranged: bool = True) -> tuple[Account, Session]:
        account = await self.identity.create_account(username, f"{username}{EMAIL_DOMAIN}", plan, platform_admin)
        session = await self.sign_in(account, owner)
        await self.api.balance(session)  # the first authenticated call provisions the user
        return account, session

    async def remove(self, account: Account) -> None:
        await self.identity.delete_account(account.user_id)

    async def sign_in(self, account: Account, owner: str) -> Session:
        token, elapsed = await self.identity.sign_in(account.username, account.password)
        return Session(token, time.monotonic(), elapsed, owner, origin=self.api.http.origin_for(account.username))

    async def plan_in_identity(self, session: Session) -> tuple[str | None, str | None]:
        claims = await self.identity.decode(session.secret)
        return claims.get("email"), claims.get("subscription_tier")

    async def stranger_sessions(self) -> list[Session]:
        """Each from an address of its own: a stranger's refusals never count against anyone else's address."""
        signing = next(key["kid"] for key in await self.identity.published_keys() if key.get("use") == "sig")
        return [Session(secret, 0.0, origin=self.api.http.origin_for(f"stranger-{secrets.token_hex(6)}"))
                for secret in ("", "not-a-token", stranger_token(signing))]

    async def forged_session(self, account: Account, forge: Callable[[str], Awaitable[str]]) -> Session:
        token, _ = await self.identity.sign_in(account.username, account.password)
        return Session(await forge(token), time.monotonic(), owner=account.username.split("-")[0].title(),
                       origin=self.api.http.origin_for(account.username))

    async def foreign_session(self, account: Account, kind: ForeignSignIn) -> Session:
        if kind is ForeignSignIn.EXPIRED:
            token = await self.identity.expired_token(account.username, account.password)
        else:
            token = await self.identity.other_realm_token()
        return Session(token, time.monotonic(), owner=account.username.split("-")[0].title(),
                       origin=self.api.http.origin_for(account.username))


class ContractOwnCredits(OwnCredits):
    def __init__(self, api: ContractApi):
        self.api = api

    async def balance(self, session: Session, naming: Account | None = None) -> Reply[Balance]:
        answer = await self.api.balance(session, naming.user_id if naming else None)
        if not answer.ok:
            return reply(answer)
        return reply(answer, Balance(credits(answer.field("credits")), answer.field("api_calls_used"),
                                     answer.field("api_calls_limit"), answer.field("tier")))

    async def grant(self, operator: Session, account: Account, amount: Decimal) -> Reply[None]:
        return await self.grant_naming(operator, account.user_id, None, amount)

    async def grant_naming(self, operator: Session, user_id: str | None, email: str | None,
                           amount: Decimal) -> Reply[None]:
        return reply(await self.api.grant(operator, email, whole(amount), user_id=user_id))


class ContractOrganizations(Organizations):
    def __init__(self, api: ContractApi):
        self.api = api

    async def create(self, admin: Session, name: str, plan: str) -> Reply[OrgRef]:
        answer = await self.api.create_org(admin, name, plan)
        return created(answer, OrgRef(answer.field("id"), name) if answer.ok else None)

    async def delete(self, admin: Session, org: OrgRef) -> Reply[None]:
        return reply(await self.api.delete_org(admin, org.org_id))

    async def buy(self, admin: Session, org: OrgRef, amount: Any) -> Reply[Purchase]:
        return purchase(await self.api.purchase(admin, org.org_id, whole(amount)))

    def purchasable(self, credits: Decimal) -> Decimal:
        """Credits are sold in whole cents (10 credits), from Stripe's smallest charge, $0.50 (500 credits)."""
        return max(SMALLEST_PURCHASE, Decimal(math.ceil(credits / CREDITS_PER_CENT) * CREDITS_PER_CENT))

    async def add_member(self, admin: Session, org: OrgRef, member: Account) -> Reply[None]:
        return await self.invite_naming(admin, org, member.user_id, None)

    async def invite_naming(self, admin: Session, org: OrgRef, user_id: str | None, email: str | None) -> Reply[None]:
        return created(await self.api.invite(admin, org.org_id, email, user_id=user_id))

    async def allocate(self, admin: Session, org: OrgRef, member: Account, amount: Any) -> Reply[Allocation]:
        return await self.allocate_naming(admin, org, member.user_id, None, amount)

    async def allocate_naming(self, admin: Session, org: OrgRef, user_id: str | None, email: str | None,
                              amount: Any) -> Reply[Allocation]:
        answer = await self.api.allocate(admin, org.org_id, email, whole(amount), user_id=user_id)
        return reply(answer, allocation(answer) if answer.ok else None)

    async def pool(self, session: Session, org: OrgRef) -> Reply[Pool]:
        answer = await self.api.org_credits(session, org.org_id)
        if not answer.ok:
            return reply(answer)
        return reply(answer, Pool(remaining=credits(answer.field("total_credits")),
                                  allocated=credits(answer.field("allocated_credits")),
                                  used=credits(answer.field("used_credits"))))

    async def allocation(self, member: Session, org: OrgRef) -> Reply[Allocation]:
        answer = await self.api.my_allocation(member, org.org_id)
        return reply(answer, allocation(answer) if answer.ok else None)

    async def attribution(self, admin: Session, org: OrgRef) -> Reply[list[MemberUsage]]:
        answer = await self.api.usage_attribution(admin, org.org_id)
        if not answer.ok:
            return reply(answer)
        rows = answer.body if isinstance(answer.body, list) else []
        return reply(answer, [MemberUsage(row.get("user_email"), credits(row.get("credits_used")),
                                          row.get("api_calls")) for row in rows])


class ContractPurchases(Purchases):
    def __init__(self, api: ContractApi, provider: PaymentProvider | None):
        self.api, self.provider = api, provider

    async def buy_own(self, session: Session, amount: Any) -> Reply[Purchase]:
        return purchase(await self.api.purchase_own(session, whole(amount)))

    async def put_on_file(self, session: Session, org: OrgRef | None, method: PayWith) -> Reply[None]:
        payment_method = await self._provider().payment_method(method)
        return reply(await self.api.card_on_file(session, org.org_id if org else None, payment_method))

    async def refund(self, operator: Session, payment_id: str, amount: Decimal | None) -> Reply[Decimal]:
        answer = await self.api.refund(operator, payment_id, None if amount is None else whole(amount))
        return reply(answer, credits(answer.field("credits_taken_back")) if answer.ok else None)

    async def deliver(self, delivery: Delivery) -> Reply[None]:
        return reply(await self.api.payment_event(delivery))

    def _provider(self) -> PaymentProvider:
        if self.provider is None:
            raise TargetLacksPart("this target names no payment provider (PAYMENTS_URL)")
        return self.provider


class ContractKeys(Keys):
    def __init__(self, api: ContractApi):
        self.api = api

    async def store(self, session: Session, provider: str, key: str) -> Reply[None]:
        return created(await self.api.store_byok_key(session, provider, key))

    async def settings(self, session: Session, naming: Account | None = None) -> Reply[ByokSettings]:
        answer = await self.api.byok_keys(session, naming.user_id if naming else None)
        if not answer.ok:
            return reply(answer)
        hints = tuple(entry.get("key_hint", "") for entry in answer.field("keys", []))
        return reply(answer, ByokSettings(answer.field("openrouter_configured") is True, hints, str(answer.body)))


class ContractSignIns(SignIns):
    def __init__(self, api: ContractApi, identity: Identity):
        self.api, self.identity = api, identity

    async def attempt(self, account: Account, secret: str, sender: Account,
                      claim: ClaimedAddress | None = None) -> Reply[None]:
        """Keycloak's password sign-in, as a client sends it; Keycloak answers a locked account as it answers wrong
        credentials (400 invalid_grant), so both are unauthorized."""
        endpoint, form = self.identity.token_request(account.username, secret)
        answer = await self.api.http.send(owner_of(sender), "POST", endpoint, form=form, headers=claiming(claim),
                                          origin=self.api.http.origin_for(sender.username))
        return sign_in_reply(answer)

    async def present(self, sender: Account, session: Session, valid: bool,
                      claim: ClaimedAddress | None = None) -> Reply[None]:
        """The balance, the cheapest request the reference authenticates, with the session's token or one the realm
        never issued."""
        presented = Session(session.secret if valid else "not-a-token", session.signed_in_at,
                            owner=owner_of(sender), origin=self.api.http.origin_for(sender.username))
        return sign_in_reply(await self.api.send(presented, "GET", "/api/v1/credits/balance",
                                                 headers=claiming(claim)))


class ContractCalls(LlmCalls):
    def __init__(self, api: ContractApi, arrangements: ContractArrangements | None):
        self.api, self.arrangements = api, arrangements

    async def make(self, session: Session, request: CallRequest) -> CallResult:
        sent_at = time.time()
        answer = await self.api.chat(session, request.model, request.tokens, request.use_byok, request.request_id,
                                     request.stream, request.leave_after,
                                     conversation(request.scope, request.sender, request.answers_tool_call),
                                     request.compressed, request.org.org_id if request.org else None,
                                     request.settings)
        return call_result(request, sent_at, answer)

    async def malformed(self, session: Session, problem: Malformed, scope: str = "") -> Reply[None]:
        return reply(await self.api.chat_as_sent(session, malformed_body(problem, scope)))

    async def arrange_used(self, account: Account, used: int) -> None:
        await self.arrangements.count_calls(account.user_id, used)
