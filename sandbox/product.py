"""The real Ops-Center (Ops-Center-OSS) run from a developer's checkout, in place of the reference.

    python -m sandbox up --ops-center-source PATH      (or OPS_CENTER_SOURCE=PATH)

A checkout is booted as the build it is (BUILDS, by commit): Ops-Center-OSS at af179f13cf24 or at its tag v2.5.0
(another line of its history), or saashqdev/ops-center at 283233d, an earlier build of the same product with its own
requirements and SQL files; the two earlier builds' sign-ins reach Keycloak by a name their code builds.

What it takes to boot the product here (../shared/notes/ops-center-oss-live.md has the measurements):
its own virtualenv; the schema its credit flow needs, in a database of its own; an environment that
points it at the embedded PostgreSQL, Redis, Keycloak and Lago double; its provider row pointing at
the provider double; and, for BYOK calls, which go to a hard-coded https://openrouter.ai, an HTTPS
proxy on loopback that only this process is told about (see doubles/egress.py). Nothing of the
product is copied here: it runs from the checkout, and its own SQL files build its tables.
"""

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

DATABASE = "ops_center_oss"
# The product keeps files (its organizations, users, a key) under a container path written into its code
# (org_manager.py:153 in both builds). In a container that folder is the container's own; here it is the stack's.
CONTAINER_DATA = "/app/data"


@dataclass(frozen=True)
class Build:
    """What one build of the product needs from the sandbox beyond its checkout."""

    name: str
    commit: str  # the build's commit; a checkout whose history holds it is booted as this build
    requirements_tag: str | None  # the tag whose backend/requirements.txt is installed; None: the checkout's own
    left_out: tuple[str, ...]  # packages of that file not installed
    unlisted: tuple[str, ...]  # packages its code imports that the file does not list
    schema_files: tuple[str, ...]  # its own SQL files for its credit flow, from backend/migrations, in order
    missing_tables: str  # tables its code uses that no SQL file of the checkout creates, from the columns it uses
    # SQL files of backend/migrations its own notes say its operators ran on its deployment, after the others: run as
    # `psql -f` runs a file, each statement on its own, one that fails reported and passed over
    operator_files: tuple[str, ...]
    provider_row: str  # its system provider pointing at the provider double: $1 the platform's key, $2 the URL
    keycloak_host: str | None  # a public name its code builds for Keycloak, answered by the egress double
    ready_path: str  # a route that answers 200 without a sign-in once the product has started
    how_it_runs: tuple[str, ...]  # all the sandbox gives it beyond its checkout, for the report's reader


# `users` stays empty: a row there changes how balances are provisioned.
USERS_TABLE = """
CREATE TABLE IF NOT EXISTS users (
    id UUID PRIMARY KEY DEFAULT uuid_generate_v4(), email VARCHAR(255) UNIQUE, name VARCHAR(255),
    username VARCHAR(255), zitadel_id VARCHAR(255), avatar_url TEXT, subscription_tier VARCHAR(50),
    created_at TIMESTAMPTZ DEFAULT now(), updated_at TIMESTAMPTZ DEFAULT now());
"""
PROVIDER_KEYS_TABLE = """
CREATE TABLE IF NOT EXISTS user_provider_keys (
    id UUID PRIMARY KEY DEFAULT uuid_generate_v4(), user_id VARCHAR(255) NOT NULL, provider VARCHAR(100) NOT NULL,
    api_key_encrypted TEXT NOT NULL, enabled BOOLEAN DEFAULT true, metadata JSONB DEFAULT '{}'::jsonb,
    created_at TIMESTAMPTZ DEFAULT now(), updated_at TIMESTAMPTZ DEFAULT now(), UNIQUE (user_id, provider));
"""
# The provider double as a build's `openrouter` provider row whose `api_base_url` its platform calls go to.
API_BASE_ROW = """
    INSERT INTO llm_providers (name, type, api_key_encrypted, api_base_url, enabled, priority)
    VALUES ('creditflow provider double', 'openrouter', $1, $2, true, 1000)"""
