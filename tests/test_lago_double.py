"""The Lago double refuses a resent usage event as Lago does, and the reference treats that answer as
"already billed": the call neither fails nor is billed twice."""

import uuid

import httpx
import pytest

from sandbox.opscenter.service import already_billed

pytestmark = pytest.mark.live


def lago(stack) -> httpx.Client:
    return httpx.Client(base_url=stack.urls["lago"], timeout=10,
                        headers={"Authorization": f"Bearer {stack.secrets['lago_api_key']}"})


def subscribed(client: httpx.Client) -> str:
    customer = f"cust-{uuid.uuid4().hex[:8]}"
    client.post("/api/v1/customers", json={"customer": {"external_id": customer}}).raise_for_status()
    client.post("/api/v1/subscriptions", json={"subscription": {
        "external_customer_id": customer, "plan_code": "professional", "external_id": f"sub_{customer}"}}
    ).raise_for_status()
    return customer


def event(customer: str, transaction_id: str, credits: int) -> dict:
    return {"event": {"transaction_id": transaction_id, "external_subscription_id": f"sub_{customer}",
                      "code": "llm_call", "properties": {"credits": credits}}}


def test_a_resent_event_is_refused_as_lago_refuses_it_and_nothing_is_stored(stack):
    with lago(stack) as client:
        customer, transaction = subscribed(client), f"req_{uuid.uuid4().hex}"
        assert client.post("/api/v1/events", json=event(customer, transaction, 9)).status_code == 200
        again = client.post("/api/v1/events", json=event(customer, transaction, 48))
        assert again.status_code == 422
        assert again.json()["error_details"] == {"transaction_id": ["value_already_exist"]}
        assert already_billed(again)
        stored = client.get(f"/api/v1/events/{transaction}").json()["event"]
        assert stored["properties"] == {"credits": 9}


def test_two_subscriptions_may_each_hold_the_same_transaction_id_as_in_lago(stack):
    with lago(stack) as client:
        ivy, nora, transaction = subscribed(client), subscribed(client), f"chosen-{uuid.uuid4().hex}"
        assert client.post("/api/v1/events", json=event(ivy, transaction, 9)).status_code == 200
        assert client.post("/api/v1/events", json=event(nora, transaction, 48)).status_code == 200
        assert client.post("/api/v1/events", json=event(nora, transaction, 48)).status_code == 422


async def test_the_reference_bills_a_resent_usage_once_and_does_not_fail(stack):
    from sandbox.opscenter.service import OpsCenter
    from sandbox.opscenter.settings import Settings

    with lago(stack) as client:
        customer, transaction = subscribed(client), f"req_{uuid.uuid4().hex}"
    settings = Settings(database_url="", redis_url="", keycloak_url="", realm="", client_id="", litellm_url="",
                        litellm_key="", lago_url=stack.urls["lago"], lago_key=stack.secrets["lago_api_key"],
                        byok_encryption_key="", upgrade_url="", stripe_api_base="", stripe_secret_key="",
                        stripe_webhook_secret="", starter_card=None)
    service = OpsCenter(settings)
    service.http = httpx.AsyncClient()
    try:
        await service.bill_usage(transaction, customer, "gpt-4", 100, 48, "ivy@creditflow.test")
        await service.bill_usage(transaction, customer, "gpt-4", 100, 48, "ivy@creditflow.test")
    finally:
        await service.http.aclose()
    with lago(stack) as client:
        stored = client.get(f"/api/v1/events/{transaction}").json()["event"]
    assert stored["properties"]["credits"] == 48


def test_only_lagos_duplicate_refusal_counts_as_already_billed():
    duplicate = httpx.Response(422, json={"error_details": {"transaction_id": ["value_already_exist"]}})
    other = httpx.Response(422, json={"error_details": {"code": ["value_is_mandatory"]}})
    assert already_billed(duplicate)
    assert not already_billed(other) and not already_billed(httpx.Response(500, text="boom"))
