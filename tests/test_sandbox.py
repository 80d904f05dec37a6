"""The sandbox's own behaviour: the provider double's settings are a scenario's own, a part that cannot start
says why in one line, a part that stopped under a run is named before the sandbox starts again, a checkout boots
as the build it is, the accounts' passwords are stored as Keycloak itself would store them, and the reference
believes no client's claim of another address."""

import dataclasses
import json
import os
import secrets
import signal
import socket
import subprocess

import httpx
import pytest
from keycloak import KeycloakAdmin, KeycloakOpenIDConnection

from creditflow.systems.identity import EMAIL_DOMAIN, KEYCLOAK_DEFAULT_ARGON2, Identity, IdentityError
from sandbox import product
from sandbox import stack as sandbox
from sandbox.doubles.provider import create_app


def asking(scope: str | None) -> dict:
    question = "Summarise the credit flow in one sentence." + (f" [{scope}]" if scope else "")
    return {"model": "gpt-4", "max_tokens": 100, "messages": [{"role": "user", "content": question}]}


async def test_what_a_scenario_sets_in_the_provider_double_applies_to_its_own_calls_only():
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://double") as double:
        await double.post("/_double/fault", json={"scope": "scenario-a-1", "mode": "error"})
        await double.post("/_double/usage", json={"scope": "scenario-b-2", "percent": 40})
        failing = await double.post("/v1/chat/completions", json=asking("scenario-a-1"))
        partial = await double.post("/v1/chat/completions", json=asking("scenario-b-2"))
        unscoped = await double.post("/v1/chat/completions", json=asking(None))
        assert failing.status_code == 500
        assert partial.json()["usage"]["total_tokens"] == 40 and unscoped.json()["usage"]["total_tokens"] == 100
        logged = (await double.get("/_double/requests", params={"scope": "scenario-b-2"})).json()
        assert [entry["scope"] for entry in logged] == ["scenario-b-2"]
        await double.post("/_double/forget", json={"scope": "scenario-a-1"})
        assert (await double.post("/v1/chat/completions", json=asking("scenario-a-1"))).status_code == 200


def test_a_part_whose_port_is_taken_names_the_port_and_the_process_holding_it(tmp_path, monkeypatch):
    monkeypatch.setattr(sandbox, "LOG_DIR", tmp_path)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        pid = sandbox.uvicorn("provider", "sandbox.serve:provider_double", port, {})
        with pytest.raises(sandbox.StartError) as refused:
            sandbox.wait_until("provider", lambda: False, 30, pid)
    message = str(refused.value)
    assert message.startswith(f"provider exited during start-up: port {port} is taken by process ")
    assert "pytest" in message and "\n" not in message and str(tmp_path / "provider.log") in message


def test_a_part_that_fails_for_another_reason_gives_the_last_error_its_log_shows():
    log = "INFO starting\nERROR [org.keycloak.quarkus] Failed to start server in (production) mode\nINFO bye\n"
    assert sandbox.diagnose(log) == "ERROR [org.keycloak.quarkus] Failed to start server in (production) mode"
    locked = 'FATAL:  lock file "postmaster.pid" already exists\nHINT:  Is another postmaster (PID 1) running?\n'
    assert sandbox.diagnose(locked).startswith('a store it needs is locked: FATAL:  lock file "postmaster.pid" '
                                               "already exists; held by process 1 (")


def test_a_part_that_stopped_under_a_run_is_named_before_the_sandbox_starts_again(tmp_path, monkeypatch, capsys):
    dead = subprocess.Popen(["true"])
    dead.wait()
    monkeypatch.setattr(sandbox, "STATE_DIR", tmp_path)
    monkeypatch.setattr(sandbox, "STATE_FILE", tmp_path / "stack.json")
    sandbox.Stack(pids={"redis": os.getpid(), "litellm": dead.pid}).save()
    stopped = []
    monkeypatch.setattr(sandbox, "down", lambda: stopped.append(True) or [])

    def no_new_start(stack):
        raise sandbox.StartError("not started again here")

    monkeypatch.setattr(sandbox, "start_postgres", no_new_start)
    with pytest.raises(sandbox.StartError):
        sandbox.start_unless_running()
    said = capsys.readouterr().err
    assert f"the sandbox's litellm (pid {dead.pid}) had stopped" in said and "redis" not in said
    assert stopped, "the stopped stack's other parts were not stopped before its new start"