# The SQL files of the credit flow, the same bytes in every build, in the order they apply cleanly (the notes, §1.3).
CREDIT_FLOW_SCHEMA = ("001_organization_tables.sql", "create_credit_system_tables.sql", "create_org_billing.sql",
                      "add_subscription_tiers.sql", "add_llm_markup_percentage.sql")
PROVIDER_TYPE_NOTE = ("(a row of another type is treated as local and free). *As deployed:* an operator adds the "
                      "provider rows.")
DATA_FOLDER_NOTE = (
    f"Its files under `{CONTAINER_DATA}` (a container path in its code, org_manager.py:153) are a folder of the "
    "stack's own, empty at each start, bound there in a private mount namespace (as root; otherwise the machine's "
    "folder is used as it is). *As deployed:* the container's own folder.")
EGRESS_NOTE = (
    "BYOK calls go to a hard-coded https://openrouter.ai: the product alone reaches it, through an HTTPS proxy on "
    "loopback that answers as the provider double does (its CA is given in `SSL_CERT_FILE`). *As deployed:* "
    "OpenRouter itself.")
STRIPE_NOTE = (
    "Its Stripe calls (https://api.stripe.com, stripe 10.0.0) go through the same proxy to the sandbox's payment "
    "provider, localstripe, with the stack's secret key in `STRIPE_SECRET_KEY`; stripe checks that host against its "
    "own certificate bundle, not `SSL_CERT_FILE`, so a `sitecustomize.py` on the product's `PYTHONPATH`, in the "
    "stack's folder, sets `stripe.ca_bundle_path` to the proxy's CA. *As deployed:* Stripe itself, with the bundle "
    "stripe ships.")
# Loaded by the product's interpreter at start (it is on the product's PYTHONPATH alone): see STRIPE_NOTE.
STRIPE_SITE = '''"""Written by creditflow's sandbox for the product's process alone: stripe checks api.stripe.com
against its own certificate bundle; the sandbox's egress proxy answers for that host with the CA in SSL_CERT_FILE."""
import os

try:
    import stripe
except ImportError:
    pass
else:
    stripe.ca_bundle_path = os.environ["SSL_CERT_FILE"]
'''
ENVIRONMENT_NOTE = (
    "Environment as docker-compose.direct.yml gives it: realm `uchub`, `OAUTH_CLIENT_ID=ops-center`, a master-realm "
    "administrator for plan lookups; `CSRF_ENABLED=false` (sign-in by API), `TIER_ENFORCEMENT_ENABLED=true`, "
    "`BILLING_ENABLED=true`, Lago pointed at the Lago double. *As deployed:* the same settings, but CSRF protection "
    "on (`CSRF_ENABLED` defaults to true, server.py:{csrf_default_line}, and docker-compose.direct.yml does not set "
    "it), which the sandbox turns off to sign in by API.")
REALM_NOTE = (
    "The realm `uchub` is the sandbox's (sandbox/realm/uchub-realm.json), with the contract's brute-force detection "
    "on: an account locked after 5 failed sign-ins. *As deployed:* the product ships no realm, so its operator's "
    "realm decides (Keycloak leaves the detection off in a new realm); the Rules of an account's lockout are not "
    "applicable to the product, so no verdict rests on the sandbox's setting.")

