"""Ops-Center-OSS's capabilities, each over its routes (OssApi): actors sign in through `POST /auth/direct-login` and
carry the `session_token` cookie; what the product has no API for is arranged in its tables (Arrangements)."""

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
    ClaimedAddress,
    ForeignSignIn,
    MemberUsage,
    OrgRef,
    Pool,
    ProductRefused,
    Purchase,
    Refusal,
    RefusalKind,
    Reply,
    Session,
)
from creditflow.deployments.capabilities import Accounts, Keys, Organizations, OwnCredits, Purchases, SignIns
from creditflow.deployments.http import claiming, credits, owner_of
from creditflow.deployments.ops_center_oss.answers import allocation, plain, refusal, reply
from creditflow.deployments.ops_center_oss.api import BEARER, OssApi
from creditflow.deployments.ops_center_oss.builds import OssBuild
from creditflow.deployments.ops_center_oss.payments import PACKAGES
from creditflow.deployments.ops_center_oss.storage import Arrangements
from creditflow.systems.identity import EMAIL_DOMAIN, Identity
from creditflow.systems.payment_provider import Delivery, PaymentProvider, PayWith
from creditflow.verdicts import NotApplicable, TargetLacksPart

# The packages the product's page sells for a pool, credits to dollars (src/pages/organization/CreditPurchase.jsx,
# 44-66): the price it sends with a purchase, which nothing charges.
PAGE_PRICES = {1_000: "10", 5_000: "45", 10_000: "80"}


class OssAccounts(Accounts):
    def __init__(self, api: OssApi, identity: Identity, arrangements: Arrangements | None):
        self.api, self.identity, self.arrangements = api, identity, arrangements
        self._profiles: dict[str, dict] = {}  # what the product's sign-in said of each session's user

    async def enroll(self, username: str, plan: str, owner: str, platform_admin: bool = False,
                     arranged: bool = True) -> tuple[Account, Session]:
        account = await self.identity.create_account(username, f"{username}{EMAIL_DOMAIN}", plan, platform_admin)
        if arranged:
            await self.arrangements.open_wallet(account.user_id, plan)
        return account, await self.sign_in(account, owner)

    async def remove(self, account: Account) -> None:
        await self.identity.delete_account(account.user_id)

    async def sign_in(self, account: Account, owner: str) -> Session:
        origin = self.api.http.origin_for(account.username)
        answer = await self.api.direct_login(account.username, account.password, origin)
        cookie = next((part.split("=", 1)[1] for part in answer.headers.get("set-cookie", "").split(";")
                       if part.strip().startswith("session_token=")), None)
        if not answer.ok or cookie is None:
            refused = refusal(answer)
            raise ProductRefused(f"Ops-Center refused the sign-in of {owner}: {refused.describe()}", refused)
        self._profiles[cookie] = answer.field("user") or {}
        return Session(cookie, time.monotonic(), answer.elapsed_ms, owner, origin=origin)

    async def plan_in_identity(self, session: Session) -> tuple[str | None, str | None]:
        """What the product's sign-in read from Keycloak's userinfo for this session's user."""
        profile = self._profiles.get(session.secret, {})
        return profile.get("email"), profile.get("subscription_tier")

    async def stranger_sessions(self) -> list[Session]:
        return [Session(secret, 0.0) for secret in ("", "not-a-session", secrets.token_urlsafe(32))]

    async def foreign_session(self, account: Account, kind: ForeignSignIn) -> Session:
        """Expired: a session the product itself ended (its logout); another realm: a token Keycloak signed for its
        master realm, presented as a bearer."""
        if kind is ForeignSignIn.EXPIRED:
            session = await self.sign_in(account, account.username.split("-")[0].title())
            answer = await self.api.logout(session)
            if not answer.ok:
                refused = refusal(answer)
                raise ProductRefused(f"Ops-Center did not end the session: {refused.describe()}", refused)
            return session
        return Session(await self.identity.other_realm_token(), time.monotonic(), presented_as=BEARER,
                       owner=account.username.split("-")[0].title(), origin=self.api.http.origin_for(account.username))

    async def forged_session(self, account: Account, forge: Callable[[str], Awaitable[str]]) -> Session:
        """Forged from a token Keycloak issued to the account, presented as a bearer: the chat route takes a bearer
        JWT beside its session cookie (get_user_id, backend/litellm_api.py:681-808), which it verifies as HS256 with
        the product's own secret (api_key_manager.py:37-38, :322-327)."""
        token, _ = await self.identity.sign_in(account.username, account.password)
        return Session(await forge(token), time.monotonic(), presented_as=BEARER,
                       owner=account.username.split("-")[0].title(), origin=self.api.http.origin_for(account.username))


class KeptAdministrator:
    """The product lets only a platform administrator delete an organization: the deployment keeps one, made when
    first needed and removed when the deployment closes."""

    def __init__(self, accounts: OssAccounts):
        self._accounts = accounts
        self._kept: tuple[Account, Session] | None = None

    async def session(self) -> Session:
        if self._kept is None:
            account = await self._accounts.identity.create_account(f"admin-{secrets.token_hex(4)}",
                                                                   f"admin-{secrets.token_hex(4)}{EMAIL_DOMAIN}",
                                                                   "professional", platform_admin=True)
            self._kept = account, await self._accounts.sign_in(account, "Platform admin")
        return self._kept[1]

    async def remove(self) -> None:
        if self._kept is not None:
            await self._accounts.remove(self._kept[0])


