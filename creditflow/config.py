"""Where the suite points: one configuration, read from behave userdata, `-D` and environment variables.

Precedence: environment variable > `-D key=value` > `behave.ini` userdata > the target's default.
Targets: `embedded` (the sandbox on loopback, started when not running), `compose` (docker-compose's
published ports, see docker-compose.yml) and `remote` (every URL named by a variable).
"""

import os
import secrets
from dataclasses import dataclass, fields
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ("embedded", "compose", "remote")


class ConfigError(Exception):
    """The configuration cannot name a reachable system under test."""


# Every setting: (userdata key, environment variable, meaning). The README's table is checked against it.
SETTINGS = {
    "target": ("CREDITFLOW_TARGET", "embedded, compose or remote"),
    "deployment": ("CREDITFLOW_DEPLOYMENT", "which Ops-Center API the target speaks (see creditflow/deployments)"),
    "ops_center_url": ("OPS_CENTER_URL", "Ops-Center API base URL"),
    "keycloak_url": ("KEYCLOAK_URL", "Keycloak base URL (no /auth suffix on Keycloak 17+)"),
    "keycloak_realm": ("KEYCLOAK_REALM", "realm of the Ops-Center users"),
    "keycloak_client_id": ("KEYCLOAK_CLIENT_ID", "confidential client with direct-access grants"),
    "keycloak_client_secret": ("KEYCLOAK_CLIENT_SECRET", "that client's secret"),
    "keycloak_admin_user": ("KEYCLOAK_ADMIN_USER", "master-realm admin that provisions test users"),
    "keycloak_admin_password": ("KEYCLOAK_ADMIN_PASSWORD", "that admin's password"),
    "database_url": ("DATABASE_URL", "PostgreSQL URL of unicorn_db (read-only use)"),
    "database_password": ("DATABASE_PASSWORD", "password for database_url, if not in it"),
    "redis_url": ("REDIS_URL", "Redis URL (read-only use)"),
    "lago_url": ("LAGO_URL", "Lago API base URL"),
    "lago_api_key": ("LAGO_API_KEY", "Lago API key"),
    "provider_url": ("PROVIDER_DOUBLE_URL", "LLM provider double (its request log proves BYOK routing)"),
    "payments_url": ("PAYMENTS_URL", "the payment provider's API (Stripe's; the sandbox runs localstripe)"),
    "payments_api_key": ("PAYMENTS_API_KEY", "a secret key of that provider account"),
    "payments_webhook_secret": ("PAYMENTS_WEBHOOK_SECRET", "the secret the provider signs Ops-Center's events with"),
    "byok_key": ("TEST_OPENROUTER_KEY", "OpenRouter key the BYOK persona stores (random when unset)"),
    "byok_cipher_key": ("BYOK_ENCRYPTION_KEY", "the Fernet key Ops-Center encrypts stored BYOK keys with: proves "
                        "a stored key opens with it and with no other (optional)"),
    "report_path": ("CREDITFLOW_REPORT", "text report"),
    "performance_path": ("CREDITFLOW_PERFORMANCE", "performance metrics JSON"),
    "error_log_path": ("CREDITFLOW_ERROR_LOG", "error log, written only when something failed"),
    "results_path": ("CREDITFLOW_RESULTS", "every scenario's verdict as JSON (read by make soak)"),
    "quota_concurrency": ("CREDITFLOW_QUOTA_CONCURRENCY", "parallel calls in the 700-call quota scenario"),
    "ops_center_source": ("OPS_CENTER_SOURCE", "embedded target: run the real Ops-Center from this checkout"),
    "ops_center_version": ("OPS_CENTER_VERSION", "the version a remote deployment's conformance report names"),
    "ops_center_build": ("OPS_CENTER_BUILD", "the build of Ops-Center the ops-center-oss deployment speaks to: the "
                         "commit it is or descends from (the embedded target's: the checkout's)"),
    "conformance_dir": ("CREDITFLOW_CONFORMANCE", "write docs/conformance/<deployment>-<version>.md here"),
    "test_systems": ("CREDITFLOW_TEST_SYSTEMS", "remote target: the hosts (host or host:port, comma-separated) "
                     "where the suite may create users and move credits; Ops-Center's and Keycloak's must be named"),
}

DEFAULTS = {
    "target": "embedded",
    "deployment": "contract",
    "keycloak_realm": "uchub",
    "keycloak_client_id": "ops-center",
    "keycloak_admin_user": "admin",
    "database_password": "",
    "report_path": "/tmp/credit_flow_e2e_report.txt",
    "performance_path": "/tmp/credit_flow_performance.json",
    "error_log_path": "/tmp/credit_flow_errors.log",
    "results_path": "reports/results.json",
    "quota_concurrency": "25",
    "byok_cipher_key": "",
    "provider_url": "",  # optional: only the scenarios that read the provider's request log need it
    # optional: only the scenarios of money in need the payment provider
    "payments_url": "",
    "payments_api_key": "",
    "payments_webhook_secret": "",
    "ops_center_source": "",
    "ops_center_version": "",
    "ops_center_build": "",
    "conformance_dir": "",
    "test_systems": "",
}