OPS_CENTER_OSS = Build(
    name="Ops-Center-OSS af179f13cf24",
    commit="af179f13cf24de2f407955d8b76a5f5fe9f65a94",
    # The checkout has no backend/requirements.txt although its Dockerfile installs one; the file of the product's
    # own tag v2.5.0 works, without the optional memory packages and with two packages the code imports.
    requirements_tag="v2.5.0",
    left_out=("kuzu", "mem0ai"),
    unlisted=("aiohttp==3.9.3", "cachetools==5.3.2"),
    schema_files=CREDIT_FLOW_SCHEMA,
    missing_tables=USERS_TABLE + PROVIDER_KEYS_TABLE,
    operator_files=(),
    # A platform call goes to the row's `api_base_url` (litellm_api.py:1147).
    provider_row=API_BASE_ROW,
    keycloak_host=None,  # its sign-in asks KEYCLOAK_EXTERNAL_URL (server.py:5869-5873)
    ready_path="/api/v1/system/status",  # public by design (auth_middleware.py:44)
    how_it_runs=(
        "The backend runs from the checkout (`uvicorn server:app`) in its own virtualenv: the requirements of tag "
        "v2.5.0 (the checkout has none), without kuzu and mem0ai, with aiohttp==3.9.3 and cachetools==5.3.2, which "
        "its code imports. *As deployed:* its Dockerfile copies the `backend/requirements.txt` the checkout lacks "
        "(Dockerfile:39), so its image cannot be built from this commit as it stands.",
        f"Its database `{DATABASE}` in the sandbox's PostgreSQL, made by the product's own SQL files, in this order: "
        + ", ".join(f"`{name}`" for name in CREDIT_FLOW_SCHEMA) + ". The product creates the rest itself at "
        "start-up. *As deployed:* the same files.",
        "Two tables its code uses and no SQL file of the checkout creates, made from the columns the code reads: "
        "`users` (kept empty) and `user_provider_keys`. *As deployed:* no file of the product creates them either; "
        "a database that lacks them fails the code that reads them.",
        DATA_FOLDER_NOTE,
        "One provider row: `llm_providers` of type `openrouter` pointing at the LLM provider double, with the "
        "platform's key " + PROVIDER_TYPE_NOTE,
        "LiteLLM is not in the path of a call: the product sends a platform call to its provider row's "
        "`api_base_url` (litellm_api.py:1111-1146) and uses `LITELLM_PROXY_URL` only for health and model lists. "
        "*As deployed:* the same: the path is the code's.",
        EGRESS_NOTE,
        STRIPE_NOTE,
        ENVIRONMENT_NOTE.format(csrf_default_line=347),
        REALM_NOTE,
    ),
)

