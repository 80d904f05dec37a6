"""The README's configuration table lists every variable the code reads, and its commands exist."""

import re
from pathlib import Path

from creditflow.config import SETTINGS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
SOURCES = [*ROOT.glob("creditflow/*.py"), *ROOT.glob("sandbox/**/*.py"), *ROOT.glob("steps/*.py"),
           ROOT / "environment.py", *ROOT.glob("benchmarks/*.py")]
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


def test_the_committed_conformance_report_of_the_real_product_has_a_verdict_for_every_scenario():
    from tests.test_suite_self import scenario_count

    report = (ROOT / "docs" / "conformance" / "ops-center-oss-af179f13cf24.md").read_text()
    assert "docs/conformance/ops-center-oss-af179f13cf24.md" in README
    summary = re.search(r"\*\*(\d+) of (\d+) scenarios pass; (\d+) fail as product defects; (\d+) end at an "
                        r"environment limit; 0 suite defects\*\*", report)
    assert summary and int(summary.group(2)) == scenario_count()
    assert sum(map(int, summary.group(1, 3, 4))) == scenario_count()
    assert report.count("\n- ") >= scenario_count()