class OssOwnCredits(OwnCredits):
    def __init__(self, api: OssApi, build: OssBuild, arrangements: Arrangements | None):
        self.api, self.build, self.arrangements = api, build, arrangements

    async def balance(self, session: Session, naming: Account | None = None) -> Reply[Balance]:
        answer = await self.api.balance(session, naming.user_id if naming else None)
        if not answer.ok:
            return reply(answer)
        usage = await self.api.usage(session)
        used = usage.field("api_calls_used") if usage.ok else None
        limit = usage.field("api_calls_limit") if usage.ok else None
        return reply(answer, Balance(credits(answer.field("balance")), used, limit, answer.field("tier")))

    async def grant(self, operator: Session, account: Account, amount: Decimal) -> Reply[None]:
        return await self.grant_naming(operator, account.user_id, None, amount)

    async def grant_naming(self, operator: Session, user_id: str | None, email: str | None,
                           amount: Decimal) -> Reply[None]:
        if email is not None:
            raise NotApplicable(self.build.lacks["grant-by-email"])
        return reply(await self.api.grant(operator, user_id, plain(amount)))

    async def arrange_credits(self, operator: Session, account: Account, amount: Decimal) -> Reply[None]:
        await self.arrangements.give_credits(account.user_id, amount)
        return Reply()


class OssOrganizations(Organizations):
    def __init__(self, api: OssApi, build: OssBuild, administrator: KeptAdministrator):
        self.api, self.build, self.administrator = api, build, administrator

    async def create(self, admin: Session, name: str, plan: str) -> Reply[OrgRef]:
        answer = await self.api.create_org(admin, name, plan)
        org = answer.field("organization") or {}
        return reply(answer, OrgRef(str(org.get("id")), name) if answer.ok else None)

    async def delete(self, admin: Session, org: OrgRef) -> Reply[None]:
        return reply(await self.api.delete_org(admin, org.org_id))

    async def remove(self, admin: Session, org: OrgRef) -> Reply[None]:
        """The product lets only a platform administrator delete an organization; a build that cannot delete one says
        so (`org-deletion`)."""
        if "org-deletion" in self.build.lacks:
            raise NotApplicable(self.build.lacks["org-deletion"])
        return reply(await self.api.delete_org(await self.administrator.session(), org.org_id))

    async def buy(self, admin: Session, org: OrgRef, amount: Any) -> Reply[Purchase]:
        """As the product's page buys a package (src/pages/organization/CreditPurchase.jsx:151-156): the credits and
        the page's own price, which nothing charges; the credits arrive with the answer (org_billing_api.py:532-597)."""
        price = PAGE_PRICES.get(amount, "0.00") if isinstance(amount, int | Decimal) else "0.00"
        answer = await self.api.add_pool_credits(admin, org.org_id, plain(amount), price)
        return reply(answer, Purchase(None, credited=True) if answer.ok else None)

    async def stock_pool(self, operator: Session, admin: Session, org: OrgRef, amount: Decimal) -> Reply[Purchase]:
        """The product takes no payment for a pool: its starting credits are a platform admin's grant, through the
        same route, which a system administrator may call for any organization (org_billing_api.py:557-561)."""
        answer = await self.api.add_pool_credits(operator, org.org_id, plain(amount), "0.00")
        return reply(answer, Purchase(None, credited=True, granted=True) if answer.ok else None)

    async def add_member(self, admin: Session, org: OrgRef, member: Account) -> Reply[None]:
        return await self.invite_naming(admin, org, member.user_id, None)

    async def invite_naming(self, admin: Session, org: OrgRef, user_id: str | None, email: str | None) -> Reply[None]:
        if email is not None and "invite-by-email" in self.build.lacks:
            raise NotApplicable(self.build.lacks["invite-by-email"])
        return reply(await self.api.add_member(admin, org.org_id, user_id, email))

    async def allocate(self, admin: Session, org: OrgRef, member: Account, amount: Any) -> Reply[Allocation]:
        return await self.allocate_naming(admin, org, member.user_id, None, amount)

    async def allocate_naming(self, admin: Session, org: OrgRef, user_id: str | None, email: str | None,
                              amount: Any) -> Reply[Allocation]:
        if email is not None:
            raise NotApplicable(self.build.lacks["allocate-by-email"])
        answer = await self.api.allocate(admin, org.org_id, user_id, plain(amount))
        return reply(answer, allocation(answer.body) if answer.ok else None)

    async def pool(self, session: Session, org: OrgRef) -> Reply[Pool]:
        answer = await self.api.pool(session, org.org_id)
        if not answer.ok:  # before its first purchase an organization has no pool: 404 "Credit pool not found"
            return reply(answer)
        total, used = credits(answer.field("total_credits")), credits(answer.field("used_credits"))
        return reply(answer, Pool(remaining=total - used, allocated=credits(answer.field("allocated_credits")),
                                  used=used))

    async def allocation(self, member: Session, org: OrgRef) -> Reply[Allocation]:
        answer = await self.api.my_billing(member)
        if not answer.ok:
            return reply(answer)
        mine = next((row for row in answer.field("organizations", []) if str(row.get("org_id")) == org.org_id), None)
        if mine is None:
            listed = Refusal(RefusalKind.NOT_FOUND, answer.status, "the member's billing lists no allocation in "
                                                                   "this organization")
            return Reply(refusal=listed, elapsed_ms=answer.elapsed_ms)
        return reply(answer, allocation(mine))

    async def attribution(self, admin: Session, org: OrgRef) -> Reply[list[MemberUsage]]:
        answer = await self.api.org_usage(admin, org.org_id)
        if not answer.ok:
            return reply(answer)
        return reply(answer, [MemberUsage(row.get("user_id"), credits(row.get("total_credits")),
                                          row.get("request_count")) for row in answer.field("top_users", [])])


