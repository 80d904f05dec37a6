"""docker-compose.yml is checked without a Docker engine: it parses, every service the suite needs is
there with a health check, and what it publishes matches the suite's defaults for `target=compose`."""

import copy
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from creditflow.config import COMPOSE_DEFAULTS, COMPOSE_ENV_KEYS
from sandbox import stack as sandbox

ROOT = Path(__file__).resolve().parent.parent
# The service that serves each URL the suite reads, and the port inside the container.
SERVES = {"ops_center_url": ("ops-center", 8084), "keycloak_url": ("keycloak", 8080),
          "database_url": ("postgres", 5432), "redis_url": ("redis", 6379), "lago_url": ("lago-api", 3000),
          "provider_url": ("provider", 8090), "payments_url": ("payments", 8420)}
ONE_SHOT = {"lago-migrate", "lago-seed"}
REQUIRED = {"postgres", "redis", "keycloak", "lago-api", "lago-worker", "litellm", "provider", "payments",
            "ops-center"}


def load() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def published(service: dict) -> dict[int, tuple[str, int]]:
    """container port -> (host address, host port)"""
    ports = {}
    for spec in service.get("ports", []):
        parts = str(spec).split(":")
        host, host_port, container_port = parts if len(parts) == 3 else ("", *parts)
        ports[int(container_port)] = (host, int(host_port))
    return ports


def compose_problems(doc: dict) -> list[str]:
    problems = []
    services = doc.get("services", {})
    for name in sorted(REQUIRED - set(services)):
        problems.append(f"service {name} is missing")
    for name, service in services.items():
        if name not in ONE_SHOT and "healthcheck" not in service:
            problems.append(f"service {name} has no health check")
        for container_port, (host, _) in published(service).items():
            if host != "127.0.0.1":
                problems.append(f"service {name} publishes {container_port} beyond 127.0.0.1")
        for dependency, condition in (service.get("depends_on") or {}).items():
            wanted = "service_completed_successfully" if dependency in ONE_SHOT else "service_healthy"
            if condition.get("condition") != wanted:
                problems.append(f"service {name} does not wait for {dependency} to be {wanted}")
    for key, (name, container_port) in SERVES.items():
        url = urlparse(COMPOSE_DEFAULTS[key])
        ports = published(services.get(name, {}))
        if ports.get(container_port) != (url.hostname, url.port):
            problems.append(f"{key} {COMPOSE_DEFAULTS[key]} is not what {name} publishes ({ports})")
    postgres = services.get("postgres", {}).get("environment", {})
    database = urlparse(COMPOSE_DEFAULTS["database_url"])
    if (postgres.get("POSTGRES_USER"), postgres.get("POSTGRES_DB")) != (database.username, database.path[1:]):
        problems.append("the suite's database user or name differs from the postgres service's")
    text = yaml.safe_dump(doc)
    for variable in COMPOSE_ENV_KEYS.values():
        if f"${{{variable}" not in text:
            problems.append(f"the compose file does not take {variable} from .env")
    return problems


def test_the_compose_file_has_every_service_health_check_and_matching_port():
    assert compose_problems(load()) == []


def test_the_compose_file_mounts_the_sandboxs_realm_routing_and_schema():
    services = load()["services"]
    realm = "./sandbox/realm/uchub-realm.json:/opt/keycloak/data/import/uchub-realm.json:ro"
    assert realm in services["keycloak"]["volumes"]
    assert "./sandbox/litellm_config.yaml:/app/config.yaml:ro" in services["litellm"]["volumes"]
    assert any("schema.sql" in volume for volume in services["postgres"]["volumes"])
    assert services["ops-center"]["image"].startswith("${OPS_CENTER_IMAGE:-")
    assert services["postgres"]["image"] == "postgres:16" and services["redis"]["image"] == "redis:7.4"
    assert re.fullmatch(r"quay\.io/keycloak/keycloak:26\.\d+", services["keycloak"]["image"])
    assert sandbox.KEYCLOAK_SERIAL_SIGN_INS in services["keycloak"]["command"]  # the realm's lockout, run alike


def test_no_secret_is_committed_only_an_example_env():
    text = (ROOT / "docker-compose.yml").read_text()
    for name, value in re.findall(r"^\s*(\w*(?:PASSWORD|SECRET|_KEY))\s*:\s*(\S+)", text, re.M):
        # The platform key reaches only the provider double: a placeholder, not a secret.
        assert value.startswith("${") or name == "PLATFORM_OPENAI_KEY", f"literal secret in compose: {name}"
    example = (ROOT / ".env.example").read_text()
    for variable in COMPOSE_ENV_KEYS.values():
        assert re.search(rf"^{variable}=change-me", example, re.M), variable
    assert ".env\n" in (ROOT / ".gitignore").read_text()


@pytest.mark.parametrize(("breakage", "expected"), [
    (lambda doc: doc["services"].pop("redis"), "service redis is missing"),
    (lambda doc: doc["services"]["litellm"].pop("healthcheck"), "service litellm has no health check"),
    (lambda doc: doc["services"]["keycloak"].pop("ports"), "keycloak_url"),
    (lambda doc: doc["services"]["ops-center"].__setitem__("ports", ["8084:8084"]), "beyond 127.0.0.1"),
    (lambda doc: doc["services"]["ops-center"]["depends_on"].__setitem__("keycloak", {}), "wait for keycloak"),
])
def test_the_compose_check_fails_when_a_service_health_check_or_port_is_removed(breakage, expected):
    doc = copy.deepcopy(load())
    breakage(doc)
    assert any(expected in problem for problem in compose_problems(doc)), compose_problems(doc)
