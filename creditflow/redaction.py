"""Secrets never reach a report: passwords, tokens, Authorization headers and BYOK keys are masked."""

import re
from typing import Any

SECRET_FIELDS = {"password", "access_token", "refresh_token", "id_token", "api_key", "client_secret",
                 "authorization", "token", "secret", "value"}
JWT = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]*")  # a token without its signature too
PROVIDER_KEY = re.compile(r"\bsk-[\w-]{8,}")


def hint(secret: str) -> str:
    """At most a recognisable hint of a provider key (its prefix and last four characters); nothing of others."""
    if not secret.startswith("sk-") or len(secret) < 16:
        return "***"
    prefix = "sk-or-" if secret.startswith("sk-or-") else "sk-"
    return f"{prefix}...{secret[-4:]}"


class Redactor:
    def __init__(self, known_secrets: list[str] | None = None):
        self._known: set[str] = {s for s in (known_secrets or []) if s}

    def remember(self, *secrets: str) -> None:
        self._known.update(s for s in secrets if s)

    def known(self) -> list[str]:
        return sorted(self._known)

    def text(self, value: str) -> str:
        for secret in sorted(self._known, key=len, reverse=True):
            value = value.replace(secret, hint(secret))
        value = JWT.sub("<token redacted>", value)
        return PROVIDER_KEY.sub(lambda match: hint(match.group(0)), value)

    def data(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {key: ("<redacted>" if key.lower() in SECRET_FIELDS and isinstance(item, str)
                          else self.data(item)) for key, item in value.items()}
        if isinstance(value, list):
            return [self.data(item) for item in value]
        if isinstance(value, str):
            return self.text(value)
        return value