# saashqdev/ops-center at 283233d (2026-02-15), an earlier build of the same product. Its own requirements file
# installs here as it is: it lists aiohttp and cachetools, which v2.5.0's file lacked, and no optional memory package;
# its migrations include the SQL file that creates `user_provider_keys` (001_create_llm_tables.sql:75-86), which
# Ops-Center-OSS lacks.
SAASHQ_OPS_CENTER = Build(
    name="saashqdev/ops-center 283233d38107",
    commit="283233d38107989c31524de98aea6407880b11b0",
    requirements_tag=None,
    left_out=(),
    unlisted=(),
    schema_files=("001_create_llm_tables.sql", *CREDIT_FLOW_SCHEMA),
    missing_tables=USERS_TABLE,  # user_provider_keys comes from its own 001_create_llm_tables.sql
    # "Migration Status: SUCCESSFULLY EXECUTED" (docs/internal/CRITICAL_FIXES_APPLIED.md:44-65)
    operator_files=("003_fix_schema_mismatches.sql",),
    # A platform call goes to the `openrouter` row's `config.base_url`, https://openrouter.ai/api/v1 when unset; the
    # row's `api_base_url` is not read (litellm_api.py:999-1021).
    provider_row="""
        INSERT INTO llm_providers (name, type, api_key_encrypted, api_base_url, config, enabled, priority)
        VALUES ('creditflow provider double', 'openrouter', $1, $2, jsonb_build_object('base_url', $2::text), true,
                1000)""",
    # Its sign-in posts the password grant and asks userinfo at https://auth.<EXTERNAL_HOST> whatever KEYCLOAK_URL
    # says (server.py:5423-5446); EXTERNAL_HOST is localhost here (environment below).
    keycloak_host="auth.localhost",
    # Its system status asks for a sign-in (server.py:2266-2267); its health report does not (health_check_api.py:180).
    ready_path="/api/v1/health",
    how_it_runs=(
        "The backend runs from the checkout (`uvicorn server:app`) in its own virtualenv, from the checkout's own "
        "`backend/requirements.txt`, as it is. *As deployed:* the same file (Dockerfile:48-49).",
        f"Its database `{DATABASE}` in the sandbox's PostgreSQL, made by the product's own SQL files, in this order: "
        + ", ".join(f"`{name}`" for name in ("001_create_llm_tables.sql", *CREDIT_FLOW_SCHEMA)) + ". The product "
        "creates the rest itself at start-up. *As deployed:* the same files (backend/migrations/README.md lists "
        "001_create_llm_tables.sql as applied).",
        "One table its code uses (database/connection.py:43, subscription_manager_v2.py:51-60) and no SQL file of "
        "the checkout creates, made as for Ops-Center-OSS so that both builds meet the same database: `users` (kept "
        "empty). *As deployed:* no file of the product creates it either; a database that lacks it fails the code "
        "that reads it.",
        DATA_FOLDER_NOTE,
        "One provider row: `llm_providers` of type `openrouter` pointing at the LLM provider double in its "
        "`config.base_url`, the field this build reads (litellm_api.py:999-1021), with the platform's key (a platform "
        "call looks up no row of another type, litellm_api.py:1000-1005). *As deployed:* an operator adds the "
        "provider rows.",
        "LiteLLM is not in the path of a call: the product sends a platform call to its `openrouter` provider row's "
        "`config.base_url` (litellm_api.py:997-1021) and uses `LITELLM_PROXY_URL` only for a health check "
        "(litellm_api.py:3728). "
        "*As deployed:* the same: the path is the code's.",
        EGRESS_NOTE,
        STRIPE_NOTE,
        "Its sign-in reaches Keycloak at https://auth.localhost, a name its code builds from `EXTERNAL_HOST` "
        "(server.py:5423-5446, no setting names another): the same HTTPS proxy answers for that name with the "
        "sandbox's Keycloak. *As deployed:* https://auth.<its domain>, which its proxy routes to Keycloak; a "
        "deployment whose Keycloak is elsewhere cannot sign anyone in by this route.",
        ENVIRONMENT_NOTE.format(csrf_default_line=322),
        REALM_NOTE,
        "After its own SQL files, `migrations/003_fix_schema_mismatches.sql`, which its notes record as run on its "
        "deployment (docs/internal/CRITICAL_FIXES_APPLIED.md:44-65), run as `psql -f` runs it: it adds "
        "`credit_transactions.balance_after` (:12-13) and three of the columns `usage_events` lacks (:25-26, :53-55), "
        "and its UPDATE of a column `llm_usage_logs` lacks here (:43) fails and is passed over (psql's output: "
        "`.sandbox/logs/ops-center-oss-schema.log`). *As deployed:* the same file; its deployment's `llm_usage_logs` "
        "had the column (CRITICAL_FIXES_APPLIED.md:67-73).",
        "Not applied: its Alembic baseline, which its deployment script runs (scripts/deploy.sh:133-134) and which "
        "builds the organization tables in the layout its organization code reads; `create_org_billing.sql` cannot "
        "then reference `organizations(id)` as a UUID, and either way its organizations are not written to "
        "PostgreSQL (org_api.py:437-447), so its organization scenarios cannot be arranged. *As deployed:* which of "
        "the two layouts its operators keep is not found in the checkout.",
    ),
)
# Ops-Center-OSS at its tag v2.5.0 (2d65da407a3d, 2026-02-18), on a branch of its own: neither af179f13cf24 nor
# 283233d is in its history. Its own backend/requirements.txt (the file A installs by tag), without the optional
# memory packages (imports guarded: colonel/memory/kuzu_client.py:31-33, mem0_client.py:44, :79); nothing it imports
# at start-up is missing (aiohttp only under model_adapters/, imported by model_server_manager.py:17, which nothing
# imports; no cachetools import). The same five SQL files as A (byte-identical); no file of the tag creates `users`
# or the `user_provider_keys` its code uses (byok_manager.py:133-136; sql/litellm_schema.sql:95-114 has another
# layout: encrypted_api_key, is_active).
OSS_V2_5_0 = Build(
    name="Ops-Center-OSS v2.5.0 2d65da407a3d",
    commit="2d65da407a3d188d5a92afd3ab27cda6df1445de",
    requirements_tag=None,
    left_out=("kuzu", "mem0ai"),
    unlisted=(),
    schema_files=CREDIT_FLOW_SCHEMA,
    missing_tables=USERS_TABLE + PROVIDER_KEYS_TABLE,
    operator_files=(),
    # A platform call goes to the row's `api_base_url`, else `config.base_url` (litellm_api.py:997-1030).
    provider_row=API_BASE_ROW,
    # Its sign-in posts the password grant and asks userinfo at https://auth.<EXTERNAL_HOST> (server.py:5361-5384).
    keycloak_host="auth.localhost",
    # Public: Depends(get_current_user_optional) (server.py:2306-2307, :2254-2259); no auth middleware in the tag.
    ready_path="/api/v1/system/status",
    how_it_runs=(
        "The backend runs from the checkout (`uvicorn server:app`) in its own virtualenv, from the checkout's own "
        "`backend/requirements.txt` without kuzu and mem0ai (optional: colonel/memory/kuzu_client.py:31-33, "
        "mem0_client.py:44, :79). *As deployed:* the whole file (Dockerfile:39-40).",
        f"Its database `{DATABASE}` in the sandbox's PostgreSQL, made by the product's own SQL files, in this order: "
        + ", ".join(f"`{name}`" for name in CREDIT_FLOW_SCHEMA) + ". The product creates the rest itself at "
        "start-up. *As deployed:* the same files.",
        "Two tables its code uses and no SQL file of the checkout creates, made from the columns the code reads: "
        "`users` (kept empty) and `user_provider_keys` (byok_manager.py:133-136; sql/litellm_schema.sql:95 has "
        "another layout). *As deployed:* a database that lacks them fails the code that reads them.",
        DATA_FOLDER_NOTE,
        "One provider row: `llm_providers` of type `openrouter` pointing at the LLM provider double in "
        "`api_base_url` (litellm_api.py:1030), with the platform's key " + PROVIDER_TYPE_NOTE,
        EGRESS_NOTE,
        STRIPE_NOTE,
        "Its sign-in reaches Keycloak at https://auth.localhost, a name its code builds from `EXTERNAL_HOST` "
        "(server.py:5361): the same HTTPS proxy answers for that name with the sandbox's Keycloak. *As deployed:* "
        "https://auth.<its domain>.",
        ENVIRONMENT_NOTE.format(csrf_default_line=310),
        REALM_NOTE,
    ),
)
BUILDS = (OPS_CENTER_OSS, SAASHQ_OPS_CENTER, OSS_V2_5_0)


