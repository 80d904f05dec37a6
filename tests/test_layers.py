"""Layers: only a deployment module knows a URL path, a header or cookie name, or a JSON field.

Steps and the flow-level modules of creditflow/ reach every system through typed answers; the Gherkin
text a step matches may name what the Gherkin names (the X-RateLimit-Reset of a quota refusal).
"""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHECKED = (sorted(ROOT.glob("steps/*.py")) + sorted(ROOT.glob("creditflow/screenplay/**/*.py"))
           + [ROOT / "creditflow" / "judging" / "invariants.py", ROOT / "loadtest" / "locustfile.py"])
URL_PATH = re.compile(r"https?://|^/(api|health|auth|realms|_double)\b|/api/v\d")
HEADER_OR_COOKIE = re.compile(r"\b(Authorization|Bearer|Cookie|Set-Cookie|session_token|Content-Type|Accept-Encoding)"
                              r"\b|"
                              r"\bX-[A-Z][A-Za-z]*(-[A-Za-z]+)*\b", re.IGNORECASE)
STEP_DECORATORS = {"given", "when", "then", "step"}


def gherkin_strings(tree: ast.AST) -> set[int]:
    """The ids of string constants that are step patterns (the Gherkin's own words)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in STEP_DECORATORS:
            found |= {id(arg) for arg in ast.walk(node) if isinstance(arg, ast.Constant)}
    return found


def plumbing(source: str) -> list[str]:
    """Every URL path, header or cookie name, and indexing of response JSON in `source`."""
    tree = ast.parse(source)
    allowed, findings = gherkin_strings(tree), []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in allowed:
            if URL_PATH.search(node.value):
                findings.append(f"line {line}: a URL path {node.value!r}")
            if HEADER_OR_COOKIE.search(node.value):
                findings.append(f"line {line}: a header or cookie name {node.value!r}")
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) \
                and isinstance(node.slice.value, str):
            findings.append(f"line {line}: indexes JSON with {node.slice.value!r}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("get", "json") \
                and (node.func.attr == "json" or (node.args and isinstance(node.args[0], ast.Constant))):
            findings.append(f"line {line}: reads JSON with .{node.func.attr}()")
        if isinstance(node, ast.Attribute) and node.attr in ("body", "headers", "status_code"):
            findings.append(f"line {line}: reads a response's .{node.attr}")
    return findings


@pytest.mark.parametrize("path", CHECKED, ids=lambda p: str(p.relative_to(ROOT)))
def test_steps_and_the_driver_know_no_plumbing(path):
    assert plumbing(path.read_text()) == []


@pytest.mark.parametrize(("source", "finding"), [
    ('cost = answer.body["cost_credits"]', "indexes JSON with 'cost_credits'"),
    ('payer = answer.get("billed_to")', "reads JSON with .get()"),
    ('await http.get("/api/v1/credits/balance")', "a URL path"),
    ('headers = {"Authorization": f"Bearer {token}"}', "a header or cookie name"),
    ('cookie = "session_token=abc"', "a header or cookie name"),
    ('reset = refusal_headers["x-ratelimit-reset"]', "indexes JSON"),
    ('status = response.status_code', "reads a response's .status_code"),
])
def test_the_layer_check_finds_each_kind_of_plumbing(source, finding):
    assert any(finding in found for found in plumbing(source))


def test_the_gherkin_words_of_a_step_are_allowed():
    source = '@then("the refusal\'s X-RateLimit-Reset names a time in the future")\ndef f(context):\n    pass\n'
    assert plumbing(source) == []


# The rest of creditflow/ outside deployments/ and systems/ (the run, reports, verdicts, the fuzzer, the load) reads
# the suite's own records, not answers: it may index its own dicts, but names no path, header or cookie, and reads
# no response. What a module must name, and why:
ALLOWED = {
    "creditflow/config.py": "URLs of the ports docker-compose.yml publishes, the compose target's defaults",
    "creditflow/evidence.py": "the documentation link pydantic adds to its errors, cut from a refusal's text",
    "creditflow/redaction.py": "the header it masks",
}
FLOW_FILES = {path.relative_to(ROOT) for path in CHECKED}
REST = sorted(path for path in ROOT.glob("creditflow/**/*.py") if path.relative_to(ROOT) not in FLOW_FILES
              and path.parts[len(ROOT.parts) + 1] not in ("deployments", "systems"))
NAMES_OR_READS = ("a URL path", "a header or cookie name", "reads a response's .headers", "reads a response's "
                  ".status_code")


@pytest.mark.parametrize("path", REST, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_rest_of_creditflow_names_no_path_header_or_cookie_and_reads_no_response(path):
    found = [finding for finding in plumbing(path.read_text()) if any(kind in finding for kind in NAMES_OR_READS)]
    allowed = str(path.relative_to(ROOT)) in ALLOWED
    assert bool(found) == allowed, found or "named in ALLOWED, but names nothing: take it off"


def test_only_deployment_modules_name_the_contracts_paths():
    for path in ROOT.glob("creditflow/**/*.py"):
        if "/api/v1/" in path.read_text():
            assert path.is_relative_to(ROOT / "creditflow" / "deployments"), f"{path} names an Ops-Center path"


DEPLOYMENTS = ROOT / "creditflow" / "deployments"
# Issue 31's "about 300 lines" and "about 20 public methods": Ops-Center-OSS's routes, one method each, are 21.
MOST_LINES, MOST_PUBLIC_METHODS = 300, 21
ADAPTERS = sorted(path.name for path in DEPLOYMENTS.iterdir() if (path / "__init__.py").exists())


def test_what_deployments_share_knows_no_adapter_and_no_adapter_knows_another():
    """The interface, the values and the plumbing every deployment shares import no adapter package; an adapter
    imports only its own package and what is shared, so one product's quirks never reach another's."""
    graph = creditflow_imports()
    for module, imported in graph.items():
        if not module.startswith("creditflow.deployments."):
            continue
        own = module.split(".")[2] if module.split(".")[2] in ADAPTERS else None
        adapters = {name.split(".")[2] for name in imported if name.startswith("creditflow.deployments.")
                    and name.split(".")[2] in ADAPTERS}
        assert adapters <= {own} - {None}, f"{module} imports the adapters {sorted(adapters - {own})}"


@pytest.mark.parametrize("path", sorted((ROOT / "creditflow").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_each_module_of_creditflow_is_short_and_each_class_small(path):
    """A module a reader takes in at once, a class whose public methods are one capability's (issue 31)."""
    source = path.read_text()
    assert len(source.splitlines()) <= MOST_LINES, f"{path.name}: {len(source.splitlines())} lines"
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef):
            public = [item.name for item in node.body if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
                      and not item.name.startswith("_")]
            assert len(public) <= MOST_PUBLIC_METHODS, f"{node.name} has {len(public)} public methods"


