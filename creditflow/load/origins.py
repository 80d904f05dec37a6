"""Each Locust user calls from an address of its own on this machine, as the suite's scenarios do: a product on
loopback sees every request come from 127.0.0.1 otherwise, and a limit per address (the product's on sign-ins, five
a minute per address and user) would meet every user's traffic at once, so the load would measure the limiter.
All of 127.0.0.0/8 is this machine's; a target elsewhere is called from this machine's address, as before."""

from requests.adapters import HTTPAdapter

from creditflow.deployments.http import is_loopback
from creditflow.deployments.wire import Transport
from creditflow.load.plan import Plan


class BoundAdapter(HTTPAdapter):
    """requests' adapter whose connections leave from `address`."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs, source_address=(self.address, 0))


class FromAddress(Transport):
    """The deployment's requests, sent from `address`."""

    def __init__(self, address: str):
        super().__init__()
        for scheme in list(self._session.adapters):  # requests mounts one adapter per scheme
            self._session.mount(scheme, BoundAdapter(address))


def transport_for(plan: Plan, address: str) -> Transport:
    """From `address` where the target (Ops-Center and Keycloak) is on this machine's loopback."""
    local = is_loopback(plan.ops_center_url) and is_loopback(plan.keycloak["url"])
    return FromAddress(address) if local else Transport()
