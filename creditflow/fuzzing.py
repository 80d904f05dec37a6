"""Fuzzing: Schemathesis against the deployment's OpenAPI document, signed in as real personas, reaching past
404 with a real organization's id; then the money check over every account the fuzzing touched.

Each persona is one Schemathesis run (its checks: no server error, documented status codes, response bodies
and content types as documented). Its HAR log is read back: every request it sent, its answer, and the
credits each successful purchase or grant put in. The check: for every account the fuzzing could touch,
what was put in (by the arrangement or by an accepted request) is what is left plus what was charged, so a
refused request that moved money shows. Schemathesis's own errors are kept apart from the server's.
"""

import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from creditflow.deployments.base import OrgRef
from creditflow.money import ORGANIZATION, Conservation
from creditflow.world import World

CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance"
SERVER_ERRORS = ("ServerError",)  # Schemathesis's failure type for a 5xx answer
REQUEST_TIMEOUT_S = 30  # a request unanswered this long is a failure of the server, not a stalled run


@dataclass
class PersonaRun:
    persona: str
    requests: int = 0
    statuses: Counter = field(default_factory=Counter)
    failures: list[dict] = field(default_factory=list)  # the server's: (code, title, operations, count)
    tool_errors: list[str] = field(default_factory=list)  # Schemathesis's own
    operations_tested: int = 0
    succeeded: list[str] = field(default_factory=list)  # operations that accepted a request at least once
    answers: dict[str, Counter] = field(default_factory=dict)  # per operation: how often each status came


@dataclass
class FuzzReport:
    runs: list[PersonaRun]
    money: Conservation | None = None

    @property
    def requests(self) -> int:
        return sum(run.requests for run in self.runs)

    def failures(self, server: bool) -> list[str]:
        found = set()
        for run in self.runs:
            for failure in run.failures:
                if (failure["type"] in SERVER_ERRORS) == server:
                    found |= {f"{failure['title']}: {operation}" for operation in failure["operations"]}
        return sorted(found)

    @property
    def passed(self) -> bool:
        return not self.failures(True) and not self.failures(False) and (self.money is None or self.money.holds)

    def summary(self) -> dict:
        return {
            "requests": self.requests, "server_errors": self.failures(True),
            "schema_violations": self.failures(False),
            "schemathesis_errors": sorted({error for run in self.runs for error in run.tool_errors}),
            "money": self.money.summary() if self.money else None,
            "money_problems": self.money.problems if self.money else [],
            "personas": {run.persona: {"requests": run.requests, "operations_tested": run.operations_tested,
                                       "operations_accepting": run.succeeded,
                                       "answers": {op: dict(sorted(counts.items()))
                                                   for op, counts in sorted(run.answers.items())},
                                       "statuses": dict(sorted(run.statuses.items()))} for run in self.runs},
        }

    def text(self) -> str:
        s = self.summary()
        lines = [f"Fuzzing: {s['requests']} requests; {len(s['server_errors'])} server errors, "
                 f"{len(s['schema_violations'])} schema violations; {s['money']}"]
        for persona, figures in s["personas"].items():
            accepting = len(figures["operations_accepting"])
            lines.append(f"  {persona}: {figures['requests']} requests over {figures['operations_tested']} operations, "
                         f"{accepting} of which accepted some; answers {figures['statuses']}")
        lines += [f"  SERVER ERROR  {failure}" for failure in s["server_errors"]]
        lines += [f"  VIOLATION     {failure}" for failure in s["schema_violations"]]
        lines += [f"  MONEY         {problem}" for problem in s["money_problems"]]
        lines += [f"  (Schemathesis's own error, not the server's: {error})" for error in s["schemathesis_errors"]]
        return "\n".join(lines) + "\n"


async def arrange(world: World) -> dict[str, object]:
    """The personas the fuzzer signs in as, and the organization whose id it is given."""
    org = await world.people.create_org("Alice", "Acme", "platform")
    await world.people.buy("Acme", 10_000)
    await world.people.join("Olivia", "Acme")
    await world.people.allocate("Acme", "Olivia", 2_500)
    await world.people.sign_up("Ivy", "professional", 1_000)
    return {"org": org, "personas": ["Alice", "Olivia", "Ivy"]}


class FuzzError(Exception):
    """The fuzzing could not be done as asked: the message says why, in one line."""


