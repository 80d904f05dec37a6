"""Self-tests of the acceptance suite: it passes on the reference, fails with the business fact on a broken
one, runs scenarios alone and in any order, and its reports are complete, readable and leak no secret."""

import configparser
import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest
from behave.model import ScenarioOutline
from behave.parser import parse_file

from creditflow.reporting.allure_report import generate, report_name, run_of
from creditflow.run.kept import KeptRun
from creditflow.run.leftovers import PID_MARK
from creditflow.systems.identity import RUN_MARK, MarkedAccount
from sandbox import stack as sandbox
from tests.judged_runs import BUDGETS_RUN_FACTS, FULL_RUN_FACTS, kept_here, suite_environment
from tests.user_reports import isolated_reports

pytestmark = pytest.mark.live
ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
BLANK_PAGE_BYTES = 20_000  # a screenshot of the report no larger than this shows a page not yet drawn
BYOK_KEY = "sk-or-v1-" + os.urandom(20).hex()
RENDERED_BREAKAGE = "byok_charged"  # the broken reference whose HTML report is rendered in Chromium
# Breakages whose verdict class is held too: a limit a client lifts is an invariant broken, not the contract's wording
# and money in that no payment paid for is money created.
FILED_AS = dict.fromkeys(("trusts_forwarded_for", "declined_purchase_credited", "unsigned_events_believed",
                          "each_delivery_credited", "charged_to_a_phantom_too", "signature_unchecked"),
                         "Failed: money or security")
# The Allure categories of a claim the product broke (allure-categories.json), as against the run's own limits.
FAILED_CLAIMS = {"Failed: money or security", "Failed: error", "Failed: differs from the guide",
                 "Failed: differs from creditflow's contract"}


def suite(*command: str, env: dict[str, str] | None = None, timeout: int = 900) -> subprocess.CompletedProcess:
    """A run of the suite (`command` after the interpreter) against the reference, unless `env` names another
    Ops-Center (a checkout set for the live product test does not leak into these runs)."""
    env = {**suite_environment(), "TEST_OPENROUTER_KEY": BYOK_KEY, **(env or {})}
    return subprocess.run([sys.executable, *command], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env=env)


def behave(*args: str, env: dict[str, str] | None = None, timeout: int = 900) -> subprocess.CompletedProcess:
    return suite("-m", "behave", "--no-color", *args, env=env, timeout=timeout)


def allure_results(tmp: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in (tmp / "allure-results").glob("*-result.json")]


def shows(fact: str | re.Pattern, text: str) -> bool:
    """A fact is a sentence, or a pattern where a number depends on how simultaneous calls interleave."""
    return bool(fact.search(text)) if isinstance(fact, re.Pattern) else fact in text


def summary(output: str) -> dict[str, int]:
    match = re.search(r"(\d+) scenarios? passed, (\d+) failed, (\d+) skipped(?:, (\d+) undefined)?", output)
    assert match, output[-2000:]
    passed, failed, skipped, undefined = (int(group or 0) for group in match.groups())
    return {"passed": passed, "failed": failed, "skipped": skipped, "undefined": undefined}


def feature_files(measured_alone: bool) -> list[Path]:
    """The features that measure the guide's latency budgets (@performance), or all the others."""
    return [path for path in sorted((ROOT / "features").glob("*.feature"))
            if ("performance" in parse_file(str(path)).tags) == measured_alone]