def creditflow_imports() -> dict[str, set[str]]:
    """Each module of creditflow/ and the modules of creditflow/ it imports (at run time or for types alike)."""
    modules = {".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): path
               for path in (ROOT / "creditflow").rglob("*.py")}
    graph = {}
    for module, path in modules.items():
        graph[module] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                named = {f"{node.module}.{alias.name}" for alias in node.names}
                graph[module] |= {node.module} & modules.keys() | named & modules.keys()
            elif isinstance(node, ast.Import):
                graph[module] |= {alias.name for alias in node.names} & modules.keys()
        graph[module].discard(module)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles of `graph`, each as the path that closes it."""
    found, done = [], set()

    def visit(module: str, path: list[str]) -> None:
        for imported in sorted(graph[module]):
            if imported in path:
                found.append(path[path.index(imported):] + [imported])
            elif imported not in done:
                visit(imported, path + [imported])
        done.add(module)

    for module in sorted(graph):
        if module not in done:
            visit(module, [module])
    return found


def test_no_module_of_creditflow_imports_itself_round_a_circle():
    assert cycles(creditflow_imports()) == []


def test_a_circle_of_imports_is_seen():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c", "a"]]


OPENERS = ["environment.py", "scripts/fuzz.py", "scripts/load.py", "benchmarks/bench.py", "tests/conftest.py"]


@pytest.mark.parametrize("name", OPENERS)
def test_every_run_is_opened_by_the_one_recipe(name):
    """The hooks, the fuzzer, the load, the bench and the tests open their run through creditflow.run.composition;
    nothing else connects the services or starts the sandbox for a run."""
    source = (ROOT / name).read_text()
    assert "from creditflow.run.composition import" in source
    assert "Services.connect(" not in source and "start_embedded=" not in source


def test_only_the_run_connects_the_services():
    folders = ["creditflow", "steps", "scripts", "benchmarks", "tests", "loadtest", "sandbox"]
    connecting = [str(path.relative_to(ROOT)) for folder in folders for path in (ROOT / folder).rglob("*.py")
                  if "Services.connect(" in path.read_text()]
    assert sorted(connecting) == ["creditflow/run/composition.py", "tests/test_layers.py"]  # this test names it too


# -- the screenplay (issue 31) ---------------------------------------------------------------------
TASKS, QUESTIONS = ROOT / "creditflow" / "screenplay" / "tasks", ROOT / "creditflow" / "screenplay" / "questions"
# What changes what it acts on: the deployment's writing methods (creditflow/deployments/capabilities.py), the
# doubles' settings, and the scene's record of who acted and what to undo.
ACTS = {"enroll", "remove", "recreate", "sign_in", "grant", "grant_naming", "arrange_credits", "create", "delete",
        "buy", "stock_pool", "add_member", "invite_naming", "allocate", "allocate_naming", "store", "attempt",
        "present", "buy_own", "put_on_file", "refund", "deliver", "make", "malformed", "hold", "arrange_used",
        "time_operation", "paid_elsewhere", "fail_calls", "use_share", "stream_as", "forget", "acting", "on_cleanup",
        "provider_for_this_scenario", "attempts_to"}


@pytest.mark.parametrize("path", sorted(ROOT.glob("steps/*.py")), ids=lambda p: p.name)
def test_steps_hand_actors_tasks_and_questions_rather_than_reach_through_the_world(path):
    uses = path.read_text().count("context.world")
    assert uses == 0, f"{path.name} reaches the driver through context.world {uses} times"


def acts(source: str) -> list[str]:
    """Where `source` changes something: a call of a method that acts, or a value set on an object."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ACTS:
            found.append(f"line {node.lineno}: calls .{node.func.attr}()")
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, ast.AugAssign | ast.AnnAssign) else []
        found += [f"line {node.lineno}: sets .{target.attr}" for target in targets if isinstance(target, ast.Attribute)]
    return found