# docker-compose.yml publishes these on 127.0.0.1; tests/test_compose.py keeps both in step.
COMPOSE_DEFAULTS = {
    "ops_center_url": "http://127.0.0.1:8084",
    "keycloak_url": "http://127.0.0.1:8080",
    "database_url": "postgresql://unicorn@127.0.0.1:5432/unicorn_db",
    "redis_url": "redis://127.0.0.1:6379/0",
    "lago_url": "http://127.0.0.1:3000",
    "provider_url": "http://127.0.0.1:8090",
    "payments_url": "http://127.0.0.1:8420",
}
# and read these from the compose .env file (see .env.example)
COMPOSE_ENV_KEYS = {
    "keycloak_client_secret": "OPS_CENTER_CLIENT_SECRET",
    "keycloak_admin_password": "KEYCLOAK_ADMIN_PASSWORD",
    "database_password": "POSTGRES_PASSWORD",
    "lago_api_key": "LAGO_API_KEY",
    "byok_cipher_key": "OPS_BYOK_ENCRYPTION_KEY",
    "payments_api_key": "STRIPE_SECRET_KEY",
    "payments_webhook_secret": "STRIPE_WEBHOOK_SECRET",
}


@dataclass(frozen=True)
class Config:
    target: str
    deployment: str
    ops_center_url: str
    keycloak_url: str
    keycloak_realm: str
    keycloak_client_id: str
    keycloak_client_secret: str
    keycloak_admin_user: str
    keycloak_admin_password: str
    database_url: str
    database_password: str
    redis_url: str
    lago_url: str
    lago_api_key: str
    provider_url: str
    payments_url: str
    payments_api_key: str
    payments_webhook_secret: str
    byok_key: str
    byok_cipher_key: str
    report_path: str
    performance_path: str
    error_log_path: str
    results_path: str
    quota_concurrency: int
    ops_center_source: str
    ops_center_version: str
    ops_center_build: str
    conformance_dir: str
    test_systems: str

    def secrets(self) -> list[str]:
        """Every secret the configuration holds, so that reports can be scanned and redacted."""
        return [s for s in (self.keycloak_client_secret, self.keycloak_admin_password, self.database_password,
                            self.lago_api_key, self.byok_key, self.byok_cipher_key, self.payments_api_key,
                            self.payments_webhook_secret) if s]

    def describe(self) -> dict[str, str]:
        return {"target": self.target, "deployment": self.deployment, "ops_center_url": self.ops_center_url,
                "keycloak_url": self.keycloak_url, "database_url": self.database_url, "redis_url": self.redis_url,
                "lago_url": self.lago_url}


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if "=" in line and not line.lstrip().startswith("#"):
                key, value = line.split("=", 1)
                values[key.strip()] = value.strip()
    return values


def resolve(userdata: dict[str, str] | None = None, environ: dict[str, str] | None = None,
            start_embedded=None) -> Config:
    """`start_embedded` returns the embedded sandbox's URLs and secrets (environment.py owns its lifecycle);
    given a checkout (`ops_center_source`), the sandbox runs the real Ops-Center from it instead."""
    userdata = dict(userdata or {})
    environ = os.environ if environ is None else environ

    def given(key: str) -> str | None:
        return environ.get(SETTINGS[key][0]) or userdata.get(key)

    target = given("target") or DEFAULTS["target"]
    if target not in TARGETS:
        raise ConfigError(f"unknown target {target!r}: choose one of {', '.join(TARGETS)}")
    values = dict(DEFAULTS, target=target)
    if target == "compose":
        env_file = read_env_file(ROOT / ".env") or read_env_file(ROOT / ".env.example")
        values |= COMPOSE_DEFAULTS | {key: env_file.get(name, "") for key, name in COMPOSE_ENV_KEYS.items()}
    if target == "embedded":
        if start_embedded is None:
            raise ConfigError("target embedded needs the sandbox; choose target remote to name every URL")
        source = given("ops_center_source")
        values |= start_embedded(source) if source else start_embedded()
    # What is named explicitly wins: e.g. the sandbox's parts with another Ops-Center build.
    values |= {key: given(key) for key in SETTINGS if given(key)}
    values.setdefault("byok_key", f"sk-or-v1-{secrets.token_hex(24)}")
    missing = [f"{key} ({SETTINGS[key][0]})" for key in SETTINGS if key not in values and key != "byok_key"]
    if missing:
        raise ConfigError(f"target {target} needs: {', '.join(missing)}")
    values["quota_concurrency"] = int(values["quota_concurrency"])
    if target == "remote":
        refuse_unnamed_systems(values)
    return Config(**{f.name: values[f.name] for f in fields(Config)})


def refuse_unnamed_systems(values: dict[str, str]) -> None:
    """A remote target gets users created and credits moved: only where it is named as a test system."""
    named = {host.strip().lower() for host in values["test_systems"].split(",") if host.strip()}
    for key in ("ops_center_url", "keycloak_url"):
        url = urlsplit(values[key])
        host = (url.hostname or "").lower()
        if host not in named and url.netloc.lower().rpartition("@")[2] not in named:
            raise ConfigError(
                f"target remote: the suite creates users and moves credits at {host or values[key]!r} "
                f"({SETTINGS[key][0]}), which is not named as a test system; name it, if it is one, with "
                f"CREDITFLOW_TEST_SYSTEMS={host or values[key]}")
