"""The subset of Lago's REST API that Ops-Center and the suite use, in memory.

Lago is a hosted billing system that cannot run offline here; this double answers its wire format
(the shapes `lago-python-client` parses) for customers, plans, subscriptions and usage events.
"""

import uuid
from datetime import UTC, datetime

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

PLANS = {
    "trial": {"name": "Trial", "amount_cents": 0},
    "professional": {"name": "Professional", "amount_cents": 4900},
    "platform": {"name": "Platform", "amount_cents": 5000},
}


def now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def create_app(api_key: str) -> FastAPI:
    app = FastAPI(title="Lago API double")
    customers: dict[str, dict] = {}
    subscriptions: dict[str, dict] = {}
    # As Lago's unique index: a transaction id is held once per subscription (two customers' events may
    # share one). Found by transaction id alone, the first received is answered, as Lago's lookup does.
    events: dict[tuple[str, str], dict] = {}

    def error(status: int, code: str) -> JSONResponse:
        return JSONResponse({"status": status, "error": code, "code": code}, status_code=status)

    @app.middleware("http")
    async def authenticate(request: Request, call_next):
        if request.url.path.startswith("/api/v1") and request.headers.get("authorization") != f"Bearer {api_key}":
            return error(401, "Unauthorized")
        return await call_next(request)

    @app.get("/health")
    async def health():
        return {"message": "Success"}

    @app.post("/api/v1/customers")
    async def upsert_customer(request: Request):
        given = (await request.json()).get("customer", {})
        if not given.get("external_id"):
            return error(422, "validation_errors")
        customer = customers.setdefault(given["external_id"], {
            "lago_id": str(uuid.uuid4()), "created_at": now(), "currency": "USD", "applicable_timezone": "UTC",
        })
        customer.update(given, updated_at=now())
        return {"customer": customer}

    @app.get("/api/v1/customers/{external_id}")
    async def find_customer(external_id: str):
        if external_id not in customers:
            return error(404, "customer_not_found")
        return {"customer": customers[external_id]}

    @app.get("/api/v1/plans")
    async def plans():
        return {"plans": [
            {"lago_id": code, "code": code, "name": plan["name"], "amount_cents": plan["amount_cents"],
             "amount_currency": "USD", "interval": "monthly", "created_at": now()}
            for code, plan in PLANS.items()
        ], "meta": {"current_page": 1, "total_pages": 1, "total_count": len(PLANS)}}

    @app.post("/api/v1/subscriptions")
    async def subscribe(request: Request):
        given = (await request.json()).get("subscription", {})
        if given.get("plan_code") not in PLANS:
            return error(422, "plan_not_found")
        if given.get("external_customer_id") not in customers:
            return error(404, "customer_not_found")
        external_id = given.get("external_id") or str(uuid.uuid4())
        subscription = {
            "lago_id": str(uuid.uuid4()),
            "lago_customer_id": customers[given["external_customer_id"]]["lago_id"],
            "external_customer_id": given["external_customer_id"],
            "external_id": external_id,
            "plan_code": given["plan_code"],
            "plan_amount_cents": str(PLANS[given["plan_code"]]["amount_cents"]),
            "plan_amount_currency": "USD",
            "status": "active",
            "billing_time": "calendar",
            "created_at": now(),
            "started_at": now(),
            "subscription_at": now(),
        }
        subscriptions[external_id] = subscription
        return {"subscription": subscription}

    @app.get("/api/v1/subscriptions")
    async def list_subscriptions(external_customer_id: str = ""):
        found = [s for s in subscriptions.values() if s["external_customer_id"] == external_customer_id]
        return {"subscriptions": found, "meta": {"current_page": 1, "total_pages": 1, "total_count": len(found)}}

    @app.delete("/api/v1/subscriptions/{external_id}")
    async def terminate(external_id: str):
        if external_id not in subscriptions:
            return error(404, "subscription_not_found")
        subscriptions[external_id].update(status="terminated", terminated_at=now())
        return {"subscription": subscriptions[external_id]}

    @app.post("/api/v1/events")
    async def usage_event(request: Request):
        given = (await request.json()).get("event", {})
        subscription = subscriptions.get(given.get("external_subscription_id", ""))
        if not given.get("transaction_id") or not given.get("code"):
            return error(422, "validation_errors")
        if subscription is None:
            return error(404, "subscription_not_found")
        key = (subscription["external_id"], given["transaction_id"])
        if key in events:
            # As Lago: a second event with a transaction id already received is refused and nothing is stored.
            return JSONResponse({"status": 422, "error": "Unprocessable Entity", "code": "validation_errors",
                                 "error_details": {"transaction_id": ["value_already_exist"]}}, status_code=422)
        event = {
            "lago_id": str(uuid.uuid4()),
            "transaction_id": given["transaction_id"],
            "lago_customer_id": subscription["lago_customer_id"],
            "lago_subscription_id": subscription["lago_id"],
            "external_subscription_id": subscription["external_id"],
            "code": given["code"],
            "timestamp": str(given.get("timestamp", now())),
            "properties": given.get("properties", {}),
            "created_at": now(),
        }
        events[key] = event
        return {"event": event}

    @app.get("/api/v1/events/{transaction_id}")
    async def find_event(transaction_id: str):
        found = [event for (_subscription, held), event in events.items() if held == transaction_id]
        if not found:
            return error(404, "event_not_found")
        return {"event": found[0]}

    return app
