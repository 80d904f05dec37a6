"""make load: the credit flow under load, on Locust, as the suite's personas; then the money is checked.

    python scripts/load.py [--profile step|knee|exhaust] [--workers N]
                           [--mix individual=5,member=3,byok=1,admin=1,signin=1] [--personas 2]
                           [--step-users N] [--step-seconds S] [--steps N] [--user-rate R] [--sign-in-rate R]
                           [--calls-each N] [--remote-workers N] [--master-port P] [--master-bind ADDRESS]
                           [--out reports/load]

The target and deployment are chosen as for the suite (CREDITFLOW_TARGET, CREDITFLOW_DEPLOYMENT,
OPS_CENTER_SOURCE, ...; the embedded stack by default). The personas are arranged through the deployment
layer, Locust runs headless (one process, or one master and --workers worker processes here, plus
--remote-workers on other machines), and after it stops: money conservation over every account the load
touched, the ledger's invariants, and whether the provider served exactly the calls that were charged.
Locust's HTML report and CSV, the samples and the summary (load.txt, load.json) go to --out.
Exit status 1: money not conserved, the ledger broken, a call served unpaid, or an operation that failed
(a server error, no answer); 2: the target could not be started or reached.
"""

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from creditflow.load import cpu  # noqa: E402
from creditflow.load.plan import DEFAULT_MIX, Plan, Profile, arrange, parse_mix  # noqa: E402
from creditflow.load.verdict import judge  # noqa: E402
from creditflow.run.composition import RunCannotStart, configure, open_run  # noqa: E402
from sandbox import stack as sandbox  # noqa: E402
from sandbox.launcher import SandboxLauncher  # noqa: E402

LOCUSTFILE = ROOT / "loadtest" / "locustfile.py"
USER_CLASSES = {"individual": "Individual", "member": "Member", "byok": "Byok", "admin": "Admin", "signin": "SignIn",
                "buyer": "Buyer"}
# step: users grow until the budgets break; knee: users grow until the rate of charged calls stops rising (at most
# 80 users); exhaust: credits for a few calls each, and the users keep calling.
PROFILES = {
    "step": Profile("step", step_users=4, step_seconds=12, steps=8, user_rate=2),
    "knee": Profile("knee", step_users=4, step_seconds=15, steps=20, user_rate=2, until_knee=True),
    "exhaust": Profile("exhaust", step_users=12, step_seconds=20, steps=1, user_rate=2, calls_each=15),
}
STOP_TIMEOUT_S = 35  # a user stopping finishes the call in flight (the contract's slowest answer is 30 s)


def locust_commands(plan: Plan, out: Path, remote_workers: int, port: int, bind: str | None = None) -> list[list[str]]:
    """The master's command (or the single process's), then each local worker's. `bind`: the address the master
    listens on for workers (default: every address when workers on other machines are expected, else loopback)."""
    locust = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--loglevel", "WARNING"]
    classes = [USER_CLASSES[kind] for kind, weight in plan.mix.items() if weight]
    master = [*locust, "--headless", "--only-summary", "--stop-timeout", str(STOP_TIMEOUT_S), "--csv",
              str(out / "locust"), "--csv-full-history", "--html", str(out / "locust.html"), *classes]
    expected = plan.workers + remote_workers
    if not expected:
        return [master]
    bind = bind or ("*" if remote_workers else "127.0.0.1")  # workers on other machines must reach the master
    master[len(locust):len(locust)] = ["--master", "--expect-workers", str(expected), "--master-bind-host", bind,
                                       "--master-bind-port", str(port)]
    worker = [*locust, "--worker", "--master-host", "127.0.0.1", "--master-port", str(port)]
    return [master] + [worker] * plan.workers