@pytest.mark.parametrize("path", sorted(QUESTIONS.glob("*.py")), ids=lambda p: p.name)
def test_questions_never_act(path):
    assert acts(path.read_text()) == []


@pytest.mark.parametrize("path", sorted(TASKS.glob("*.py")), ids=lambda p: p.name)
def test_tasks_never_assert(path):
    """A task does and records; whether it came out as the Rule says is the step's to judge."""
    asserting = [node.lineno for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Assert)]
    assert asserting == [], f"{path.name} asserts on lines {asserting}"


@pytest.mark.parametrize(("source", "finding"), [
    ("await actor.deployment.orgs.allocate(session, org, member, 5)", "calls .allocate()"),
    ("actor.last_reply = reply", "sets .last_reply"),
    ("actor.stage.acting(actor)", "calls .acting()"),
])
def test_the_check_sees_a_question_that_acts(source, finding):
    assert any(finding in found for found in acts(source))


# The fields of a step pattern that name someone in the scenario, and the type that hands the step the actor (or the
# organization) rather than the name.
TYPED_ROLES = {**dict.fromkeys(["name", "admin", "asker", "named", "attacker", "target", "other", "who"], "Persona"),
               "org": "Org", **dict.fromkeys(["customer", "payer", "whose"], "Customer")}
