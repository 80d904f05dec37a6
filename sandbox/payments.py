"""The payment provider: localstripe (PyPI), a stateful Stripe server made for testing, run as a part of the stack.

    python -m sandbox.payments PORT [--host ADDRESS] [--webhook URL]

`--webhook`: an endpoint to send events to from the start, signed with PAYMENTS_WEBHOOK_SECRET (docker-compose.yml
names Ops-Center's); the sandbox registers its endpoint through localstripe's own /_config/webhooks instead.

Two of localstripe's habits are changed here, and nothing of what it answers:
- it writes all its objects after each change to one pickle at a fixed path, /tmp/localstripe.pickle, which every
  checkout on the machine would share and overwrite, and reads it back when it starts. Here its objects live in memory
  only: the provider starts empty, as the stack's database does, so the two never disagree about which payments exist;
- it waits a fixed second before it delivers each event, which made every purchase of a run take a second. Here it
  waits a tenth of that: the event still comes after the answer to the request that caused it, as Stripe's do.

It listens on loopback unless told otherwise (localstripe alone binds every interface)."""

import argparse
import asyncio
import os
from types import SimpleNamespace

from aiohttp import web
from localstripe import resources, server, webhooks

DELIVERY_PAUSE_SHARE = 0.1


async def shorter_sleep(delay: float, *args, **kwargs):
    await asyncio.sleep(delay * DELIVERY_PAUSE_SHARE, *args, **kwargs)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox.payments")
    parser.add_argument("port", type=int)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--webhook", help="send signed events to this URL (secret: PAYMENTS_WEBHOOK_SECRET)")
    arguments = parser.parse_args()
    resources.Store.dump_to_disk = lambda _store: None
    webhooks.asyncio = SimpleNamespace(sleep=shorter_sleep, ensure_future=asyncio.ensure_future)
    if arguments.webhook:
        webhooks.register_webhook("ops-center", arguments.webhook, os.environ["PAYMENTS_WEBHOOK_SECRET"], None)
    web.run_app(server.app, host=arguments.host, port=arguments.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
