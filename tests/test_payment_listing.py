"""Reading the payment provider's customers and charges again and again: each read gives what was added since the one
before, whether the provider lists the newest first (Stripe) or the oldest first (localstripe)."""

import httpx
import pytest

from creditflow.systems.payment_provider import PaymentProvider


class ListServer:
    """A provider's list as Stripe pages it (limit, starting_after, has_more), in the order it is told."""

    def __init__(self, newest_first: bool):
        self.newest_first = newest_first
        self.made: list[str] = []  # oldest first
        self.pages_asked = 0

    def add(self, count: int) -> list[str]:
        added = [f"cus_{len(self.made) + n:04d}" for n in range(count)]
        self.made += added
        return added

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.pages_asked += 1
        listed = list(reversed(self.made)) if self.newest_first else list(self.made)
        after = request.url.params.get("starting_after")
        if after:
            listed = listed[listed.index(after) + 1:]
        limit = int(request.url.params.get("limit", 10))
        return httpx.Response(200, json={"object": "list", "data": [{"id": made} for made in listed[:limit]],
                                         "has_more": len(listed) > limit})


def provider_of(server: ListServer) -> PaymentProvider:
    provider = PaymentProvider("http://provider.test", "sk_test", "whsec_test")
    provider._http = httpx.AsyncClient(transport=httpx.MockTransport(server.handle), base_url="http://provider.test")
    return provider


def ids(listed: list[dict]) -> set[str]:
    return {each["id"] for each in listed}


@pytest.mark.parametrize("newest_first", [True, False], ids=["newest first, as Stripe", "oldest first, as localstripe"])
async def test_each_read_gives_what_was_added_since_the_last_one(newest_first):
    server = ListServer(newest_first)
    listing = provider_of(server).listing("/customers")
    first = server.add(3)
    assert ids(await listing.gained()) == set(first)
    assert await listing.gained() == []
    one = server.add(1)
    assert ids(await listing.gained()) == set(one)
    many = server.add(250)  # more than a page
    assert ids(await listing.gained()) == set(many)
    assert await listing.gained() == []


@pytest.mark.parametrize("newest_first", [True, False], ids=["newest first, as Stripe", "oldest first, as localstripe"])
async def test_a_read_with_nothing_new_asks_two_small_pages_not_the_whole_list(newest_first):
    server = ListServer(newest_first)
    listing = provider_of(server).listing("/charges")
    server.add(450)
    await listing.gained()
    server.pages_asked = 0
    assert await listing.gained() == []
    assert server.pages_asked == 2


async def test_an_empty_list_read_first_is_read_whole_once_it_has_some():
    server = ListServer(newest_first=True)
    listing = provider_of(server).listing("/customers")
    assert await listing.gained() == []
    added = server.add(2)
    assert ids(await listing.gained()) == set(added)