class ProductError(Exception):
    """The checkout cannot be booted: the message says what is missing and how to supply it."""


def build_of(source: Path) -> Build:
    """The build a checkout is: the one whose commit its HEAD is or descends from, so that a fix committed on top of
    a build boots as that build does; a checkout of no known build is refused, never booted as a guess."""
    for build in BUILDS:
        held = subprocess.run(["git", "-C", str(source), "merge-base", "--is-ancestor", build.commit, "HEAD"],
                              capture_output=True)
        if held.returncode == 0:
            return build
    known = ", ".join(f"{build.name} ({build.commit})" for build in BUILDS)
    raise ProductError(f"{source} is none of the builds the sandbox knows how to boot ({known}) and descends from "
                       "none of them; declare its build in sandbox/product.py (BUILDS)")


def backend(source: Path) -> Path:
    path = Path(source).resolve() / "backend"
    if not (path / "server.py").exists():
        raise ProductError(f"{source} is not an Ops-Center checkout: {path / 'server.py'} is missing")
    return path


def requirements(source: Path) -> str:
    """The backend's requirements, as its build declares them: its own file, or the one of a tag from the checkout's
    history; without the packages its build leaves out, with the ones it adds."""
    build = build_of(source)
    own = backend(source) / "requirements.txt"
    if build.requirements_tag is None:
        if not own.exists():
            raise ProductError(f"{own} is missing, and {build.name} installs the checkout's own file")
        text = own.read_text()
    else:
        found = subprocess.run(["git", "-C", str(source), "show",
                                f"{build.requirements_tag}:backend/requirements.txt"], capture_output=True, text=True)
        if found.returncode != 0:
            raise ProductError(f"the checkout's history has no tag {build.requirements_tag} to take "
                               f"backend/requirements.txt from; put a requirements.txt in {own.parent}")
        text = found.stdout
    kept = [line for line in text.splitlines() if not line.strip().lower().startswith(build.left_out)]
    return "\n".join([*kept, *build.unlisted]) + "\n"