NO_ONE = "NoOnesName"  # a name of no one's account, made up by the step: nobody in the scenario


def step_patterns() -> list[str]:
    patterns = []
    for path in sorted(ROOT.glob("steps/*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in STEP_DECORATORS:
                patterns += [arg.value for arg in node.args if isinstance(arg, ast.Constant)]
    return patterns


def test_every_persona_in_a_step_pattern_is_handed_over_as_an_actor():
    untyped = [f"{pattern!r}: {{{field}}}" for pattern in step_patterns()
               for field, kind in re.findall(r"\{(\w+)(?::(\w+))?\}", pattern)
               if field in TYPED_ROLES and kind not in (TYPED_ROLES[field], NO_ONE)]
    assert untyped == []


# -- the floors of creditflow/ (issue 31): each folder a floor, named in creditflow/__init__.py --------------------
# From the top: a module imports its own folder and the floors below its own, never a floor above, nor another folder
# of its own floor. The modules directly in creditflow/ are the ground floor.
FLOORS = [{"run", "load", "fuzzing"}, {"reporting"}, {"judging"}, {"screenplay"}, {"rules"}, {"deployments"},
          {"systems"}, {""}]
STACKLESS = {"creditflow.screenplay.tasks", "creditflow.screenplay.questions"}
FOLDERS = {path.name for path in (ROOT / "creditflow").iterdir() if (path / "__init__.py").exists()}


def folder_of(module: str) -> str:
    """The folder of creditflow/ a module is in ("" for the ground floor's modules)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or module.removeprefix("creditflow.") in FOLDERS else ""


def floor_of(module: str) -> int:
    folder = folder_of(module)
    return next(index for index, floor in enumerate(FLOORS) if folder in floor)


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """Each import of `graph` that reaches a floor above the importer's, or another folder of the same floor."""
    found = []
    for module, imported in sorted(graph.items()):
        for other in sorted(imported):
            if folder_of(other) != folder_of(module) and floor_of(other) <= floor_of(module):
                found.append(f"{module} imports {other}")
    return found


def test_every_folder_of_creditflow_is_on_a_floor():
    assert set().union(*FLOORS) - {""} == FOLDERS


def test_no_module_of_creditflow_imports_a_floor_above_its_own():
    assert upward_imports(creditflow_imports()) == []


def test_an_import_upward_or_across_a_floor_is_seen():
    graph = {"creditflow.rules.money": {"creditflow.screenplay.scene"},
             "creditflow.load.plan": {"creditflow.run.scenario"},
             "creditflow.verdicts": {"creditflow.wording", "creditflow.systems.identity"},
             "creditflow.judging.judge": {"creditflow.screenplay.actors", "creditflow.judging.findings"}}
    assert upward_imports(graph) == ["creditflow.load.plan imports creditflow.run.scenario",
                                     "creditflow.rules.money imports creditflow.screenplay.scene",
                                     "creditflow.verdicts imports creditflow.systems.identity"]


@pytest.mark.parametrize("folder", sorted(STACKLESS))
def test_tasks_and_questions_stand_side_by_side_rather_than_stacked(folder):
    """A task may use another task (a question another question), but not one that itself uses a third: siblings
    stacked in a line made the driver twelve floors tall (issue 31)."""
    graph = creditflow_imports()
    siblings = {module for module in graph if module.rpartition(".")[0] == folder}
    stacked = [f"{module} -> {used} -> {sorted(graph[used] & siblings)}" for module in sorted(siblings)
               for used in sorted(graph[module] & siblings) if graph[used] & siblings]
    assert stacked == []
