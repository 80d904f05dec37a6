"""Starts, checks and stops the embedded stack: real PostgreSQL, Redis, Keycloak and LiteLLM on loopback,
the provider and Lago doubles, and the reference Ops-Center.

Everything it starts is recorded (PIDs, ports, generated secrets) in `.sandbox/stack.json`, which the
suite reads; logs go to `.sandbox/logs/<service>.log`.
"""

import contextlib
import fcntl
import hashlib
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

from sandbox import keycloak_dist

ROOT = Path(__file__).resolve().parent.parent
STATE_DIR = Path(os.environ.get("CREDITFLOW_SANDBOX_DIR", ROOT / ".sandbox"))
STATE_FILE = STATE_DIR / "stack.json"
KEPT_RUN_DIR = STATE_DIR / "acceptance-run"  # make acceptance's last whole run, for make test (creditflow/run/kept.py)
LOG_DIR = STATE_DIR / "logs"
PRODUCT_DATA = STATE_DIR / "ops-center-oss-data"  # the real product's /app/data (sandbox/product.py)
CACHE_DIR = keycloak_dist.CACHE_DIR  # the download cache, shared by checkouts
# With the realm's brute-force detection on, Keycloak's default protector refuses a sign-in as if the account were
# locked while another sign-in of the same account is still finishing, even right after it: here up to 3 of 6 accounts
# signing in 40 times each, correctly, were refused. The realm's lockout counts failures either way.
KEYCLOAK_SERIAL_SIGN_INS = "--spi-brute-force-protector--default-brute-force-detector--allow-concurrent-requests=true"
LITELLM_BIN = CACHE_DIR / "litellm-venv" / "bin" / "litellm"
REALM_FILE = ROOT / "sandbox" / "realm" / "uchub-realm.json"
LITELLM_CONFIG = ROOT / "sandbox" / "litellm_config.yaml"
SCHEMA = ROOT / "sandbox" / "opscenter" / "schema.sql"
PG_BIN = Path(os.environ.get("CREDITFLOW_PG_BIN", "/usr/lib/postgresql/15/bin"))
SETUP_HINT = "run `make setup` (it installs what the sandbox needs)"
PROVIDER_KEEP_ALIVE_S = 120
NO_PROXY = ""  # uvicorn's --forwarded-allow-ips naming no proxy: X-Forwarded-For is believed from nobody