def virtualenv(source: Path, cache: Path, log: Path) -> Path:
    """The product's own virtualenv, built once per set of requirements; returns its python."""
    wanted = requirements(source)
    home = cache / f"ops-center-oss-venv-{hashlib.sha256(wanted.encode()).hexdigest()[:12]}"
    python = home / "bin" / "python"
    if (home / ".complete").exists():
        return python
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(home)], check=True)
    (home / "requirements.txt").write_text(wanted)
    with open(log, "ab") as out:
        built = subprocess.run([str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q",
                                "-r", str(home / "requirements.txt")], stdout=out, stderr=subprocess.STDOUT)
    if built.returncode != 0:
        raise ProductError(f"the product's packages did not install; see {log}")
    (home / ".complete").touch()
    return python


BACKEND_CODE = (":(glob)backend/**/*.py", ":(glob)backend/**/*.sql")  # git pathspecs of the code the sandbox runs
async def create_schema(admin_url: str, admin_password: str, owner_url: str, owner_password: str,
                        source: Path) -> str:
    """The product's database, made by its own SQL files; returns what psql reported of its operators' files."""
    import asyncpg

    admin = await asyncpg.connect(admin_url, password=admin_password)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        await admin.execute(f"CREATE DATABASE {DATABASE} OWNER unicorn")
    finally:
        await admin.close()
    admin = await asyncpg.connect(admin_url.rsplit("/", 1)[0] + f"/{DATABASE}", password=admin_password)
    try:
        await admin.execute('CREATE EXTENSION IF NOT EXISTS "uuid-ossp"; CREATE EXTENSION IF NOT EXISTS pgcrypto;')
    finally:
        await admin.close()
    owner = await asyncpg.connect(owner_url, password=owner_password)
    try:
        build = build_of(source)
        for name in build.schema_files:
            await owner.execute((backend(source) / "migrations" / name).read_text())
        await owner.execute(build.missing_tables)
    finally:
        await owner.close()
    return "".join(as_psql_runs(owner_url, owner_password, backend(source) / "migrations" / name)
                   for name in build.operator_files)


def as_psql_runs(database_url: str, password: str, sql_file: Path) -> str:
    """`sql_file` run as `psql -f` runs it (each statement on its own, a failing one reported and passed over); what
    psql reported."""
    ran = subprocess.run(["psql", "-X", "-q", "-d", database_url, "-f", str(sql_file)], capture_output=True, text=True,
                         env=os.environ | {"PGPASSWORD": password})
    return f"{sql_file.name}: exit {ran.returncode}\n{ran.stderr}"


