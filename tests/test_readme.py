"""The README's configuration table lists every variable the code reads, and every command it shows works as
written: each is pasted into bash as a reader would, as a dry run (`make -n`, `behave --dry-run`, a script's
`--help`), so a command that make, the shell or argparse would mangle fails here rather than in a reader's terminal."""

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from creditflow.config import SETTINGS
from creditflow.deployments.ops_center_oss.builds import BUILDS
from creditflow.verdicts import Verdict
from tests.user_reports import isolated_reports

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
SOURCES = [*ROOT.glob("creditflow/**/*.py"), *ROOT.glob("sandbox/**/*.py"), *ROOT.glob("steps/*.py"),
           ROOT / "environment.py", *ROOT.glob("benchmarks/*.py")]
COMMAND = re.compile(r"^(make|python3|docker|apt-get)(\s|$)")
NOT_RUN_HERE = {"docker": "no Docker engine runs on these machines; tests/test_compose.py checks docker-compose.yml",
                "apt-get": "installs system packages: scripts/setup.sh runs it, as root"}
READS = re.compile(r"""(?:environ|env)(?:\.get\(|\[)["']([A-Z][A-Z0-9_]+)["']""")


def variables_read_by_the_code() -> set[str]:
    found = {name for path in SOURCES for name in READS.findall(path.read_text())}
    return found | {variable for variable, _ in SETTINGS.values()}


def test_every_variable_the_code_reads_is_documented():
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]{2,})`", README))
    missing = sorted(variables_read_by_the_code() - documented)
    assert missing == []


def test_every_userdata_key_is_in_the_configuration_table():
    for key, (variable, _) in SETTINGS.items():
        assert re.search(rf"\| `{variable}` \| `{key}` \|", README), key


def test_the_two_commands_exist_and_ci_runs_the_test_command():
    makefile = (ROOT / "Makefile").read_text()
    assert "make acceptance" in README and "make test" in README
    assert re.search(r"^acceptance:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text()


@pytest.mark.parametrize("version", [build.commit for build in BUILDS])
def test_the_committed_conformance_report_of_each_build_of_the_real_product_has_a_verdict_for_every_scenario(version):
    from tests.test_suite_self import scenario_count

    report = (ROOT / "docs" / "conformance" / f"ops-center-oss-{version}.md").read_text()
    assert f"docs/conformance/ops-center-oss-{version}.md" in README
    summary = re.search(r"\*\*(\d+) scenarios: (.*?)\*\*", report)
    assert summary and int(summary.group(1)) == scenario_count()
    counts = dict((verdict, int(count)) for count, verdict in re.findall(r"(\d+) ([^;]+)", summary.group(2)))
    assert sum(counts.values()) == scenario_count() and "suite defect" not in counts, counts
    assert set(counts) <= {verdict.value for verdict in Verdict}
    assert report.index("## Findings") < report.index("## Every Rule and scenario")
    expectations = json.loads((ROOT / f"docs/conformance/expectations/ops-center-oss-{version}.json").read_text())
    assert len(expectations["scenarios"]) == scenario_count()



def readme_commands() -> list[str]:
    """Commands in bash code blocks (one a line, without their comments; other blocks show output) and in inline
    code (a line break inside it is a space, as the reader's copy would give)."""
    text = (ROOT / "README.md").read_text()
    found = [line.split("  #")[0].strip() for block in re.findall(r"```bash\n(.*?)```", text, re.S)
             for line in block.splitlines()]
    found += [" ".join(code.split()) for code in re.findall(r"`([^`]+)`", re.sub(r"```.*?```", "", text, flags=re.S))]
    return [command for command in dict.fromkeys(found) if COMMAND.match(command)]


def dry_run(command: str) -> str:
    program, _, arguments = command.partition(" ")
    if program == "make":
        return f"make -n {arguments}"
    if command.startswith("python3 -m behave"):
        return f"python3 -m behave --dry-run -f null {command.removeprefix('python3 -m behave')}"
    return f"{command} --help"


def test_the_readme_shows_the_commands_a_reader_pastes():
    commands = readme_commands()
    assert {"make acceptance", "make test", "python3 -m sandbox up"} <= set(commands)
    assert any(command.startswith("make fuzz") and "FUZZ_ARGS=" in command for command in commands)


# behave's dry run opens the run on the stack too, and removes what dead runs left: live.
@pytest.mark.parametrize("command", [
    pytest.param(command, marks=pytest.mark.live) if command.startswith("python3 -m behave") else command
    for command in readme_commands()])
def test_a_readme_command_works_as_written(command, tmp_path):
    program = command.split()[0]
    if program in NOT_RUN_HERE:
        pytest.skip(NOT_RUN_HERE[program])
    # behave writes through behave.ini's formatters even in a dry run: its reports go into the test's folder.
    finished = subprocess.run(["bash", "-c", dry_run(command)], cwd=ROOT, capture_output=True, text=True, timeout=60,
                              env={**os.environ, **isolated_reports(tmp_path)})
    said = finished.stdout + finished.stderr
    assert finished.returncode == 0 and "Traceback" not in said, f"{command}: {said[-2000:]}"
    quoted = re.findall(r"'([^']*)'", command) if program == "make" else []  # make -n echoes the recipe
    for argument in quoted:  # what the reader quoted reaches the program unchanged
        assert argument in said, f"{command}: {argument!r} did not reach the program as written: {said[-2000:]}"