def run_locust(commands: list[list[str]], plan_file: Path, console: Path, timeout_s: float) -> int:
    """Runs the master and its workers; none is left running, whatever happens. Only the master reads the plan's
    file: the workers get the plan from it, as workers on other machines do."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    envs = [env | {"CREDITFLOW_LOAD_PLAN": str(plan_file)}] + [env] * (len(commands) - 1)
    with console.open("w") as output:
        processes = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
                                      start_new_session=True) for command, env in zip(commands, envs, strict=True)]
        try:
            return processes[0].wait(timeout=timeout_s)
        finally:
            # A stopped worker waits for the next load of a master that has quit: it is ended here.
            for process in processes:
                for stop in (signal.SIGTERM, signal.SIGKILL):
                    if process.poll() is None:
                        os.killpg(process.pid, stop)
                    try:
                        process.wait(timeout=10)
                        break
                    except subprocess.TimeoutExpired:
                        continue


def main(options: argparse.Namespace) -> int:
    """Starts what the target needs (the embedded stack, the product from OPS_CENTER_SOURCE) before any event loop
    runs: the sandbox's start is synchronous and runs its own loop for the product's schema, which a running loop
    refuses ("Cannot run the event loop while another loop is running")."""
    launcher = SandboxLauncher()
    try:
        config = configure({}, launcher)
    except RunCannotStart as error:
        print(f"load: {error}")
        return 2
    return asyncio.run(load(options, config, launcher))


def stack_parts(config) -> dict[str, list[int]]:
    """The embedded stack's processes by part, for the CPU each uses under load; none for another target, or for an
    Ops-Center that is not one of the stack's (a test's second instance)."""
    stack = sandbox.Stack.load()
    if config.target != "embedded" or stack is None:
        return {}
    servers = {name: pid for name, pid in stack.pids.items() if name in ("ops-center", "ops-center-oss")}
    loaded = next((name for name in servers if stack.urls.get(name.replace("-", "_")) == config.ops_center_url), None)
    if loaded is None:
        return {}
    parts = {"Keycloak": ["keycloak"], "LiteLLM": ["litellm"], "Ops-Center": [loaded],
             "the doubles": ["provider", "lago", "egress"], "PostgreSQL": ["postgres"], "Redis": ["redis"],
             "the other Ops-Center (idle)": [name for name in servers if name != loaded]}
    return {part: [stack.pids[name] for name in names if name in stack.pids] for part, names in parts.items()
            if any(name in stack.pids for name in names)}


async def load(options: argparse.Namespace, config, launcher: SandboxLauncher) -> int:
    profile = Profile(**{**vars(PROFILES[options.profile]), **{
        key: value for key, value in (("step_users", options.step_users), ("step_seconds", options.step_seconds),
                                      ("steps", options.steps), ("user_rate", options.user_rate),
                                      ("calls_each", options.calls_each), ("sign_in_rate", options.sign_in_rate))
        if value is not None}})
    out = Path(options.out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        run = await open_run(config, launcher)
    except RunCannotStart as error:
        print(f"load: {error}")
        return 2
    services, scene = run.services, run.scene()
    workdir = Path(tempfile.mkdtemp(prefix="creditflow-load-"))
    plan = Plan(config.deployment, config.ops_center_url,
                {"url": config.keycloak_url, "realm": config.keycloak_realm, "client_id": config.keycloak_client_id,
                 "client_secret": config.keycloak_client_secret},
                parse_mix(options.mix), profile, options.workers, str(workdir / "samples.json"), scope=scene.scope,
                build=config.ops_center_build or config.ops_center_version)
    plan_file = workdir / "plan.json"
    try:
        await arrange(scene, plan, options.personas)
        plan_file.touch(mode=0o600)  # it holds the personas' passwords
        plan_file.write_text(plan.to_json())
        since = time.time()
        commands = locust_commands(plan, out, options.remote_workers, options.master_port or sandbox.free_port(),
                                   options.master_bind)
        parts = stack_parts(config)
        before = cpu.read(parts) if parts else None
        exit_code = run_locust(commands, plan_file, workdir / "console.txt", profile.seconds + STOP_TIMEOUT_S + 120)
        used = cpu.CpuUse.between(before, cpu.read(parts), time.time() - since, os.cpu_count()) if parts else None
        console = services.redactor.text((workdir / "console.txt").read_text())
        (out / "locust-console.txt").write_text(console)
        samples = Path(plan.samples_path)
        if not samples.exists():
            print(console[-3000:])
            print(f"load: Locust ended (exit {exit_code}) without writing its samples")
            return 1
        (out / "samples.json").write_text(samples.read_text())
        report = await judge(scene, plan, since, samples.read_text())
        report.cpu = used
    finally:
        shutil.rmtree(workdir)  # the plan holds passwords; Locust's console is kept redacted in --out
        cleanup = await scene.clean_up()
        await run.close()
    report.cleanup = cleanup
    text = services.redactor.text(report.text())
    (out / "load.txt").write_text(text)
    (out / "load.json").write_text(services.redactor.text(report.json()))
    print(text, end="")
    return 0 if report.passed else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=PROFILES, default="step")
    parser.add_argument("--workers", type=int, default=0, help="local Locust worker processes (0: one process)")
    parser.add_argument("--remote-workers", type=int, default=0,
                        help="workers on other machines the master also waits for (it then listens on every address)")
    parser.add_argument("--master-port", type=int, help="the master's port for workers (default: a free one)")
    parser.add_argument("--master-bind", help="the address the master listens on for workers (default: every address "
                                              "with --remote-workers, else 127.0.0.1)")
    parser.add_argument("--mix", default=DEFAULT_MIX, help="relative number of Locust users of each kind")
    parser.add_argument("--personas", type=int, default=2, help="personas of each kind (users share them)")
    parser.add_argument("--step-users", type=int)
    parser.add_argument("--step-seconds", type=float)
    parser.add_argument("--steps", type=int)
    parser.add_argument("--user-rate", type=float, help="tasks per second of each user")
    parser.add_argument("--calls-each", type=int, help="credits for this many calls per persona")
    parser.add_argument("--sign-in-rate", type=float, help="sign-ins per second of each signin user (default 0.2)")
    parser.add_argument("--out", default=str(ROOT / "reports" / "load"))
    sys.exit(main(parser.parse_args()))