def environment(*, database_url: str, database_password: str, redis_url: str, keycloak_url: str,
                client_secret: str, keycloak_admin_password: str, lago_url: str, lago_key: str, litellm_url: str,
                byok_key: str, session_secret: str, proxy_url: str, ca_file: Path, stripe_key: str,
                site_dir: Path) -> dict[str, str]:
    """The product's environment (notes §1.7): its parts on loopback, CSRF off for direct sign-in, billing on.

    Keycloak as the product's own docker-compose.direct.yml gives it: the realm and `OAUTH_CLIENT_ID` for
    sign-in, and an administrator of the master realm for its plan lookups (keycloak_integration.py:17-51 asks
    the master realm with `KEYCLOAK_CLIENT_ID`, `admin-cli` when unset, so that variable is left unset)."""
    host_port = database_url.split("@", 1)[1].split("/", 1)[0]
    host, port = host_port.split(":")
    redis_host_port = redis_url.split("//", 1)[1].split("/", 1)[0]
    return {
        "POSTGRES_HOST": host, "POSTGRES_PORT": port, "POSTGRES_USER": "unicorn",
        "POSTGRES_PASSWORD": database_password, "POSTGRES_DB": DATABASE,
        "DATABASE_URL": database_url.replace("unicorn@", f"unicorn:{database_password}@"),
        "REDIS_HOST": redis_host_port.split(":")[0], "REDIS_PORT": redis_host_port.split(":")[1],
        "REDIS_URL": redis_url,
        "KEYCLOAK_URL": keycloak_url, "KEYCLOAK_EXTERNAL_URL": keycloak_url, "KEYCLOAK_REALM": "uchub",
        "OAUTH_CLIENT_ID": "ops-center", "OPS_CENTER_OAUTH_CLIENT_SECRET": client_secret,
        "KEYCLOAK_ADMIN_USER": "admin", "KEYCLOAK_ADMIN_PASSWORD": keycloak_admin_password,
        "CSRF_ENABLED": "false", "TIER_ENFORCEMENT_ENABLED": "true", "BILLING_ENABLED": "true",
        "BYOK_ENCRYPTION_KEY": byok_key, "ENCRYPTION_KEY": byok_key,
        "SESSION_SECRET_KEY": session_secret, "JWT_SECRET_KEY": session_secret,
        "EXTERNAL_HOST": "localhost", "EXTERNAL_PROTOCOL": "http", "PRICING_REFRESH_ENABLED": "false",
        "LAGO_API_URL": lago_url, "LAGO_API_KEY": lago_key, "LITELLM_PROXY_URL": litellm_url,
        # BYOK calls go to https://openrouter.ai: this process alone reaches it through the egress double.
        "HTTPS_PROXY": proxy_url, "https_proxy": proxy_url, "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost", "SSL_CERT_FILE": str(ca_file),
        "STRIPE_SECRET_KEY": stripe_key, "PYTHONPATH": str(site_dir),
        "PYTHONUNBUFFERED": "1",
    }


def stripe_site(site_dir: Path) -> Path:
    """The folder of the `sitecustomize.py` that lets stripe trust the egress proxy (STRIPE_NOTE)."""
    site_dir.mkdir(parents=True, exist_ok=True)
    (site_dir / "sitecustomize.py").write_text(STRIPE_SITE)
    return site_dir


async def point_at_provider(owner_url: str, owner_password: str, provider_url: str, platform_key: str,
                            source: Path) -> None:
    """The product's system provider: the provider double, typed `openrouter` so that calls are billed."""
    import asyncpg

    owner = await asyncpg.connect(owner_url, password=owner_password)
    try:
        await owner.execute("DELETE FROM llm_providers WHERE name = 'creditflow provider double'")
        await owner.execute(build_of(source).provider_row, platform_key, f"{provider_url.rstrip('/')}/v1")
    finally:
        await owner.close()


def with_own_data(command: list[str], data_dir: Path) -> list[str]:
    """`command` with its own `/app/data`: the stack's folder bound there in a private mount namespace (as root,
    where `unshare` is), so that neither another checkout's product nor an earlier run's files are seen."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return command
    bind = f'mkdir -p {CONTAINER_DATA} && mount --bind "$0" {CONTAINER_DATA} && exec "$@"'
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", bind, str(data_dir), *command]


def how_it_runs(source: Path) -> list[str]:
    """What the sandbox gives the product beyond its checkout, for the conformance report's reader."""
    return list(build_of(source).how_it_runs)


def revision(source: Path) -> str:
    """The checkout's backend code as it is on disk: its commit and any change to it, hashed."""
    found = subprocess.run(["git", "-C", str(source), "rev-parse", "HEAD"], capture_output=True, text=True)
    changed = subprocess.run(["git", "-C", str(source), "diff", "HEAD", "--", *BACKEND_CODE], capture_output=True,
                             text=True)
    return hashlib.sha256((found.stdout + changed.stdout).encode()).hexdigest()[:16]


def version(source: Path) -> str:
    """The checkout's commit; "-modified" when its backend's code differs from that commit, so that a report on a
    changed copy never takes the name of the commit's own report."""
    found = subprocess.run(["git", "-C", str(source), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                           text=True)
    changed = subprocess.run(["git", "-C", str(source), "diff", "--name-only", "HEAD", "--", *BACKEND_CODE],
                             capture_output=True, text=True)
    commit = found.stdout.strip() or "unknown"
    return f"{commit}-modified" if changed.stdout.strip() else commit