@pytest.fixture(scope="session")
def full_run(stack, tmp_path_factory, worker_id):
    """A run of every scenario, as make acceptance runs them (features shared among parallel behave processes),
    judged once for all the workers: the first whose test needs it makes it, under a lock, and the others read what
    it wrote. It is make acceptance's own run when that run is of this checkout as it is, on this stack
    (creditflow/run/kept.py): the suite is not run twice for the same answer. Else it is run here, every scenario
    but the latency budgets' (measured apart, by budgets_run), each process taking its features in reverse order,
    so that scenarios pass whatever runs before or beside them."""
    shared = tmp_path_factory.getbasetemp()
    if worker_id != "master":  # each worker's folder is in the one of the whole session
        shared = shared.parent
    with (shared / "full-run.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        made = shared / FULL_RUN_FACTS  # beside the run's folder, whose every file is searched for secrets
        if not made.exists():
            (shared / "full-run").mkdir()
            kept = kept_here(stack)
            made.write_text(json.dumps(judged_as_kept(kept, stack, shared / "full-run") if kept is not None
                                       else make_full_run(stack, shared / "full-run")))
    found = json.loads(made.read_text())
    return {**found, "run": subprocess.CompletedProcess([], **found["run"]), "tmp": Path(found["tmp"]),
            "html": Path(found["html"]), "secrets": set(found["secrets"]),
            "features": [Path(path) for path in found["features"]],
            "logs_before": {Path(log): size for log, size in found["logs_before"].items()}}


def kept_process(kept: KeptRun) -> subprocess.CompletedProcess:
    """The kept run as the tests read a run made here: its exit status and its output."""
    return subprocess.CompletedProcess([], kept.returncode, kept.stdout, kept.stderr)


def make_full_run(stack, tmp: Path) -> dict:
    secrets_file = tmp / "secrets.txt"
    logs_before = sandbox.log_sizes()
    features = feature_files(measured_alone=False)
    run = suite("scripts/acceptance.py", "--reverse", "-f", "progress", *map(str, features),
                env={"CREDITFLOW_SECRETS_FILE": str(secrets_file), **isolated_reports(tmp)})
    return judged(stack, tmp, run, secrets_file.read_text().splitlines(), BYOK_KEY, logs_before, features,
                  "a run made here, each process taking its features in reverse order")


def judged_as_kept(kept: KeptRun, stack, tmp: Path) -> dict:
    """make acceptance's run, its reports copied where a run made here writes its own."""
    shutil.copytree(kept.reports, tmp, dirs_exist_ok=True)
    return judged(stack, tmp, kept_process(kept), kept.secrets, kept.byok_key, kept.logs_before, kept.features,
                  f"make acceptance's run of this checkout, ended at {kept.finished}, not run again")


def judged(stack, tmp: Path, run: subprocess.CompletedProcess, secrets: list[str], byok_key: str,
           logs_before: dict[str, int], features: list[Path], how: str) -> dict:
    """What the full run's tests read of a run whose reports are in `tmp`, its HTML report rendered there too."""
    html = allure_html(tmp / "allure-results", tmp / "allure-report")
    known = set(secrets) | set(stack.secrets.values()) | {byok_key}
    return {"run": {"returncode": run.returncode, "stdout": run.stdout, "stderr": run.stderr}, "tmp": str(tmp),
            "html": str(html), "secrets": sorted(s for s in known if len(s) >= 6), "byok_key": byok_key,
            "logs_before": logs_before, "features": list(map(str, features)), "judged": how}


@pytest.fixture(scope="module")
def budgets_run(stack, tmp_path_factory):
    """The features that measure the guide's latency budgets, as make acceptance runs them after its other features
    (alone, then the reports of the run), with the stack to themselves: make test's exclusive phase. Measured here
    unless make acceptance's kept run measured them so (creditflow/run/kept.py), on this stack and checkout."""
    measured = feature_files(measured_alone=True)
    kept = kept_here(stack)
    if kept is not None and set(measured) <= set(kept.features):
        how = f"make acceptance's run of this checkout, ended at {kept.finished}, not measured again"
        found = {"run": kept_process(kept), "tmp": kept.reports}
    else:
        how, tmp = "measured here", tmp_path_factory.mktemp("budgets-run")
        found = {"run": suite("scripts/acceptance.py", "-f", "plain", *map(str, measured), env=isolated_reports(tmp)),
                 "tmp": tmp}
    (tmp_path_factory.getbasetemp() / BUDGETS_RUN_FACTS).write_text(json.dumps({"judged": how}))
    return found


def allure_html(results: Path, output: Path) -> Path:
    """`make report`'s generator: the single-file Allure 3 report of some results."""
    generated = generate(results, output)
    assert generated.returncode == 0, generated.stdout[-2000:] + generated.stderr[-2000:]
    return output / "index.html"


def rendered_dom(page: Path, profile: Path, fragment: str = "", screenshot: Path | None = None,
                 ready: str = 'data-testid="nav-tab-') -> str:
    """What headless Debian Chromium shows of a page opened from disk, once the report app has rendered.

    A cold or busy Chromium (first profile, font cache, a loaded machine) can dump or shoot the page before the
    app has drawn it: both are repeated, at most three times and each time with a longer budget, until `ready`
    (by default the report's navigation) is in the page and the screenshot shows more than a blank page."""
    chromium = shutil.which("chromium")
    assert chromium, "Debian chromium is installed by scripts/setup.sh"
    url = page.as_uri() + fragment
    for budget_ms in (8_000, 16_000, 32_000):
        flags = [*CHROMIUM_FLAGS, f"--virtual-time-budget={budget_ms}", f"--user-data-dir={profile}"]
        if screenshot is not None:
            subprocess.run([chromium, *flags, "--window-size=1400,1000", f"--screenshot={screenshot}", url],
                           capture_output=True, timeout=120, check=True)
        dom = subprocess.run([chromium, *flags, "--dump-dom", url], capture_output=True, text=True, timeout=120,
                             check=True).stdout
        if ready in dom and (screenshot is None or screenshot.stat().st_size > BLANK_PAGE_BYTES):
            break
    return dom


def scenario_count(paths: list[Path] | None = None) -> int:
    return sum(len(rule.walk_scenarios()) for path in paths or (ROOT / "features").glob("*.feature")
               for rule in parse_file(str(path)).iter_rules())


def all_passed(run: subprocess.CompletedProcess, features: list[Path]) -> None:
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert summary(run.stdout) == {"passed": scenario_count(features), "failed": 0, "skipped": 0, "undefined": 0}
    assert re.search(r"\d+ steps passed, 0 failed, 0 skipped", run.stdout)


def test_every_scenario_passes_with_nothing_skipped_or_undefined(full_run):
    all_passed(full_run["run"], full_run["features"])


def test_every_latency_budget_scenario_passes_with_nothing_skipped_or_undefined(budgets_run):
    run, measured = budgets_run["run"], feature_files(measured_alone=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    names = {parse_file(str(path)).name for path in measured}
    verdicts = [scenario["status"] for scenario in json.loads((budgets_run["tmp"] / "results.json").read_text())[
        "scenarios"] if scenario["feature"] in names]
    assert verdicts == ["passed"] * scenario_count(measured), verdicts


def test_the_700_call_scenario_shows_its_progress(full_run):
    assert "Tess's calls: 700/700" in full_run["run"].stderr


def test_text_report_and_no_error_log_after_a_green_run(full_run):
    report = (full_run["tmp"] / "report.txt").read_text()
    for flow in ("Individual Flow", "Org Flow", "BYOK Flow", "Edge Cases", "Integration Checklist",
                 "Tenant Isolation"):
        assert f"✓ {flow}: PASSED" in report
    assert "manual" not in report.lower() and "FAILED" not in report
    assert re.search(r"✓ Money conservation holds over \d{2,} accounts: [\d,]+ credits put in = [\d,]+ left \+ "
                     r"[\d,]+ charged", report)
    assert not (full_run["tmp"] / "errors.log").exists()


def test_latencies_measured_side_by_side_are_listed_under_load_and_judged_against_no_budget(full_run):
    operations = json.loads((full_run["tmp"] / "performance.json").read_text())["operations"]
    under_load = {name: measured for name, measured in operations.items() if name.endswith(" under load")}
    assert {"authentication under load", "credit deduction under load"} <= under_load.keys(), operations.keys()
    assert all(measured["within_budget"] is None for measured in under_load.values()), under_load
    budgets_measured = set(full_run["features"]) & set(feature_files(measured_alone=True))
    assert budgets_measured or under_load == operations, operations  # only the budgets' feature measures alone


def test_each_latency_budget_is_measured_and_held_with_the_stack_to_itself(budgets_run):
    assert "✓ Performance: PASSED" in (budgets_run["tmp"] / "report.txt").read_text()
    operations = json.loads((budgets_run["tmp"] / "performance.json").read_text())["operations"]
    for operation in ("authentication", "credit deduction", "usage tracking", "organization queries"):
        measured = operations[operation]
        assert measured["count"] >= 30 and measured["within_budget"] is True
        assert measured["p50_ms"] <= measured["p95_ms"] <= measured["max_ms"] < 10_000
    assert not (budgets_run["tmp"] / "errors.log").exists()


def test_no_report_attachment_log_or_console_line_leaks_a_secret(full_run):
    secrets = full_run["secrets"]
    assert full_run["byok_key"] in secrets
    assert any(s.startswith("eyJ") for s in secrets) and any(s.startswith("Cf-") for s in secrets)
    files = {p: 0 for p in full_run["tmp"].rglob("*") if p.is_file() and p.name != "secrets.txt"}
    # The services' own logs (Ops-Center, LiteLLM, Keycloak...), from where each stood when the run began: what
    # the run wrote. Earlier lines cannot hold this run's secrets, and a stack's logs grow to tens of megabytes.
    files |= {log: full_run["logs_before"].get(log, 0) for log in sandbox.LOG_DIR.glob("*.log")}
    assert len(files) > 50
    leaks = []
    for path, offset in files.items():
        with path.open("rb") as file:
            file.seek(offset)
            text = file.read().decode(errors="replace")
        leaks += [f"{path}: {secret[:4]}..." for secret in secrets if secret in text]
    console = full_run["run"].stdout + full_run["run"].stderr
    leaks += [f"console: {secret[:4]}..." for secret in secrets if secret in console]
    assert leaks == []


def test_http_evidence_is_attached_with_secrets_redacted(full_run):
    attachments = list((full_run["tmp"] / "allure-results").glob("*-attachment.txt"))
    http_logs = [p.read_text() for p in attachments if "-> " in p.read_text()]
    assert http_logs, "no HTTP exchanges were attached"
    byok = "\n".join(log for log in http_logs if "byok-keys" in log)
    assert f"sk-or-...{full_run['byok_key'][-4:]}" in byok or "<redacted>" in byok


def test_allure_results_carry_epic_story_severity_and_environment(full_run):
    results = allure_results(full_run["tmp"])
    assert len(results) == scenario_count(full_run["features"])
    for result in results:
        labels = {label["name"]: label["value"] for label in result["labels"]}
        epics = ("Flow ", "Integration", "Performance", "Tenant isolation", "Limits", "Money in")
        assert labels.get("epic", "").startswith(epics), labels
        assert labels.get("story") and labels.get("feature") and labels.get("severity"), labels
    assert any(r["name"].startswith("Olivia's call is paid from her allocation") and
               {"name": "severity", "value": "critical"} in r["labels"] for r in results)
    environment = (full_run["tmp"] / "allure-results" / "environment.properties").read_text()
    for part in ("target=embedded", "keycloak=", "postgresql=", "redis=", "litellm=", "ops_center_build="):
        assert part in environment


def test_the_single_file_html_report_renders_in_chromium_with_every_scenario_passed(full_run, tmp_path):
    shot = tmp_path / "report.png"
    dom = rendered_dom(full_run["html"], tmp_path / "profile", screenshot=shot)
    assert shot.stat().st_size > BLANK_PAGE_BYTES
    passed = re.search(r'data-testid="metadata-item-passed".*?>(\d+)</span>', dom, re.S)
    assert passed, "the rendered report shows no passed count"
    assert int(passed.group(1)) == scenario_count(full_run["features"])
    assert report_name(run_of(full_run["tmp"] / "allure-results")) in dom  # the report names the one run it shows


def first_scenarios() -> list[str]:
    """The first scenario of each feature (an outline's first example where it starts with one), but the latency
    budgets' feature's, whose first scenario runs first in budgets_run, alone."""
    # Outline examples named as behave.ini names them in a run (the parser alone does not read behave.ini).
    ini = configparser.ConfigParser(interpolation=None)
    ini.read(ROOT / "behave.ini")
    ScenarioOutline.annotation_schema = ini["behave"]["scenario_outline_annotation_schema"]
    found = []
    for path in sorted((ROOT / "features").glob("*.feature")):
        feature = parse_file(str(path))
        if "performance" not in feature.tags:
            found.append(next(feature.iter_rules()).walk_scenarios()[0].name)
    return found


@pytest.mark.parametrize("name", first_scenarios())
def test_a_scenario_passes_when_run_alone(name, tmp_path):
    run = behave("-n", f"^{re.escape(name)}$", "-f", "plain", env=isolated_reports(tmp_path))
    assert run.returncode == 0, run.stdout[-3000:]
    assert summary(run.stdout)["passed"] == 1


@contextmanager
def broken_ops_center(stack, breakage: str):
    """A second reference Ops-Center on the same stack, with one function replaced (tests/broken_reference.py)."""
    port = sandbox.free_port()
    name = f"ops-center-{breakage}"
    env = sandbox.ops_center_env(stack) | {"CREDITFLOW_BREAK": breakage}
    pid = sandbox.uvicorn(name, "tests.broken_reference:create_app", port, env)
    url = f"http://127.0.0.1:{port}"
    try:
        sandbox.wait_until(name, lambda: sandbox.http_ok(f"{url}/health"), 60, pid)
        yield url
    finally:
        os.killpg(pid, signal.SIGTERM)
        os.waitpid(pid, 0)


@pytest.mark.parametrize(("breakage", "selection", "flow", "fact"), [
    ("byok_charged", ["--tags", "@byok", "-n", "costs nothing$"], "BYOK Flow",
     "Bea's call should cost nothing, but cost 48 credits"),
    ("no_payment_check", ["-n", "cannot pay for it"], "Edge Cases",
     "call should be refused for payment (402), but Ops-Center succeeded, 0 credits paid by"),
    ("unrecorded_charge", ["-n", "^Ivy's call uses one more of her 10,000 API calls$"], "Individual Flow",
     "the books show: Ivy's balance of"),
    ("grant_to_dead_account", ["-n", "^Ivy, removed and created again with the same e-mail"], "Individual Flow",
     "Ivy should have 100 credits left, but has 0"),
    # Which step meets the copies first depends on timing: the step about the provider names Ivy's calls; when the
    # step about the copies' answers fails before it, the books checked after the scenario name its calls.
    ("copies_served", ["-n", "^Ivy's call sent 10 times at once under one request id"], "Edge Cases",
     re.compile(r"the LLM provider served (?:[2-9]|10) of (?:Ivy's|this scenario's) calls, but only 1 was paid for: "
                r"[1-9] (?:was|were) served unpaid")),
    ("prefixed_id_rejected", ["-n", "^Ivy's call to openai/gpt-4 costs what a gpt-4 call costs"], "Individual Flow",
     "Ivy's call should have succeeded, but Ops-Center answered 422 (invalid) 'The request is not valid: model: "
     "unknown model 'openai/gpt-4'"),
    ("key_stored_as_base64", ["-n", "^Bea sees that her OpenRouter key is configured"], "BYOK Flow",
     "Bea's BYOK key is stored in a form anyone can turn back: base64"),
    ("any_admin_in_any_organization", ["-n", "^Oscar, the admin of Globex, cannot buy credits for Acme"],
     "Tenant Isolation", "Acme's books changed after an attempt from outside: it held 10,000 credits and now holds "
     "11,000"),
    ("stream_charged_twice", ["-n", "^Ivy's streamed call is charged once to her own credits$"], "Individual Flow",
     "the ledger should show 1 charge to Ivy, but shows 2"),
    ("billed_the_reservation", ["-n", "^Ivy's call that uses 40 of its 100 tokens reaches billing"],
     "Integration Checklist", "billing should have received the 20 credits the ledger charged for Ivy's call, but "
     "received 48"),
    ("left_stream_free", ["-n", "^Ivy stops reading after the first words"], "Edge Cases",
     "Ivy should be charged once for the stream she left, but the ledger shows 0 charges: the stream she left was "
     "served free"),
    ("trusts_forwarded_for", ["-n", "^Mallory, claiming a new address in X-Forwarded-For with each invalid sign-in"],
     "Limits", "Mallory should be refused as making too many attempts after the limit of invalid sign-ins, but her "
     "last sign-in answered 401 (unauthorized)"),
    ("declined_purchase_credited", ["-n", "^Alice's purchase paid with a card its bank declines"], "Money In",
     re.compile(r"Acme \(acme-\w+-\d+\) received 10,000 credits more than were paid for or granted")),
    ("unsigned_events_believed", ["-n", "^The event of Alice's payment for Acme, delivered again with no signature"],
     "Money In",
     "Acme's payment event, delivered again with no signature, should be refused as not the payment provider's, "
     "but Ops-Center succeeded"),
    ("signature_unchecked", ["-n", "^Ivy's call with a sign-in signed by a key that is not the realm's"],
     "Tenant Isolation", "Ivy's call should be refused as not signed in (401), but the call succeeded"),
    ("each_delivery_credited", ["-n", "^The event of Alice's payment for Acme, delivered ten more times at once"],
     "Money In",
     re.compile(r"Acme \(acme-\w+-\d+\) received 100,000 credits more than were paid for or granted")),
    ("keys_read_once", ["-n", "^Ivy's call with a sign-in signed by a key the realm has just published is served"],
     "Tenant Isolation", "Ivy's call should be served, but Ops-Center answered 401"),
    ("quota_one_short", ["-n", "^Tess's last API call of the month on the Trial plan is still served$"],
     "Edge Cases", "Tess's call should be served, but Ops-Center answered 429"),
    # Its charges to "unknown" are in the stack's one ledger, where the check after every scenario of a run beside it
    # finds them too: it runs in make test's exclusive phase, alone.
    pytest.param("charged_to_a_phantom_too", ["-n", "^Ivy pays for her gpt-3.5-turbo call from her own credits$"],
                 "Individual Flow", re.compile(r'1 charge of [\d,.]+ credits in all went to an account that nobody in '
                                               r'this run holds \(the product\'s "unknown"\)'),
                 marks=pytest.mark.exclusive),
])
def test_a_broken_reference_fails_with_the_business_fact(stack, tmp_path, breakage, selection, flow, fact):
    with broken_ops_center(stack, breakage) as url:
        run = behave(*selection, "-f", "plain", env={"OPS_CENTER_URL": url, **isolated_reports(tmp_path)})
    (tmp_path / "console.txt").write_text(run.stdout + run.stderr)
    assert run.returncode != 0 and summary(run.stdout)["failed"] >= 1
    assert shows(fact, run.stdout + run.stderr), (run.stdout + run.stderr)[-3000:]
    assert f"✗ {flow}: FAILED" in (tmp_path / "report.txt").read_text()
    errors = (tmp_path / "errors.log").read_text()
    assert shows(fact, errors)
    failed = [r for r in allure_results(tmp_path) if r["status"] == "failed"]
    assert failed and all(r["name"] in errors for r in failed)
    filed = {category_of(r) for r in allure_results(tmp_path) if r["status"] != "passed"}
    assert filed and filed <= FAILED_CLAIMS, f"a broken business rule is filed as {filed}"
    if breakage in FILED_AS:
        assert filed == {FILED_AS[breakage]}, f"{breakage} is filed as {filed}"
    if breakage == RENDERED_BREAKAGE:  # the report itself, rendered once: Chromium takes seconds
        html = allure_html(tmp_path / "allure-results", tmp_path / "allure-report")
        category = sorted(filed)[0]
        categories = rendered_dom(html, tmp_path / "profile", "#categories", screenshot=tmp_path / "categories.png",
                                  ready=category)
        assert category in categories
        assert "Environment limit" not in categories and "Suite defect" not in categories


def category_of(result: dict) -> str | None:
    """The Categories tab's entry for a result: the first of allure-categories.json's rules it matches, as Allure
    applies them (a status it names, and the message matching its whole pattern)."""
    message = (result.get("statusDetails") or {}).get("message") or ""
    for category in json.loads((ROOT / "allure-categories.json").read_text()):
        pattern = category.get("messageRegex")
        if result["status"] in category["matchedStatuses"] and (pattern is None or re.fullmatch(pattern, message)):
            return category["name"]
    return None


async def test_every_credit_a_full_run_put_in_came_from_a_payment_that_succeeded_or_a_platform_admins_grant(
        full_run, stack):
    """Every ledger row of the run's accounts that added credits is one of the two ways in: a purchase whose payment
    succeeded at the payment provider, for its price, credited once; or a grant naming a platform admin of the run."""
    runs = json.loads((full_run["tmp"] / "results.json").read_text())["run"]["Run"].split("+")
    patterns = [f"%-{run}-%" for run in runs]
    database = stack.urls["postgres"].replace("unicorn@", f"unicorn:{stack.secrets['unicorn_password']}@")
    connection = await asyncpg.connect(database)
    try:
        rows = await connection.fetch(
            """SELECT t.kind, t.amount, t.request_id, a.email AS granted_by FROM credit_transactions t
               JOIN user_credits u ON u.user_id = t.user_id LEFT JOIN user_credits a ON a.user_id = t.granted_by
               WHERE t.amount > 0 AND u.email LIKE ANY($1::text[])""", patterns)
    finally:
        await connection.close()
    async with httpx.AsyncClient(base_url=stack.urls["payments"], auth=(stack.secrets["stripe_secret_key"], "")) as api:
        paid = {row["request_id"]: (await api.get(f"/v1/payment_intents/{row['request_id']}")).json()
                for row in rows if row["kind"] == "purchase"}
    kinds = {row["kind"] for row in rows}
    assert {"purchase", "grant"} <= kinds and kinds <= {"purchase", "grant"}, f"credits came in as {kinds}"
    purchases = [row for row in rows if row["kind"] == "purchase"]
    assert len({row["request_id"] for row in purchases}) == len(purchases), "a payment was credited twice"
    for row in purchases:
        intent = paid[row["request_id"]]
        assert intent.get("status") == "succeeded" and intent["amount"] * 10 == row["amount"], (
            f"{row['amount']} credits came in for the payment {row['request_id']}, which the provider shows {intent}")
    for row in rows:
        if row["kind"] == "grant":
            assert row["granted_by"] and any(f"-{run}-" in row["granted_by"] for run in runs), (
                f"a grant of {row['amount']} credits names no platform admin of the run: {row['granted_by']}")


def test_behave_reports_how_long_the_run_took(full_run):
    took = re.search(r"Took (\d+)min (\d+\.\d+)s", full_run["run"].stdout)
    assert took, full_run["run"].stdout[-500:]
    assert int(took.group(1)) * 60 + float(took.group(2)) > 10


def test_a_cleanup_that_fails_is_reported_beside_the_scenarios_verdict(stack, tmp_path):
    with broken_ops_center(stack, "org_delete_crashes") as url:
        run = behave("-n", "^Alice's new organization Acme is billed on the Platform plan, \\$50.00 a month$",
                     "-f", "plain", env={"OPS_CENTER_URL": url, **isolated_reports(tmp_path)})
    assert summary(run.stdout)["passed"] == 1, run.stdout[-3000:] + run.stderr[-3000:]
    report = (tmp_path / "report.txt").read_text()
    assert "✓ Alice's new organization Acme is billed on the Platform plan, $50.00 a month: PASSED" in report
    assert "cleanup: could not delete the organization Acme: FlowError: Ops-Center answered 500" in report
    errors = (tmp_path / "errors.log").read_text()
    assert "Alice's new organization Acme is billed on the Platform plan, $50.00 a month: PASSED" in errors
    assert "cleanup: could not delete the organization Acme" in errors
    assert "Traceback" not in run.stdout + run.stderr


def test_a_then_step_about_a_refused_call_fails_with_the_business_fact(stack, tmp_path):
    # behave finds steps/ and environment.py by walking up from a feature: it is written inside the checkout, in the
    # sandbox's state folder, which no report shares.
    feature = sandbox.STATE_DIR / f"selftest-{tmp_path.name}" / "refused_call.feature"
    feature.parent.mkdir(parents=True, exist_ok=True)
    feature.write_text(
        "@byok\nFeature: A refused call\n  Rule: Billing hears of every served call\n"
        "    Scenario: Bea's call is refused and billing hears nothing of it\n"
        "      Given Bea is an individual on the Professional plan with 1,000 credits\n"
        "      And Bea has stored her own OpenRouter key\n"
        "      When Bea asks gpt-4 a question of 100 tokens\n"
        "      Then billing received the usage of Bea's call\n")
    try:
        with broken_ops_center(stack, "provider_down") as url:
            run = behave(str(feature), "-f", "plain", env={"OPS_CENTER_URL": url, **isolated_reports(tmp_path)})
    finally:
        shutil.rmtree(feature.parent)
    output = run.stdout + run.stderr
    assert summary(run.stdout)["failed"] == 1, output[-3000:]
    assert "Bea's call should have succeeded, but Ops-Center answered 502 (provider failure)" in output
    assert "TypeError" not in output and "Traceback" not in output
    assert [r["status"] for r in allure_results(tmp_path)] == ["failed"]  # a product defect, not a broken suite


def test_a_remote_target_not_named_as_a_test_system_is_refused_before_anything_is_written(tmp_path):
    remote = {"CREDITFLOW_TARGET": "remote", "OPS_CENTER_URL": "https://ops.example.com",
              "KEYCLOAK_URL": "https://auth.example.com", "KEYCLOAK_CLIENT_SECRET": "x", "KEYCLOAK_ADMIN_PASSWORD": "x",
              "DATABASE_URL": "postgresql://u@db.example.com/db", "REDIS_URL": "redis://r.example.com/0",
              "LAGO_URL": "https://lago.example.com", "LAGO_API_KEY": "x"}
    run = behave("-f", "plain", env={**remote, **isolated_reports(tmp_path)}, timeout=120)
    output = run.stdout + run.stderr
    assert run.returncode != 0 and "Traceback" not in output
    assert ("the suite creates users and moves credits at 'ops.example.com' (OPS_CENTER_URL), which is not named as "
            "a test system; name it, if it is one, with CREDITFLOW_TEST_SYSTEMS=ops.example.com") in output
    assert summary(run.stdout)["passed"] == 0 and f"{scenario_count()} untested" in output


def test_money_created_fails_the_scenario_that_made_it_and_the_run_naming_the_account(stack, tmp_path):
    """A grant booked twice: every balance agrees with its ledger rows, only the money check sees it, after the
    scenario (whose step passed) and again over the run."""
    with broken_ops_center(stack, "grant_booked_twice") as url:
        run = behave("-n", "^Ivy's Professional plan gives her 10,000 API calls$", "-f", "plain",
                     env={"OPS_CENTER_URL": url, **isolated_reports(tmp_path)})
    output = run.stdout + run.stderr
    assert summary(run.stdout)["failed"] == 1 and run.returncode != 0, output[-3000:]
    broken = re.compile(r"Ivy \(ivy-\w+-\d+\) received 1,000 credits more than were paid for or granted: 2,000 are "
                        r"left or were charged, but no payment succeeded at the payment provider and 1,000 were "
                        r"granted")
    assert "HOOK-ERROR in after_all: AssertionError: Money conservation broken over" in output
    assert broken.search(output)
    report = (tmp_path / "report.txt").read_text()
    assert ("✗ Money conservation broken over 1 account: 1,000 credits are there that nobody put in; the books do not "
            "balance: 1,000 credits put in, 2,000 left + 0 charged") in report
    assert broken.search(report)
    assert broken.search((tmp_path / "errors.log").read_text())
    assert {category_of(r) for r in allure_results(tmp_path)} == {"Failed: money or security"}


async def accounts_of_process(services, pid: int) -> tuple[list[MarkedAccount], list[str]]:
    """The accounts the suite run in process `pid` created, and the organizations they created."""
    accounts = [account for account in await services.deployment.identity.accounts_of_other_runs()
                if account.marks.get(PID_MARK) == str(pid)]
    orgs = [org for account in accounts for org in await services.deployment.ledger.orgs_created_by(account.user_id)]
    return accounts, orgs


@pytest.mark.exclusive  # any run removes the leftovers of dead runs: no other may run beside this one
async def test_a_run_killed_half_way_leaves_accounts_the_next_run_finds_and_removes(services, tmp_path):
    inherited = suite_environment()
    output = tmp_path / "killed-run.txt"
    with output.open("wb") as written:
        killed = subprocess.Popen([sys.executable, "-m", "behave", "--no-color", "features/organization.feature"],
                                  cwd=ROOT, env={**inherited, **isolated_reports(tmp_path)}, start_new_session=True,
                                  stdout=written, stderr=subprocess.STDOUT)
    deadline, orgs = time.monotonic() + 120, []
    while not orgs and time.monotonic() < deadline and killed.poll() is None:
        accounts, orgs = await accounts_of_process(services, killed.pid)
    assert killed.poll() is None, f"the run to kill ended by itself first:\n{output.read_text()[-3000:]}"
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait()
    accounts, orgs = await accounts_of_process(services, killed.pid)
    assert accounts and orgs, "the killed run should have left accounts and an organization behind"
    dead_run = accounts[0].marks[RUN_MARK]

    run = behave("-n", "^Ivy's Professional plan gives her 10,000 API calls$", "-f", "plain",
                 env=isolated_reports(tmp_path))
    removed = re.search(r"creditflow: removed (\d+) users and (\d+) organizations left by \d+ dead runs \(([^)]*)\)",
                        run.stdout + run.stderr)
    assert removed and dead_run in removed.group(3), (run.stdout + run.stderr)[-2000:]
    assert int(removed.group(1)) >= len(accounts) and int(removed.group(2)) >= len(orgs)
    assert await accounts_of_process(services, killed.pid) == ([], [])
    assert [await services.deployment.ledger.org_statement(org) for org in orgs] == [None] * len(orgs)
    again = behave("-n", "^Ivy's Professional plan gives her 10,000 API calls$", "-f", "plain",
                   env=isolated_reports(tmp_path))
    assert "creditflow: no leftovers of dead runs" in again.stdout + again.stderr


def test_an_unreachable_target_ends_the_run_with_a_clear_reason(tmp_path):
    dead = f"127.0.0.1:{sandbox.free_port()}"
    remote = {"CREDITFLOW_TARGET": "remote", "OPS_CENTER_URL": f"http://{dead}", "KEYCLOAK_URL": f"http://{dead}",
              "KEYCLOAK_CLIENT_SECRET": "x", "KEYCLOAK_ADMIN_PASSWORD": "x", "DATABASE_URL": f"postgresql://u@{dead}/db",
              "REDIS_URL": f"redis://{dead}/0", "LAGO_URL": f"http://{dead}", "LAGO_API_KEY": "x",
              "CREDITFLOW_TEST_SYSTEMS": "127.0.0.1"}
    run = behave("-f", "plain", env={**remote, **isolated_reports(tmp_path)}, timeout=120)
    output = run.stdout + run.stderr
    assert run.returncode != 0
    assert "creditflow: the target remote is unreachable" in output
    assert "Traceback" not in output and "AttributeError" not in output
