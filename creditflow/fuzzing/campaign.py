"""Fuzzing: Schemathesis against the deployment's OpenAPI document, signed in as real personas, reaching past
404 with a real organization's id; then the money check over every account the fuzzing touched.

Each persona is one Schemathesis run (its checks: no server error, documented status codes, response bodies
and content types as documented). Its HAR log is read back: every request it sent, its answer, and the
credits each successful purchase or grant put in. The check: for every account the fuzzing could touch,
what was put in (by the arrangement or by an accepted request) is what is left plus what was charged, so a
refused request that moved money shows. Schemathesis's own errors are kept apart from the server's.
"""

import tempfile
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from creditflow.deployments.base import OrgRef
from creditflow.deployments.hooks import FuzzTarget
from creditflow.rules.money import ORGANIZATION, Conservation
from creditflow.screenplay.scene import Scene
from creditflow.screenplay.tasks.accounts import SignUp
from creditflow.screenplay.tasks.money import Stock
from creditflow.screenplay.tasks.organizations import Allocate, CreateOrganization, Join
from creditflow.systems import schemathesis
from creditflow.systems.schemathesis import FuzzError, ToolRun


@dataclass
class PersonaRun:
    persona: str
    requests: int = 0
    statuses: Counter = field(default_factory=Counter)
    failures: list[schemathesis.Failure] = field(default_factory=list)  # the server's
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
        return sorted({f"{failure.title}: {operation}" for run in self.runs for failure in run.failures
                       if failure.server == server for operation in failure.operations})

    @property
    def tool_errors(self) -> list[str]:
        return sorted({error for run in self.runs for error in run.tool_errors})

    @property
    def passed(self) -> bool:
        return not self.failures(True) and not self.failures(False) and (self.money is None or self.money.holds)

    def summary(self) -> dict:
        return {
            "requests": self.requests, "server_errors": self.failures(True),
            "schema_violations": self.failures(False), "schemathesis_errors": self.tool_errors,
            "money": self.money.summary() if self.money else None,
            "money_problems": self.money.problems if self.money else [],
            "personas": {run.persona: {"requests": run.requests, "operations_tested": run.operations_tested,
                                       "operations_accepting": run.succeeded,
                                       "answers": {op: dict(sorted(counts.items()))
                                                   for op, counts in sorted(run.answers.items())},
                                       "statuses": dict(sorted(run.statuses.items()))} for run in self.runs},
        }

    def text(self) -> str:
        server, violations = self.failures(True), self.failures(False)
        money_problems = self.money.problems if self.money else []
        lines = [f"Fuzzing: {self.requests} requests; {len(server)} server errors, {len(violations)} schema "
                 f"violations; {self.money.summary() if self.money else None}"]
        for run in self.runs:
            lines.append(f"  {run.persona}: {run.requests} requests over {run.operations_tested} operations, "
                         f"{len(run.succeeded)} of which accepted some; answers {dict(sorted(run.statuses.items()))}")
        lines += [f"  SERVER ERROR  {failure}" for failure in server]
        lines += [f"  VIOLATION     {failure}" for failure in violations]
        lines += [f"  MONEY         {problem}" for problem in money_problems]
        lines += [f"  (Schemathesis's own error, not the server's: {error})" for error in self.tool_errors]
        return "\n".join(lines) + "\n"


PERSONAS = ("Alice", "Olivia", "Ivy")  # an organization's admin, a member with an allocation, an outsider


async def arrange(scene: Scene) -> dict[str, object]:
    """The personas the fuzzer signs in as, and the organization whose id it is given."""
    alice, olivia = scene.persona("Alice"), scene.persona("Olivia")
    org = await alice.attempts_to(CreateOrganization(scene.organization("Acme"), "platform"))
    await alice.attempts_to(Stock(org, Decimal(10_000)))
    await olivia.attempts_to(Join(org))
    await alice.attempts_to(Allocate(org, olivia, 2_500))
    await scene.persona("Ivy").attempts_to(SignUp("professional", Decimal(1_000)))
    return {"org": org, "personas": list(PERSONAS)}


def read_run(persona: str, tool: ToolRun, org_id: str) -> PersonaRun:
    run = PersonaRun(persona, requests=len(tool.sent), operations_tested=tool.operations_tested,
                     failures=tool.failures, tool_errors=tool.tool_errors)
    run.statuses = Counter(str(sent.status) for sent in tool.sent)
    for sent in tool.sent:
        operation = f"{sent.method} {sent.path.replace(org_id, '{org_id}')}"
        run.answers.setdefault(operation, Counter())[sent.status] += 1
    run.succeeded = sorted(op for op, statuses in run.answers.items() if any(200 <= s < 300 for s in statuses))
    return run


def credit_accepted_requests(scene: Scene, tool: ToolRun) -> None:
    """Every credit an accepted request put in joins the run's money trail."""
    deployment, money = scene.deployment, scene.services.money
    for sent in tool.sent:
        put_in = deployment.money_in(sent.method, sent.path, sent.query, sent.status, sent.body)
        if put_in is not None:
            money.credit(put_in.kind, put_in.key, f"{put_in.kind} {put_in.key}", put_in.amount)


async def fuzz(scene: Scene, examples: int, seed: int | None = None, keep: Path | None = None,
               operations: str | None = None, personas: list[str] | None = None) -> FuzzReport:
    """`operations`: a regular expression the fuzzed paths must match (all of them when None); `personas`: those of
    PERSONAS the fuzzer signs in as (all of them when None); all are arranged, so each has the others to reach."""
    deployment, config = scene.deployment, scene.services.config
    if not isinstance(deployment, FuzzTarget):
        raise FuzzError(f"the deployment {deployment.name} publishes no OpenAPI document to fuzz")
    arranged = await arrange(scene)
    org = arranged["org"]
    runs = []
    for persona in personas or arranged["personas"]:
        actor = scene.actor(persona)
        session = await actor.current_session()
        with tempfile.TemporaryDirectory(prefix="creditflow-fuzz-") as temporary:
            tool = schemathesis.run(config.ops_center_url, config.ops_center_url + deployment.openapi_path,
                                    deployment.tool_headers(session), org.org_id, examples, Path(temporary), seed,
                                    operations)
        if not tool.operations_tested:
            raise FuzzError("Schemathesis tested no operation" + (f": no path matches --operations {operations!r}"
                                                                   if operations else ""))
        runs.append(read_run(persona, tool, org.org_id))
        credit_accepted_requests(scene, tool)
        if keep is not None:
            redacted = scene.services.redactor.text(tool.console)
            (keep / f"schemathesis-{persona.lower()}.txt").write_text(redacted)
    for persona in arranged["personas"]:  # organizations the fuzzer created are checked, then removed
        for org_id in await deployment.ledger.orgs_created_by(scene.actor(persona).user_id):
            scene.services.money.touch(ORGANIZATION, org_id, f"organization {org_id}")
            if org_id != org.org_id:
                scene.on_cleanup(f"delete the organization {org_id} the fuzzer created",
                                 lambda org_id=org_id, persona=persona: delete_created(scene, persona, org_id))
    money = await scene.services.money.check(deployment)
    return FuzzReport(runs, money)


async def delete_created(scene: Scene, persona: str, org_id: str) -> None:
    session = await scene.actor(persona).current_session()
    await scene.deployment.orgs.remove(session, OrgRef(org_id, ""))