class StartError(Exception):
    """A part of the stack could not start: the message names the part, the reason and the remedy."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def as_postgres() -> list[str]:
    # initdb and pg_ctl refuse to run as root.
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


@dataclass
class Stack:
    urls: dict[str, str] = field(default_factory=dict)
    pids: dict[str, int] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    paths: dict[str, str] = field(default_factory=dict)  # folders a part keeps outside STATE_DIR
    product_source: str = ""  # the Ops-Center checkout running beside the reference, if any
    product_revision: str = ""  # its code when it was started (sandbox/product.py, revision)

    def save(self) -> None:
        STATE_DIR.mkdir(parents=True, exist_ok=True)
        STATE_FILE.write_text(json.dumps(self.__dict__, indent=2))
        STATE_FILE.chmod(0o600)

    def suite_settings(self, product: bool = False) -> dict[str, str]:
        """Where the acceptance suite finds each part (keys of creditflow.config.SETTINGS).

        `product`: the real Ops-Center started from a checkout, instead of the reference."""
        if product:
            from sandbox import product as checkout  # its git calls only when the product runs

            return self.suite_settings() | {
                "deployment": "ops-center-oss", "ops_center_url": self.urls["ops_center_oss"],
                "database_url": self.urls["postgres_oss"], "byok_cipher_key": self.secrets["oss_byok_key"],
                "ops_center_build": checkout.build_of(Path(self.product_source)).commit,
            }
        return {
            "ops_center_url": self.urls["ops_center"],
            "keycloak_url": self.urls["keycloak"],
            "keycloak_client_secret": self.secrets["ops_center_client_secret"],
            "keycloak_admin_password": self.secrets["keycloak_admin_password"],
            "database_url": self.urls["postgres"],
            "database_password": self.secrets["unicorn_password"],
            "redis_url": self.urls["redis"],
            "lago_url": self.urls["lago"],
            "lago_api_key": self.secrets["lago_api_key"],
            "provider_url": self.urls["provider"],
            "payments_url": self.urls["payments"],
            "payments_api_key": self.secrets["stripe_secret_key"],
            "payments_webhook_secret": self.secrets["stripe_webhook_secret"],
            "byok_cipher_key": self.secrets["byok_encryption_key"],
        }

    @classmethod
    def load(cls) -> "Stack | None":
        if not STATE_FILE.exists():
            return None
        return cls(**json.loads(STATE_FILE.read_text()))


def spawn(name: str, command: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT) -> int:
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    with open(LOG_DIR / f"{name}.log", "ab") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})}, start_new_session=True, cwd=cwd,
        )
    return process.pid


def wait_until(name: str, check, timeout: float, pid: int | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pid is not None and not alive(pid):
            raise StartError(f"{name} exited during start-up: {cause_in_log(name)}")
        try:
            if check():
                return
        except Exception:  # any failure of a readiness probe means "not ready yet"
            pass
        time.sleep(0.25)
    raise StartError(f"{name} was not ready after {timeout:.0f} s: {cause_in_log(name)}")


# -- why a part did not start -------------------------------------------------------------------
TAKEN_PORT = re.compile(r"(?:bind on address \('[\d.]+', |Port\(s\) already bound: |port |:)(\d{2,5})\b")
LOCKED = re.compile(r"(?:lock|locked|in use).*?(?P<path>/[^\s\"':]+)", re.IGNORECASE)
OTHER_PID = re.compile(r"\bPID (\d+)\b")
ERROR_LINE = re.compile(r"\b(?:ERROR|FATAL|Error|Exception|error:)")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def cause_in_log(name: str) -> str:
    return cause_in_file(LOG_DIR / f"{name}.log")


def cause_in_file(log: Path) -> str:
    """The cause a part's log gives for not starting, in one line, and where to read more."""
    try:
        text = ANSI.sub("", log.read_text(errors="replace")[-20_000:])
    except OSError:
        return f"it wrote no log ({log})"
    return f"{diagnose(text)} (see {log})"


def diagnose(text: str) -> str:
    """One line a newcomer can act on: a port taken, a store locked and who holds it, an old Java; else the
    last error line of the log."""
    lines = text.splitlines()
    for index in range(len(lines) - 1, -1, -1):
        line, hint = lines[index], " ".join(lines[index:index + 2])  # PostgreSQL names the other PID in a HINT
        if re.search(r"address already in use|already bound|EADDRINUSE", line, re.IGNORECASE):
            port = TAKEN_PORT.search(line)
            holder = holder_of_port(int(port.group(1))) if port else None
            where = f"port {port.group(1)}" if port else "its port"
            return f"{where} is taken" + (f" by {holder}" if holder else "")
        if "UnsupportedClassVersionError" in line:
            return "the Java on PATH is too old (Keycloak needs 17 or newer)"
        if "OutOfMemoryError" in line:
            return "it ran out of memory"
        if re.search(r"\block(ed)?\b|already in use", line, re.IGNORECASE):
            other = OTHER_PID.search(hint)
            path = LOCKED.search(line)
            holder = (process_name(int(other.group(1))) if other else
                      holder_of_file(path.group("path")) if path else None)
            return f"a store it needs is locked: {last_words(line)}" + (f"; held by {holder}" if holder else "")
    return last_error_line(text)


def last_error_line(text: str) -> str:
    lines = [line.strip() for line in ANSI.sub("", text).splitlines() if line.strip()]
    errors = [line for line in lines if ERROR_LINE.search(line)]
    return last_words((errors or lines or ["it printed nothing"])[-1])


def last_words(line: str, limit: int = 240) -> str:
    return line if len(line) <= limit else line[: limit - 3] + "..."


def process_name(pid: int) -> str:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return f"process {pid}"
    return f"process {pid} ({last_words(command, 120)})"