class OssPurchases(Purchases):
    def __init__(self, api: OssApi, build: OssBuild, provider: PaymentProvider | None):
        self.api, self.build, self.provider = api, build, provider
        self._cards: dict[str, str] = {}  # the payment method each sign-in pays with, as the product's page holds it

    async def buy_own(self, session: Session, amount: Any) -> Reply[Purchase]:
        """The product's card purchase (litellm_api.py:2242-2306): a package named by its price in dollars (PACKAGES),
        and a payment method its page makes at the provider (Stripe.js's part)."""
        card = self._cards.get(session.secret) or await self._payment_provider().payment_method(PayWith.CARD)
        priced = {credits: float(dollars) for dollars, credits in PACKAGES.items()}
        # An amount no package holds is sent at the $10 package's rate, 1,000 credits a dollar: the product refuses it,
        # as it refuses every amount its table lacks.
        dollars = priced.get(amount, float(amount) / PACKAGES[10] * 10) if isinstance(amount, int | Decimal) else amount
        answer = await self.api.buy_credits(session, dollars, card)
        return reply(answer, Purchase(answer.field("transaction_id"), credited=True) if answer.ok else None)

    async def put_on_file(self, session: Session, org: OrgRef | None, method: PayWith) -> Reply[None]:
        """A user keeps no card at the product: each purchase carries a payment method its page makes at the provider
        (CreditPurchaseRequest, litellm_api.py:373-375). The method is made now, as the page makes it from the card
        the user types, and sent with the user's next purchases in this sign-in."""
        if org is not None:
            raise NotApplicable(self.build.lacks["org-payments"])
        self._cards[session.secret] = await self._payment_provider().payment_method(method)
        return Reply()

    def _payment_provider(self) -> PaymentProvider:
        """The payment provider in the payer's browser's role (Stripe.js's): it makes the payment methods."""
        if self.provider is None:
            raise TargetLacksPart("this target names no payment provider (PAYMENTS_URL)")
        return self.provider

    async def refund(self, operator: Session, payment_id: str, credits: Decimal | None) -> Reply[Decimal]:
        raise NotApplicable(self.build.lacks["payment-refunds"])

    async def deliver(self, delivery: Delivery) -> Reply[None]:
        # The scenarios deliver again the event of an organization's payment, which the product never takes.
        raise NotApplicable(self.build.lacks["org-payments"])


class OssKeys(Keys):
    def __init__(self, api: OssApi):
        self.api = api

    async def store(self, session: Session, provider: str, key: str) -> Reply[None]:
        return reply(await self.api.store_key(session, provider, key))

    async def settings(self, session: Session, naming: Account | None = None) -> Reply[ByokSettings]:
        answer = await self.api.keys(session, naming.user_id if naming else None)
        if not answer.ok:
            return reply(answer)
        providers = answer.field("providers", [])
        configured = any(row.get("provider") == "openrouter" and row.get("enabled") for row in providers)
        hints = tuple(str(row.get("masked_key", "")) for row in providers)
        return reply(answer, ByokSettings(configured, hints, str(answer.body)))


class OssSignIns(SignIns):
    def __init__(self, api: OssApi):
        self.api = api

    async def attempt(self, account: Account, secret: str, sender: Account,
                      claim: ClaimedAddress | None = None) -> Reply[None]:
        answer = await self.api.direct_login(account.username, secret, self.api.http.origin_for(sender.username),
                                             owner_of(sender), claiming(claim))
        # 200 signed in, 401 wrong credentials (server.py:5999-6000), 429 too many attempts with Retry-After
        # (server.py:5853-5857)
        return reply(answer)

    async def present(self, sender: Account, session: Session, valid: bool,
                      claim: ClaimedAddress | None = None) -> Reply[None]:
        """The product's sign-in, the only route its limit on sign-ins guards (server.py:5836): the sender's own
        password, or a wrong one."""
        return await self.attempt(sender, sender.password if valid else f"not-{sender.password}", sender, claim)
