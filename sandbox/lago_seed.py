"""Seeds a real Lago (docker-compose) with what Ops-Center bills against: the usage metric `llm_call`
and the plans trial, professional and platform. Safe to run again: what exists is left alone."""

import os
import sys

import httpx

PLANS = {"trial": ("Trial", 0), "professional": ("Professional", 4900), "platform": ("Platform", 5000)}


def seed(url: str, api_key: str) -> None:
    with httpx.Client(base_url=f"{url.rstrip('/')}/api/v1", headers={"Authorization": f"Bearer {api_key}"},
                      timeout=30) as lago:
        metric = lago.post("/billable_metrics", json={"billable_metric": {
            "name": "LLM call credits", "code": "llm_call", "aggregation_type": "sum_agg", "field_name": "credits",
        }})
        if metric.status_code not in (200, 422):
            metric.raise_for_status()
        metric_id = lago.get("/billable_metrics/llm_call").raise_for_status().json()["billable_metric"]["lago_id"]
        for code, (name, cents) in PLANS.items():
            answer = lago.post("/plans", json={"plan": {
                "name": name, "code": code, "interval": "monthly", "amount_cents": cents, "amount_currency": "USD",
                "pay_in_advance": True,
                "charges": [{"billable_metric_id": metric_id, "charge_model": "standard",
                             "properties": {"amount": "0.001"}}],
            }})
            if answer.status_code not in (200, 422):
                answer.raise_for_status()
            print(f"lago-seed: plan {code}: {'created' if answer.status_code == 200 else 'already there'}")


if __name__ == "__main__":
    try:
        seed(os.environ["LAGO_URL"], os.environ["LAGO_API_KEY"])
    except (KeyError, httpx.HTTPError) as error:
        sys.exit(f"lago-seed: {type(error).__name__}: {error}")