def commit(checkout, message: str) -> str:
    subprocess.run(["git", "-C", str(checkout), "-c", "user.name=creditflow", "-c", "user.email=creditflow@example.com",
                    "commit", "-q", "--allow-empty", "-m", message], check=True)
    return subprocess.run(["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_a_checkout_boots_as_the_build_its_history_holds_and_one_of_no_known_build_is_refused(tmp_path, monkeypatch):
    known, other = tmp_path / "known", tmp_path / "other"
    for checkout in (known, other):
        subprocess.run(["git", "init", "-q", str(checkout)], check=True)
    build = dataclasses.replace(product.OPS_CENTER_OSS, commit=commit(known, "a build"))
    monkeypatch.setattr(product, "BUILDS", (build,))
    commit(known, "a fix committed on top of it")
    commit(other, "a build the sandbox does not know")
    assert product.build_of(known) is build
    with pytest.raises(product.ProductError, match="none of the builds the sandbox knows how to boot"):
        product.build_of(other)


def test_a_schema_file_its_operators_ran_is_run_as_psql_runs_it_a_failing_statement_reported_and_passed_over(stack,
                                                                                                            tmp_path):
    table = f"creditflow_probe_{secrets.token_hex(4)}"
    sql = tmp_path / "fix.sql"
    sql.write_text(f"CREATE TABLE {table} (a int);\nUPDATE {table} SET a = no_such_column;\n"
                   f"ALTER TABLE {table} ADD COLUMN b int;\n")
    try:
        reported = product.as_psql_runs(stack.urls["postgres"], stack.secrets["unicorn_password"], sql)
        assert 'column "no_such_column" does not exist' in reported
        columns = subprocess.run(["psql", "-X", "-At", "-d", stack.urls["postgres"], "-c",
                                  f"SELECT string_agg(column_name, ',' ORDER BY column_name) FROM "
                                  f"information_schema.columns WHERE table_name = '{table}'"],
                                 capture_output=True, text=True, env=os.environ | {"PGPASSWORD":
                                                                                   stack.secrets["unicorn_password"]})
        assert columns.stdout.strip() == "a,b", columns.stderr
    finally:
        subprocess.run(["psql", "-X", "-q", "-d", stack.urls["postgres"], "-c", f"DROP TABLE IF EXISTS {table}"],
                       env=os.environ | {"PGPASSWORD": stack.secrets["unicorn_password"]}, capture_output=True)


async def test_accounts_made_before_and_after_the_suite_hashes_their_password_sign_in_with_it_only(config):
    """The first account's password is hashed by Keycloak, the next ones' by the suite (Keycloak's default)."""
    identity = Identity.configured(config)
    names = [f"hashed-{secrets.token_hex(4)}" for _ in range(2)]
    accounts = [await identity.create_account(name, f"{name}{EMAIL_DOMAIN}", "professional") for name in names]
    try:
        for account in accounts:
            token, _ = await identity.sign_in(account.username, account.password)
            assert (await identity.decode(token))["preferred_username"] == account.username
            with pytest.raises(IdentityError):
                await identity.sign_in(account.username, account.password + "x")
    finally:
        for account in accounts:
            await identity.delete_account(account.user_id)


async def test_the_suite_hashes_passwords_with_the_parameters_keycloak_uses_itself(config):
    """Keycloak hashes again, at the first sign-in, a password stored with other parameters than its own: the
    work saved would be back."""
    admin = KeycloakAdmin(connection=KeycloakOpenIDConnection(
        server_url=config.keycloak_url.rstrip("/") + "/", username=config.keycloak_admin_user,
        password=config.keycloak_admin_password, realm_name=config.keycloak_realm, user_realm_name="master",
        client_id="admin-cli"))
    name = f"hashed-by-keycloak-{secrets.token_hex(4)}"
    user_id = await admin.a_create_user({"username": name, "email": f"{name}{EMAIL_DOMAIN}", "enabled": True,
                                         "credentials": [{"type": "password", "value": secrets.token_urlsafe(12)}]})
    try:
        stored = await admin.a_get_credentials(user_id)
        assert [json.loads(credential["credentialData"]) for credential in stored] == [KEYCLOAK_DEFAULT_ARGON2]
    finally:
        await admin.a_delete_user(user_id)


@pytest.mark.parametrize(("trusted_proxies", "answers"), [
    (sandbox.NO_PROXY, [401] * 10 + [429]),  # the connection's address is counted, whatever the header claims
    ("127.0.0.1", [401] * 11),  # a proxy named: each address it forwards for is counted apart
])
def test_the_reference_believes_x_forwarded_for_only_from_a_proxy_its_setting_names(stack, trusted_proxies, answers):
    """uvicorn alone believes X-Forwarded-For from 127.0.0.1, where any client of the sandbox may connect from; the
    reference, started as the sandbox starts it, believes it only from OPS_TRUSTED_PROXIES."""
    port = sandbox.free_port()
    env = sandbox.ops_center_env(stack) | {"OPS_TRUSTED_PROXIES": trusted_proxies}
    pid = sandbox.uvicorn("ops-center-trusting", "sandbox.serve:ops_center", port, env)
    url = f"http://127.0.0.1:{port}"
    try:
        sandbox.wait_until("ops-center-trusting", lambda: sandbox.http_ok(f"{url}/health"), 60, pid)
        with httpx.Client(base_url=url) as client:  # from 127.0.0.1
            seen = [client.get("/api/v1/credits/balance", headers={
                "Authorization": "Bearer not-a-token", "X-Forwarded-For": f"203.0.113.{host}"}).status_code
                    for host in range(1, 12)]
    finally:
        os.killpg(pid, signal.SIGTERM)
        os.waitpid(pid, 0)
    assert seen == answers
