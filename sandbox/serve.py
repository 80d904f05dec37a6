"""App factories for uvicorn: each reads its settings from the environment the sandbox gives it."""

import os

from sandbox.doubles import lago, provider
from sandbox.opscenter import app as opscenter


def provider_double():
    return provider.create_app()


def lago_double():
    return lago.create_app(os.environ["LAGO_API_KEY"])


def ops_center():
    return opscenter.create_app()