def schemathesis(base_url: str, openapi_url: str, headers: dict[str, str], org_id: str, examples: int,
                 workdir: Path, seed: int | None, operations: str | None) -> tuple[dict, list[dict], str]:
    """One Schemathesis run: its JSON report, its HAR entries and its console."""
    config = workdir / "schemathesis.toml"
    lines = [f"base-url = {json.dumps(base_url)}", f"request-timeout = {REQUEST_TIMEOUT_S}", "[headers]",
             *(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in headers.items()),
             "[parameters]", f"org_id = {json.dumps(org_id)}", "[generation]", f"max-examples = {examples}"]
    config.write_text("\n".join(lines) + "\n")
    config.chmod(0o600)
    # Deleting the organization whose id the fuzzer holds would end everything under it, and its books with
    # it: deletion is the scenarios' to prove.
    command = [str(Path(sys.executable).with_name("schemathesis")), "--config-file", str(config), "run",
               openapi_url, "--checks", CHECKS, "--exclude-method", "DELETE", "--workers", "1",
               "--report", "json,har", "--report-dir", str(workdir / "out")]
    if seed is not None:
        command += ["--seed", str(seed)]
    if operations is not None:
        command += ["--include-path-regex", operations]
    finished = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=3600,
                              env={**os.environ, "NO_COLOR": "1"})
    reports = {path.name.split("-")[0]: path for path in (workdir / "out").glob("*.json")}
    if "json" not in reports:
        said = (finished.stderr.strip() or finished.stdout.strip() or "nothing").splitlines()[-1]
        raise FuzzError(f"Schemathesis wrote no report (exit {finished.returncode}); it said: {said[:300]}")
    har = json.loads(reports["har"].read_text())["log"]["entries"] if "har" in reports else []
    return json.loads(reports["json"].read_text()), har, finished.stdout


def read_run(persona: str, report: dict, har: list[dict], org_id: str) -> PersonaRun:
    run = PersonaRun(persona, requests=len(har), operations_tested=report["operations"]["tested"])
    run.statuses = Counter(str(entry["response"]["status"]) for entry in har)
    run.failures = [{"type": f["type"], "code": f.get("code"), "title": f["title"], "operations": f["operations"],
                     "count": f["count"]} for f in report.get("failures", [])]
    run.tool_errors = [str(error.get("title") or error.get("message") or error)[:300]
                       for error in report.get("errors", [])]
    for entry in har:
        path = urlsplit(entry["request"]["url"]).path.replace(org_id, "{org_id}")
        run.answers.setdefault(f"{entry['request']['method']} {path}", Counter())[entry["response"]["status"]] += 1
    run.succeeded = sorted(op for op, statuses in run.answers.items() if any(200 <= s < 300 for s in statuses))
    return run


def credit_accepted_requests(world: World, har: list[dict]) -> None:
    """Every credit an accepted request put in joins the run's money trail."""
    deployment, money = world.deployment, world.services.money
    for entry in har:
        request, url = entry["request"], urlsplit(entry["request"]["url"])
        try:
            body = json.loads((request.get("postData") or {}).get("text") or "null")
        except ValueError:
            body = None
        put_in = deployment.money_in(request["method"], url.path, dict(parse_qsl(url.query)),
                                     entry["response"]["status"], body)
        if put_in is not None:
            money.credit(put_in.kind, put_in.key, f"{put_in.kind} {put_in.key}", put_in.amount)


async def fuzz(world: World, examples: int, seed: int | None = None, keep: Path | None = None,
               operations: str | None = None) -> FuzzReport:
    """`operations`: a regular expression the fuzzed paths must match (all of them when None)."""
    deployment, config = world.deployment, world.services.config
    if deployment.openapi_path is None:
        raise FuzzError(f"the deployment {deployment.name} publishes no OpenAPI document to fuzz")
    arranged = await arrange(world)
    org = arranged["org"]
    runs = []
    for persona in arranged["personas"]:
        actor = world.actor(persona)
        session = await world.session(actor)
        with tempfile.TemporaryDirectory(prefix="creditflow-fuzz-") as temporary:
            report, har, console = schemathesis(config.ops_center_url, config.ops_center_url + deployment.openapi_path,
                                                deployment.tool_headers(session), org.org_id, examples,
                                                Path(temporary), seed, operations)
        if not (report.get("operations") or {}).get("tested"):
            raise FuzzError("Schemathesis tested no operation" + (f": no path matches --operations {operations!r}"
                                                                   if operations else ""))
        runs.append(read_run(persona, report, har, org.org_id))
        credit_accepted_requests(world, har)
        if keep is not None:
            redacted = world.services.redactor.text(console)
            (keep / f"schemathesis-{persona.lower()}.txt").write_text(redacted)
    for persona in arranged["personas"]:  # organizations the fuzzer created are checked, then removed
        for org_id in await deployment.ledger.orgs_created_by(world.actor(persona).user_id):
            world.services.money.touch(ORGANIZATION, org_id, f"organization {org_id}")
            if org_id != org.org_id:
                world.on_cleanup(f"delete the organization {org_id} the fuzzer created",
                                 lambda org_id=org_id, persona=persona: delete_created(world, persona, org_id))
    money = await world.services.money.check(deployment.ledger)
    return FuzzReport(runs, money)


async def delete_created(world: World, persona: str, org_id: str) -> None:
    session = await world.session(world.actor(persona))
    await world.deployment.remove_org(session, OrgRef(org_id, ""))