def holder_of_port(port: int) -> str | None:
    """The process listening on a loopback TCP port, found through /proc (no lsof on a bare machine)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for row in Path(table).read_text().splitlines()[1:]:
                fields = row.split()
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                    inodes.add(f"socket:[{fields[9]}]")
    return holder_of(lambda target: target in inodes) if inodes else None


def holder_of_file(path: str) -> str | None:
    return holder_of(lambda target: target == path)


def holder_of(matches) -> str | None:
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        with contextlib.suppress(OSError):
            if any(matches(os.readlink(fd)) for fd in fd_dir.iterdir()):
                return process_name(int(fd_dir.parent.name))
    return None


def http_ok(url: str) -> bool:
    return httpx.get(url, timeout=2).status_code == 200


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        status = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return True
    return status != "Z"


# -- the parts ---------------------------------------------------------------------------------
def postgres_home() -> Path:
    """Where this checkout's PostgreSQL cluster lives.

    As root, initdb and the server run as the `postgres` user, who cannot enter a checkout under a
    private folder (root's home, a `mktemp -d` folder). Rather than open the permissions of the user's
    folders, the cluster then lives in a folder of its own under /var/tmp, owned by `postgres` and named
    after this checkout's state folder, so that two checkouts never share one."""
    if os.geteuid() != 0:
        return STATE_DIR / "postgres"
    digest = hashlib.sha256(str(STATE_DIR.resolve()).encode()).hexdigest()[:16]
    return Path("/var/tmp") / f"creditflow-postgres-{digest}"


def start_postgres(stack: Stack) -> None:
    if not (PG_BIN / "initdb").exists():
        raise StartError(f"PostgreSQL: {PG_BIN}/initdb is missing; install postgresql-15 or {SETUP_HINT}")
    home = postgres_home()
    data = home / "data"
    port = free_port()
    password = secrets.token_urlsafe(18)
    shutil.rmtree(home, ignore_errors=True)
    data.mkdir(parents=True)
    pwfile = home / "pgpass.tmp"
    pwfile.write_text(password)
    pwfile.chmod(0o600)
    if os.geteuid() == 0:
        for path in (home, data, pwfile):
            shutil.chown(path, "postgres", "postgres")
    home.chmod(0o700)
    data.chmod(0o700)
    stack.paths["postgres"] = str(home)
    with open(LOG_DIR / "postgres.log", "ab") as log:
        try:
            subprocess.run(
                [*as_postgres(), str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres",
                 "--auth=scram-sha-256", f"--pwfile={pwfile}", "-E", "UTF8", "--no-instructions"],
                check=True, stdout=log, stderr=subprocess.STDOUT,
            )
        except subprocess.CalledProcessError:
            raise StartError(f"PostgreSQL: initdb failed: {cause_in_log('postgres')}") from None
        finally:
            pwfile.unlink()
        # pg_ctl hands the options to a shell: the socket folder is quoted, as a checkout's path may hold spaces.
        options = f"-h 127.0.0.1 -p {port} -k {shlex.quote(str(data))} -c fsync=off -c max_connections=200"
        started = subprocess.run(
            [*as_postgres(), str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(data / "server.log"),
             "-w", "start"], stdout=log, stderr=subprocess.STDOUT,
        )
    if started.returncode != 0:
        raise StartError(f"PostgreSQL: pg_ctl start failed: {cause_in_file(data / 'server.log')}")
    stack.pids["postgres"] = int((data / "postmaster.pid").read_text().split()[0])
    stack.secrets["postgres_password"] = password
    stack.urls["postgres_admin"] = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    stack.urls["postgres"] = f"postgresql://unicorn@127.0.0.1:{port}/unicorn_db"
    stack.urls["keycloak_database"] = f"jdbc:postgresql://127.0.0.1:{port}/keycloak"
    stack.secrets["unicorn_password"] = secrets.token_urlsafe(18)
    stack.secrets["keycloak_database_password"] = secrets.token_urlsafe(18)


def create_database(stack: Stack) -> None:
    import asyncio

    import asyncpg

    async def create() -> None:
        admin = await asyncpg.connect(stack.urls["postgres_admin"], password=stack.secrets["postgres_password"])
        await admin.execute(f"CREATE ROLE unicorn LOGIN PASSWORD '{stack.secrets['unicorn_password']}'")
        await admin.execute("CREATE DATABASE unicorn_db OWNER unicorn")
        # Keycloak keeps its realm, users and sessions where a deployed Keycloak does: in PostgreSQL.
        await admin.execute(f"CREATE ROLE keycloak LOGIN PASSWORD '{stack.secrets['keycloak_database_password']}'")
        await admin.execute("CREATE DATABASE keycloak OWNER keycloak")
        await admin.close()
        owner = await asyncpg.connect(stack.urls["postgres"], password=stack.secrets["unicorn_password"])
        await owner.execute(SCHEMA.read_text())
        await owner.close()

    # A private loop: asyncio.run() would unset the caller's current event loop (behave's steps use it).
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(create())
    finally:
        loop.close()


def start_redis(stack: Stack) -> None:
    binary = shutil.which("redis-server")
    if binary is None:
        raise StartError(f"Redis: redis-server is not on PATH; install redis-server or {SETUP_HINT}")
    port = free_port()
    stack.pids["redis"] = spawn(
        "redis", [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"]
    )
    stack.urls["redis"] = f"redis://127.0.0.1:{port}/0"


def uvicorn(name: str, factory: str, port: int, env: dict[str, str], keep_alive_s: int = 5) -> int:
    # Left alone, uvicorn believes X-Forwarded-For from 127.0.0.1, where every client of the sandbox may connect
    # from: a server believes it only from the proxies OPS_TRUSTED_PROXIES names (none, unless the env names some).
    return spawn(name, [sys.executable, "-m", "uvicorn", "--factory", factory, "--host", "127.0.0.1",
                        "--port", str(port), "--log-level", "warning", "--no-access-log",
                        "--timeout-keep-alive", str(keep_alive_s),
                        "--forwarded-allow-ips", env.get("OPS_TRUSTED_PROXIES", NO_PROXY)], env)


def start_doubles(stack: Stack) -> None:
    provider_port, lago_port, payments_port = free_port(), free_port(), free_port()
    stack.secrets["lago_api_key"] = secrets.token_urlsafe(18)
    # LiteLLM's aiohttp keeps idle connections 15 s: the provider must not close them first, or a call
    # races the close ("Cannot write to closing transport").
    stack.pids["provider"] = uvicorn("provider", "sandbox.serve:provider_double", provider_port, {},
                                     keep_alive_s=PROVIDER_KEEP_ALIVE_S)
    stack.pids["lago"] = uvicorn("lago", "sandbox.serve:lago_double", lago_port,
                                 {"LAGO_API_KEY": stack.secrets["lago_api_key"]})
    stack.urls["provider"] = f"http://127.0.0.1:{provider_port}"
    stack.urls["lago"] = f"http://127.0.0.1:{lago_port}"
    # The payment provider is a kept server, not a double: localstripe (sandbox/payments.py). Its keys are this
    # stack's: any key of Stripe's shape opens it, so the one Ops-Center holds is made here, with the webhook's secret.
    stack.secrets["stripe_secret_key"] = f"sk_test_{secrets.token_urlsafe(18)}"
    stack.secrets["stripe_webhook_secret"] = f"whsec_{secrets.token_urlsafe(24)}"
    stack.pids["payments"] = spawn("payments", [sys.executable, "-m", "sandbox.payments", str(payments_port)])
    stack.urls["payments"] = f"http://127.0.0.1:{payments_port}"


def register_webhook(stack: Stack, name: str, url: str, secret: str) -> None:
    """Tells the payment provider to send its signed events to `url`, as a Stripe account's webhook endpoint does.
    localstripe holds endpoints in memory: they are registered each time the stack or the product starts."""
    reply = httpx.post(f"{stack.urls['payments']}/_config/webhooks/{name}", data={"url": url, "secret": secret},
                       timeout=10)
    if reply.status_code != 200:
        raise StartError(f"payments: localstripe refused the webhook endpoint {name} ({reply.status_code})")


def keycloak_home() -> Path:
    """This checkout's Keycloak: the cached distribution's code and configuration, and a data folder of its own.

    kc.sh finds its home from its own path, so it is copied; the rest is linked, read only."""
    home = STATE_DIR / "keycloak"
    shutil.rmtree(home, ignore_errors=True)
    (home / "bin").mkdir(parents=True)
    shutil.copy(keycloak_dist.HOME / "bin" / "kc.sh", home / "bin" / "kc.sh")
    for part in ("lib", "conf", "providers", "themes"):
        (home / part).symlink_to(keycloak_dist.HOME / part)
    (home / "data" / "import").mkdir(parents=True)
    shutil.copy(REALM_FILE, home / "data" / "import" / REALM_FILE.name)
    return home


def start_keycloak(stack: Stack) -> None:
    if shutil.which("java") is None:
        raise StartError(f"Keycloak: java (17 or newer) is not on PATH; install openjdk-17-jre or {SETUP_HINT}")
    if not keycloak_dist.downloaded():
        raise StartError(f"Keycloak: the distribution is missing from {keycloak_dist.HOME}; {SETUP_HINT}")
    if not keycloak_dist.built():
        raise StartError(f"Keycloak: the distribution in {keycloak_dist.HOME} is not built for PostgreSQL; "
                         f"{SETUP_HINT}")
    home = keycloak_home()
    stack.secrets["keycloak_admin_password"] = secrets.token_urlsafe(18)
    stack.secrets["ops_center_client_secret"] = secrets.token_urlsafe(24)
    port, management = free_port(), free_port()
    stack.pids["keycloak"] = spawn("keycloak", [
        "bash", str(home / "bin" / "kc.sh"), "start", "--optimized", "--import-realm",
        "--http-enabled=true", "--hostname-strict=false",
        "--http-host=127.0.0.1", f"--http-port={port}", f"--http-management-port={management}",
        f"--db-url={stack.urls['keycloak_database']}", "--db-username=keycloak", KEYCLOAK_SERIAL_SIGN_INS,
    ], {
        "KC_DB_PASSWORD": stack.secrets["keycloak_database_password"],
        "OPS_CENTER_CLIENT_SECRET": stack.secrets["ops_center_client_secret"],
        "KC_BOOTSTRAP_ADMIN_USERNAME": "admin",
        "KC_BOOTSTRAP_ADMIN_PASSWORD": stack.secrets["keycloak_admin_password"],
        "JAVA_OPTS_KC_HEAP": "-Xms256m -Xmx768m",
    })
    stack.urls["keycloak"] = f"http://127.0.0.1:{port}"
    stack.urls["keycloak_health"] = f"http://127.0.0.1:{management}/health/ready"


def start_litellm(stack: Stack) -> None:
    if not LITELLM_BIN.exists():
        raise StartError(f"LiteLLM: the proxy is not installed at {LITELLM_BIN}; {SETUP_HINT}")
    port = free_port()
    stack.secrets["litellm_master_key"] = f"sk-{secrets.token_urlsafe(18)}"
    stack.pids["litellm"] = spawn("litellm", [
        str(LITELLM_BIN), "--config", str(LITELLM_CONFIG), "--host", "127.0.0.1", "--port", str(port),
        "--num_workers", "1",
    ], {
        "LITELLM_MASTER_KEY": stack.secrets["litellm_master_key"],
        "PROVIDER_OPENAI_BASE": f"{stack.urls['provider']}/v1",
        "GENERIC_LOGGER_ENDPOINT": f"{stack.urls['provider']}/_double/litellm-reports",
        "DEFAULT_FLUSH_INTERVAL_SECONDS": "1",
        "PROVIDER_OPENROUTER_BASE": f"{stack.urls['provider']}/api/v1",
        "PLATFORM_OPENAI_KEY": "sk-platform-sandbox",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_TELEMETRY_DISABLED": "true",
        "LITELLM_LOG": "ERROR",
        "PYTHONFAULTHANDLER": "1",  # a crash of the interpreter (seen once: a segfault in contextvars) says where
    })
    stack.urls["litellm"] = f"http://127.0.0.1:{port}"


def ops_center_env(stack: Stack) -> dict[str, str]:
    """The reference Ops-Center's environment."""
    database = stack.urls["postgres"].replace("unicorn@", f"unicorn:{stack.secrets['unicorn_password']}@")
    env = {
        "OPS_DATABASE_URL": database,
        "OPS_REDIS_URL": stack.urls["redis"],
        "OPS_KEYCLOAK_URL": stack.urls["keycloak"],
        "OPS_LITELLM_URL": stack.urls["litellm"],
        "OPS_LITELLM_KEY": stack.secrets["litellm_master_key"],
        "OPS_LAGO_URL": stack.urls["lago"],
        "OPS_LAGO_KEY": stack.secrets["lago_api_key"],
        "OPS_BYOK_ENCRYPTION_KEY": stack.secrets["byok_encryption_key"],
        "OPS_TRUSTED_PROXIES": NO_PROXY,  # nothing stands between the sandbox's clients and the reference
        "OPS_STRIPE_API_BASE": stack.urls["payments"],
        "OPS_STRIPE_SECRET_KEY": stack.secrets["stripe_secret_key"],
        "OPS_STRIPE_WEBHOOK_SECRET": stack.secrets["stripe_webhook_secret"],
        # A sandbox's accounts start with Stripe's ordinary test card on file, so that the guide's purchase request
        # pays as it is: a real deployment has its customers enter their cards.
        "OPS_STARTER_CARD": "4242424242424242",
    }
    return env


def start_ops_center(stack: Stack) -> None:
    port = free_port()
    stack.secrets["byok_encryption_key"] = Fernet.generate_key().decode()
    stack.pids["ops-center"] = uvicorn("ops-center", "sandbox.serve:ops_center", port, ops_center_env(stack))
    stack.urls["ops_center"] = f"http://127.0.0.1:{port}"
    register_webhook(stack, "ops-center", f"{stack.urls['ops_center']}/api/v1/payments/stripe/webhook",
                     stack.secrets["stripe_webhook_secret"])


def timed(stack: Stack, name: str, action) -> None:
    started = time.monotonic()
    action()
    stack.timings[name] = round(time.monotonic() - started, 2)


def up() -> Stack:
    """The checkout's stack, started unless it runs; processes asking at once (parallel test workers, the
    shards of a run) wait for the first one's start rather than each starting a stack."""
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    with open(STATE_DIR / "up.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return start_unless_running()


def log_sizes() -> dict[str, int]:
    """Each service log's size: where it stands, so that what a run wrote to it can be read alone."""
    return {str(log): log.stat().st_size for log in LOG_DIR.glob("*.log")}


def start_unless_running() -> Stack:
    running = Stack.load()
    if running is not None and all(alive(pid) for pid in running.pids.values()):
        return running
    if running is not None:
        # A part that stopped under a run fails what follows it: said here, or the restart hides why (each part's
        # log keeps what it wrote before; LiteLLM's has its interpreter's traceback if it crashed).
        stopped = ", ".join(f"{name} (pid {pid})" for name, pid in running.pids.items() if not alive(pid))
        print(f"creditflow: the sandbox's {stopped} had stopped (its log: {LOG_DIR}); the sandbox starts again",
              file=sys.stderr)
        down()
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    stack = Stack()
    began = time.monotonic()
    try:
        timed(stack, "postgres", lambda: (start_postgres(stack), create_database(stack)))
        start_keycloak(stack)
        start_redis(stack)
        start_doubles(stack)
        stack.save()
        wait_until("redis", lambda: redis_ping(stack.urls["redis"]), 10, stack.pids["redis"])
        wait_until("provider", lambda: http_ok(f"{stack.urls['provider']}/health"), 30, stack.pids["provider"])
        wait_until("lago", lambda: http_ok(f"{stack.urls['lago']}/health"), 30, stack.pids["lago"])
        wait_until("payments", lambda: port_open(int(stack.urls["payments"].rsplit(":", 1)[1])), 30,
                   stack.pids["payments"])
        start_litellm(stack)
        stack.save()
        timed(stack, "litellm", lambda: wait_until(
            "litellm", lambda: http_ok(f"{stack.urls['litellm']}/health/liveliness"), 120, stack.pids["litellm"]))
        timed(stack, "keycloak", lambda: wait_until(
            "keycloak", lambda: http_ok(stack.urls["keycloak_health"]), 240, stack.pids["keycloak"]))
        start_ops_center(stack)
        stack.save()
        wait_until("ops-center", lambda: http_ok(f"{stack.urls['ops_center']}/health"), 60, stack.pids["ops-center"])
    except BaseException:
        stack.save()
        down()
        raise
    stack.timings["total"] = round(time.monotonic() - began, 2)
    stack.save()
    return stack


def start_product(source: str, fresh: bool = False) -> Stack:
    """The real Ops-Center from the checkout at `source`, beside the reference on the same stack; `fresh`: started
    again from a new database even where the same code runs, as if just deployed."""
    from sandbox import product

    stack = up()
    source = str(Path(source).resolve())
    parts = [stack.pids[name] for name in ("ops-center-oss", "egress") if name in stack.pids]
    revision = product.revision(Path(source))
    running = stack.product_source == source and stack.product_revision == revision
    if running and not fresh and len(parts) == 2 and all(alive(pid) for pid in parts):
        return stack  # the same code already runs; code changed since it started is started afresh
    for pid in parts:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
    began = time.monotonic()
    try:
        python = product.virtualenv(Path(source), CACHE_DIR, LOG_DIR / "ops-center-oss-install.log")
        admin_url, owner_url = stack.urls["postgres_admin"], stack.urls["postgres"].rsplit("/", 1)[0]
        stack.urls["postgres_oss"] = f"{owner_url}/{product.DATABASE}"
        reported = run_async(product.create_schema(admin_url, stack.secrets["postgres_password"],
                                                   stack.urls["postgres_oss"], stack.secrets["unicorn_password"],
                                                   Path(source)))
        (LOG_DIR / "ops-center-oss-schema.log").write_text(reported)
        egress_port = free_port()
        keycloak_host = product.build_of(Path(source)).keycloak_host
        routes = [f"{keycloak_host}={stack.urls['keycloak']}"] if keycloak_host else []
        routes.append(f"api.stripe.com={stack.urls['payments']}")  # the product's Stripe calls: the payment provider
        stack.pids["egress"] = spawn("egress", [sys.executable, "-m", "sandbox.doubles.egress", str(egress_port),
                                                stack.urls["provider"], str(STATE_DIR / "egress-ca"), *routes])
        wait_until("egress", lambda: (STATE_DIR / "egress-ca" / "ca.pem").exists() and port_open(egress_port), 30,
                   stack.pids["egress"])
        stack.secrets.setdefault("oss_byok_key", Fernet.generate_key().decode())
        stack.secrets.setdefault("oss_session_secret", secrets.token_urlsafe(32))
        stack.secrets.setdefault("oss_platform_key", f"sk-platform-{secrets.token_urlsafe(12)}")
        stack.urls["egress"] = f"http://127.0.0.1:{egress_port}"
        stack.product_source, stack.product_revision = source, revision
        shutil.rmtree(PRODUCT_DATA, ignore_errors=True)  # a new container's files: none
        PRODUCT_DATA.mkdir(parents=True)
        spawn_product(stack, python)
        run_async(product.point_at_provider(stack.urls["postgres_oss"], stack.secrets["unicorn_password"],
                                            stack.urls["provider"], stack.secrets["oss_platform_key"], Path(source)))
    except product.ProductError as error:
        raise StartError(f"Ops-Center from {source}: {error}") from None
    stack.timings["ops_center_oss"] = round(time.monotonic() - began, 2)
    stack.save()
    return stack


def spawn_product(stack: Stack, python: Path, port: int | None = None) -> None:
    """Starts the product's process (its database and the egress double already there) and waits for it."""
    from sandbox import product

    port = port or free_port()
    env = product.environment(
        database_url=stack.urls["postgres_oss"], database_password=stack.secrets["unicorn_password"],
        redis_url=stack.urls["redis"], keycloak_url=stack.urls["keycloak"],
        client_secret=stack.secrets["ops_center_client_secret"],
        keycloak_admin_password=stack.secrets["keycloak_admin_password"], lago_url=stack.urls["lago"],
        lago_key=stack.secrets["lago_api_key"], litellm_url=stack.urls["litellm"],
        byok_key=stack.secrets["oss_byok_key"], session_secret=stack.secrets["oss_session_secret"],
        proxy_url=stack.urls["egress"], ca_file=STATE_DIR / "egress-ca" / "ca.pem",
        stripe_key=stack.secrets["stripe_secret_key"], site_dir=product.stripe_site(STATE_DIR / "ops-center-oss-site"))
    server = [str(python), "-m", "uvicorn", "server:app", "--host", "127.0.0.1", "--port", str(port),
              "--log-level", "warning", "--no-access-log"]
    stack.pids["ops-center-oss"] = spawn("ops-center-oss", product.with_own_data(server, PRODUCT_DATA), env,
                                         cwd=product.backend(Path(stack.product_source)))
    stack.urls["ops_center_oss"] = f"http://127.0.0.1:{port}"
    stack.save()
    ready = f"{stack.urls['ops_center_oss']}{product.build_of(Path(stack.product_source)).ready_path}"
    wait_until("ops-center-oss", lambda: http_ok(ready), 240,
               stack.pids["ops-center-oss"])


def restart_product() -> Stack:
    """The product's process again, on the same port, keeping its database and its sessions (in Redis)."""
    from sandbox import product

    stack = Stack.load()
    if stack is None or not stack.product_source:
        raise StartError("no Ops-Center checkout is running in the sandbox")
    pid = stack.pids["ops-center-oss"]
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    deadline = time.monotonic() + 20
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    python = product.virtualenv(Path(stack.product_source), CACHE_DIR, LOG_DIR / "ops-center-oss-install.log")
    spawn_product(stack, python, port=int(stack.urls["ops_center_oss"].rsplit(":", 1)[1]))
    return stack


def product_connections() -> str:
    """What the product's database connections are doing, in a line: taken while it hangs, before its restart."""
    from sandbox import product

    stack = Stack.load()
    if stack is None or "postgres_admin" not in stack.urls:
        return "unknown (no stack)"

    async def read() -> list:
        import asyncpg

        admin = await asyncpg.connect(stack.urls["postgres_admin"], password=stack.secrets["postgres_password"])
        try:
            return await admin.fetch(
                """SELECT count(*) AS n, state, left(regexp_replace(query, '\\s+', ' ', 'g'), 90) AS query
                   FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()
                   GROUP BY 2, 3 ORDER BY 1 DESC LIMIT 3""", product.DATABASE)
        finally:
            await admin.close()

    rows = run_async(read())
    return "; ".join(f"{row['n']} {row['state']} after '{row['query']}'" for row in rows) or "none open"


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def run_async(coroutine):
    import asyncio

    # A private loop: asyncio.run() would unset the caller's current event loop (behave's steps use it).
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.close()


def versions() -> dict[str, str]:
    """Versions of the embedded parts, for the reports' environment page."""

    def first_line(command: list[str]) -> str:
        try:
            return subprocess.run(command, capture_output=True, text=True, timeout=10).stdout.strip().splitlines()[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            return "unknown"

    litellm = sorted(LITELLM_BIN.parent.parent.glob("lib/python*/site-packages/litellm-*.dist-info"))
    return {
        "keycloak": keycloak_dist.VERSION,
        "postgresql": first_line([str(PG_BIN / "postgres"), "--version"]),
        "redis": first_line(["redis-server", "--version"]),
        "litellm": litellm[-1].name.removeprefix("litellm-").removesuffix(".dist-info") if litellm else "unknown",
        "ops_center_build": first_line(["git", "-C", str(ROOT), "describe", "--always", "--dirty"]),
    }


def redis_ping(url: str) -> bool:
    import redis

    return redis.from_url(url, socket_timeout=1).ping()


def health(stack: Stack) -> dict:
    try:
        return httpx.get(f"{stack.urls['ops_center']}/health", timeout=10).json()
    except (httpx.HTTPError, KeyError) as error:
        return {"ops-center": f"unreachable: {type(error).__name__}"}


def down() -> list[str]:
    stack = Stack.load()
    if stack is None:
        return []
    stopped = []
    postgres = Path(stack.paths.get("postgres", postgres_home()))
    if "postgres" in stack.pids and (postgres / "data" / "postmaster.pid").exists():
        subprocess.run([*as_postgres(), str(PG_BIN / "pg_ctl"), "-D", str(postgres / "data"), "-m", "fast", "-w",
                        "stop"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for name, pid in stack.pids.items():
        if alive(pid):
            try:
                os.killpg(pid, signal.SIGTERM) if name != "postgres" else os.kill(pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                continue
        stopped.append(name)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(alive(pid) for pid in stack.pids.values()):
        time.sleep(0.2)
    for name, pid in stack.pids.items():
        if alive(pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL) if name != "postgres" else os.kill(pid, signal.SIGKILL)
    STATE_FILE.unlink(missing_ok=True)
    if postgres != STATE_DIR / "postgres":
        shutil.rmtree(postgres, ignore_errors=True)
    return stopped
