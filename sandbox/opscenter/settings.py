"""Configuration of the reference Ops-Center, read once from the environment."""

import os
from dataclasses import dataclass

# Credits per 1,000 tokens (contract: "Units and prices").
RATES = {"gpt-3.5-turbo": 90, "gpt-4": 480, "gpt-4-turbo": 240, "claude-3-sonnet": 150}
# Each model's provider: clients may name a model with its provider's prefix, as LiteLLM and OpenRouter do.
PROVIDERS = {"gpt-3.5-turbo": "openai", "gpt-4": "openai", "gpt-4-turbo": "openai", "claude-3-sonnet": "anthropic"}
TIER_CALL_LIMITS = {"trial": 700, "professional": 10_000, "platform": 10_000}
BYOK_PROVIDERS = ("openrouter",)
DEFAULT_TOKEN_BUDGET = 100


@dataclass(frozen=True)
class Settings:
    database_url: str
    redis_url: str
    keycloak_url: str
    realm: str
    client_id: str
    litellm_url: str
    litellm_key: str
    lago_url: str
    lago_key: str
    byok_encryption_key: str
    upgrade_url: str
    stripe_api_base: str
    stripe_secret_key: str
    stripe_webhook_secret: str
    starter_card: str | None  # a sandbox's test card put on file for each new paying account

    @classmethod
    def from_env(cls) -> "Settings":
        env = os.environ
        return cls(
            database_url=env["OPS_DATABASE_URL"],
            redis_url=env["OPS_REDIS_URL"],
            keycloak_url=env["OPS_KEYCLOAK_URL"].rstrip("/"),
            realm=env.get("OPS_KEYCLOAK_REALM", "uchub"),
            client_id=env.get("OPS_KEYCLOAK_CLIENT_ID", "ops-center"),
            litellm_url=env["OPS_LITELLM_URL"].rstrip("/"),
            litellm_key=env["OPS_LITELLM_KEY"],
            lago_url=env["OPS_LAGO_URL"].rstrip("/"),
            lago_key=env["OPS_LAGO_KEY"],
            byok_encryption_key=env["OPS_BYOK_ENCRYPTION_KEY"],
            upgrade_url=env.get("OPS_UPGRADE_URL", "https://ops-center.example/billing/upgrade"),
            stripe_api_base=env.get("OPS_STRIPE_API_BASE", "https://api.stripe.com"),
            stripe_secret_key=env["OPS_STRIPE_SECRET_KEY"],
            stripe_webhook_secret=env["OPS_STRIPE_WEBHOOK_SECRET"],
            starter_card=env.get("OPS_STARTER_CARD") or None,
        )
