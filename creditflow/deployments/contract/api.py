"""The contract's endpoints (docs/contract.md), one method each: requests in, answers out."""

from typing import Any

from creditflow.deployments.base import Session
from creditflow.deployments.chat import conversation
from creditflow.deployments.http import COMPRESSED, Answer, HttpClient, names_given
from creditflow.systems.payment_provider import Delivery


class ContractApi:
    """The contract's endpoints, one method each: requests in, answers out."""

    def __init__(self, http: HttpClient):
        self.http = http

    @staticmethod
    def _auth(session: Session | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {session.secret}"} if session is not None and session.secret else {}

    async def send(self, session: Session | None, method: str, path: str, **kwargs) -> Answer:
        owner, origin = (session.owner, session.origin) if session is not None else ("a stranger", "")
        headers = self._auth(session) | kwargs.pop("headers", {})
        return await self.http.send(owner, method, path, headers=headers, origin=origin, **kwargs)

    async def health(self) -> Answer:
        return await self.send(None, "GET", "/health")

    async def balance(self, session: Session | None, user_id: str | None = None) -> Answer:
        params = {"user_id": user_id} if user_id else None
        return await self.send(session, "GET", "/api/v1/credits/balance", params=params)

    async def grant(self, session: Session, email: str | None, amount: Any, user_id: str | None = None) -> Answer:
        """The account named by each name given: by id, by e-mail, or (a request the contract refuses) both or none."""
        return await self.send(session, "POST", "/api/v1/admin/credits/grant",
                               json={**names_given(user_id=user_id, user_email=email), "credits": amount})

    async def create_org(self, session: Session, name: str, tier: str) -> Answer:
        return await self.send(session, "POST", "/api/v1/org", json={"name": name, "subscription_tier": tier})

    async def delete_org(self, session: Session, org_id: str) -> Answer:
        return await self.send(session, "DELETE", f"/api/v1/org/{org_id}")

    async def invite(self, session: Session, org_id: str, email: str | None, role: str = "member",
                     user_id: str | None = None) -> Answer:
        """The account named by each name given: by id, by e-mail, or (a request the contract refuses) both or none."""
        return await self.send(session, "POST", f"/api/v1/org/{org_id}/invite",
                               json={**names_given(user_id=user_id, email=email), "role": role})

    async def purchase(self, session: Session, org_id: str, amount: Any) -> Answer:
        return await self.send(session, "POST", f"/api/v1/credits/organization/{org_id}/purchase",
                               json={"amount": amount})

    async def purchase_own(self, session: Session, amount: Any) -> Answer:
        return await self.send(session, "POST", "/api/v1/credits/purchase", json={"amount": amount})

    async def card_on_file(self, session: Session, org_id: str | None, payment_method: str) -> Answer:
        path = f"/api/v1/credits/organization/{org_id}/payment-method" if org_id else "/api/v1/credits/payment-method"
        return await self.send(session, "PUT", path, json={"payment_method": payment_method})

    async def refund(self, session: Session, payment_id: str, amount: int | None) -> Answer:
        return await self.send(session, "POST", f"/api/v1/admin/payments/{payment_id}/refund",
                               json={} if amount is None else {"credits": amount})

    async def payment_event(self, delivery: Delivery) -> Answer:
        return await self.send(None, "POST", "/api/v1/payments/stripe/webhook", content=delivery.payload,
                               headers=delivery.headers)

    async def allocate(self, session: Session, org_id: str, email: str | None, amount: Any,
                       user_id: str | None = None) -> Answer:
        """The member named by each name given: by id, by e-mail, or (a request the contract refuses) both or none."""
        return await self.send(session, "POST", f"/api/v1/credits/organization/{org_id}/allocate",
                               json={**names_given(user_id=user_id, user_email=email), "credits": amount})

    async def org_credits(self, session: Session, org_id: str) -> Answer:
        return await self.send(session, "GET", f"/api/v1/credits/organization/{org_id}")

    async def my_allocation(self, session: Session, org_id: str) -> Answer:
        return await self.send(session, "GET", f"/api/v1/credits/organization/{org_id}/my-allocation")

    async def usage_attribution(self, session: Session, org_id: str) -> Answer:
        return await self.send(session, "GET", f"/api/v1/credits/organization/{org_id}/usage-attribution")

    async def store_byok_key(self, session: Session, provider: str, key: str) -> Answer:
        return await self.send(session, "POST", "/api/v1/settings/byok-keys",
                               json={"provider": provider, "api_key": key})

    async def byok_keys(self, session: Session, user_id: str | None = None) -> Answer:
        params = {"user_id": user_id} if user_id else None
        return await self.send(session, "GET", "/api/v1/settings/byok-keys", params=params)

    async def chat(self, session: Session | None, model: str, max_tokens: int, use_byok: bool | None = None,
                   request_id: str | None = None, stream: bool = False, leave_after: int | None = None,
                   messages: list[dict] | None = None, compressed: bool = False, org_id: str | None = None,
                   settings: tuple[tuple[str, float], ...] = ()) -> Answer:
        """`messages`: the conversation, by default the question of a call that names no scenario's scope; `org_id`:
        the organization named to pay; `settings`: sampling settings, written in the body in their order."""
        headers = {"Accept-Encoding": COMPRESSED} if compressed else {}
        if org_id is not None:
            headers["X-Organization-Id"] = org_id
        if use_byok is not None:
            headers["X-Use-BYOK"] = "true" if use_byok else "false"
        if request_id is not None:
            headers["X-Request-Id"] = request_id
        body = {"model": model, "max_tokens": max_tokens, "messages": messages or conversation()} | dict(settings)
        if not stream:
            return await self.send(session, "POST", "/api/v1/llm/chat/completions", json=body, headers=headers)
        owner, origin = (session.owner, session.origin) if session is not None else ("a stranger", "")
        return await self.http.stream(owner, "/api/v1/llm/chat/completions", json=body | {"stream": True},
                                      headers=self._auth(session) | headers, leave_after=leave_after, origin=origin)

    async def chat_as_sent(self, session: Session, body: Any) -> Answer:
        """A chat request exactly as given: a dict is sent as JSON, a string as raw bytes."""
        if isinstance(body, str):
            return await self.send(session, "POST", "/api/v1/llm/chat/completions", content=body)
        return await self.send(session, "POST", "/api/v1/llm/chat/completions", json=body)
