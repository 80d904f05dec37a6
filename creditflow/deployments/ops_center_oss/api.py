"""Ops-Center-OSS's routes, one method each: requests in, answers out. ../shared/notes/ops-center-oss-contract.md
maps each to the product's source lines."""

from typing import Any

from creditflow.deployments.base import Session
from creditflow.deployments.http import COMPRESSED, Answer, HttpClient, names_given
from creditflow.deployments.ops_center_oss.builds import OssBuild

BEARER = "bearer"  # Session.presented_as of a Keycloak token
ANSWER_WITHIN_S = 20  # the guide expects an LLM call in 0.5 to 2 s; a request unanswered this long has hung
# A compressed chat answer arrives empty, and a 500 drops its connection: no compression, no reuse.
CLIENT_OPTIONS = {"headers": {"Accept-Encoding": "identity"}, "keepalive": False, "timeout_s": ANSWER_WITHIN_S,
                  "own_addresses": True}


class OssApi:
    """The product's routes, one method each."""

    def __init__(self, http: HttpClient, build: OssBuild):
        self.http, self.build = http, build

    @staticmethod
    def _cookie(session: Session | None) -> dict[str, str]:
        """The session cookie; a token from an identity provider is presented as a bearer, as a client of the
        guide would present it."""
        if session is None or not session.secret:
            return {}
        if session.presented_as == BEARER:
            return {"Authorization": f"Bearer {session.secret}"}
        return {"Cookie": f"session_token={session.secret}"}

    async def send(self, session: Session | None, method: str, path: str, **kwargs) -> Answer:
        headers = self._cookie(session) | kwargs.pop("headers", {})
        owner, origin = (session.owner, session.origin) if session is not None else ("a stranger", "")
        return await self.http.send(owner, method, path, headers=headers, origin=origin, **kwargs)

    async def direct_login(self, username: str, password: str, origin: str = "", owner: str | None = None,
                           headers: dict[str, str] | None = None) -> Answer:
        return await self.http.send(owner or username.split("-")[0].title(), "POST", "/auth/direct-login",
                                    json={"username": username, "password": password}, origin=origin,
                                    headers=headers)

    async def logout(self, session: Session) -> Answer:
        return await self.send(session, "POST", "/api/v1/auth/logout")

    async def grant(self, session: Session, user_id: str | None, amount: Any) -> Answer:
        return await self.send(session, "POST", "/api/v1/credits/allocate",
                               json={"user_id": user_id, "amount": amount, "source": "manual"})

    async def track_usage(self, session: Session) -> Answer:
        """A free usage event of one call, as the product's own clients report one."""
        return await self.send(session, "POST", "/api/v1/credits/usage/track",
                               json={"service": "llm", "model": "gpt-3.5-turbo", "tokens": 100, "is_free": True})

    async def status(self) -> Answer:
        return await self.send(None, "GET", self.build.status_path)

    async def balance(self, session: Session, user_id: str | None = None) -> Answer:
        params = {"user_id": user_id} if user_id else None
        return await self.send(session, "GET", "/api/v1/credits/balance", params=params)

    async def usage(self, session: Session) -> Answer:
        return await self.send(session, "GET", "/api/v1/usage/current")

    async def create_org(self, session: Session, name: str, plan: str) -> Answer:
        return await self.send(session, "POST", "/api/v1/org", json={"name": name, "plan_tier": plan})

    async def delete_org(self, session: Session, org_id: str) -> Answer:
        return await self.send(session, "DELETE", f"/api/v1/org/{org_id}", params={"confirm": "true"})

    async def add_member(self, session: Session, org_id: str, user_id: str | None, email: str | None = None) -> Answer:
        """The member named by `user_id`, or by `email` where the build takes one (saashqdev's OrganizationMemberAdd,
        org_api.py:33-39)."""
        return await self.send(session, "POST", f"/api/v1/org/{org_id}/members",
                               json={**names_given(user_id=user_id, email=email), "role": "member"})

    async def buy_credits(self, session: Session, dollars: Any, stripe_token: str) -> Answer:
        return await self.send(session, "POST", "/api/v1/llm/credits/purchase",
                               json={"amount": dollars, "stripe_token": stripe_token})

    async def add_pool_credits(self, session: Session, org_id: str, amount: Any, price: str) -> Answer:
        return await self.send(session, "POST", f"/api/v1/org-billing/credits/{org_id}/add",
                               params={"credits": amount, "purchase_amount": price})

    async def allocate(self, session: Session, org_id: str, user_id: str | None, amount: Any) -> Answer:
        """The member named by `user_id`, or (a request the product should refuse) named not at all."""
        return await self.send(session, "POST", f"/api/v1/org-billing/credits/{org_id}/allocate",
                               json={**names_given(user_id=user_id), "allocated_credits": amount,
                                     "reset_period": "monthly"})

    async def pool(self, session: Session, org_id: str) -> Answer:
        return await self.send(session, "GET", f"/api/v1/org-billing/credits/{org_id}")

    async def my_billing(self, session: Session) -> Answer:
        return await self.send(session, "GET", "/api/v1/org-billing/billing/user")

    async def org_usage(self, session: Session, org_id: str) -> Answer:
        return await self.send(session, "GET", f"/api/v1/org-billing/credits/{org_id}/usage", params={"days": 30})

    async def store_key(self, session: Session, provider: str, key: str) -> Answer:
        return await self.send(session, "POST", "/api/v1/llm/byok/keys", json={"provider": provider, "api_key": key})

    async def keys(self, session: Session, user_id: str | None = None) -> Answer:
        params = {"user_id": user_id} if user_id else None
        return await self.send(session, "GET", "/api/v1/llm/byok/keys", params=params)

    async def chat(self, session: Session, body: Any, request_id: str | None = None,
                   compressed: bool = False) -> Answer:
        headers = {"Accept-Encoding": COMPRESSED} if compressed else {}
        if request_id:
            headers["X-Request-ID"] = request_id
        if isinstance(body, str):
            return await self.send(session, "POST", "/api/v1/llm/chat/completions", content=body, headers=headers)
        return await self.send(session, "POST", "/api/v1/llm/chat/completions", json=body, headers=headers)

    async def stream_chat(self, session: Session, body: dict, request_id: str | None,
                          leave_after: int | None) -> Answer:
        headers = self._cookie(session) | ({"X-Request-ID": request_id} if request_id else {})
        return await self.http.stream(session.owner, "/api/v1/llm/chat/completions", json=body | {"stream": True},
                                      headers=headers, leave_after=leave_after, origin=session.origin)
