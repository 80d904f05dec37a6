"""Lago, through lago-python-client: customers, subscriptions and usage events."""

import asyncio
from decimal import Decimal
from functools import cached_property


class Lago:
    def __init__(self, url: str, api_key: str):
        self._url, self._api_key = url.rstrip("/") + "/", api_key

    @cached_property
    def _client(self):
        # Imported at the first question to Lago, not with the suite: lago-python-client takes some 0.3 s of CPU to
        # import, which every behave process paid, and most ask Lago nothing.
        from lago_python_client.client import Client

        return Client(api_key=self._api_key, api_url=self._url)

    async def _call(self, function, *args):
        from lago_python_client.exceptions import LagoApiError

        try:
            return await asyncio.to_thread(function, *args)
        except LagoApiError as error:
            if error.status_code == 404:
                return None
            raise

    async def customer(self, external_id: str):
        return await self._call(self._client.customers.find, external_id)

    async def active_plans(self, external_customer_id: str) -> dict[str, Decimal | None]:
        """The plans the customer is actively subscribed to, each with its price a period in dollars, as billed."""
        found = await self._call(self._client.subscriptions.find_all, {"external_customer_id": external_customer_id})
        return {s.plan_code: None if s.plan_amount_cents is None else Decimal(s.plan_amount_cents) / 100
                for s in (found or {}).get("subscriptions", []) if s.status == "active"}

    async def usage_event(self, transaction_id: str | None):
        if not transaction_id:
            return None
        return await self._call(self._client.events.find, transaction_id)
