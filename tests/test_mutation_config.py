"""mutation.toml's equivalent mutants name their lines by what the lines say, so an edit above one can never move
its entry onto another line's mutants (scripts/mutate.py)."""

import importlib.util
import sqlite3
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("mutate", ROOT / "scripts" / "mutate.py")
mutate = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mutate)

EQUIVALENTS = tomllib.loads((ROOT / "mutation.toml").read_text())["cosmic-ray"]["filters"]["equivalent-mutants"][
    "mutants"]
SOURCE = """\
def already_billed(answer):
    if answer.status_code != 422:
        return False
    try:
        details = answer.json()
    except ValueError:
        return False
    return "value_already_exist" in details
"""


@pytest.mark.parametrize("known", EQUIVALENTS, ids=lambda known: known["reason"][:60])
def test_each_equivalent_mutant_names_exactly_one_line_of_its_module(known):
    source = (ROOT / known["module"]).read_text()
    line = mutate.anchored_line(source, known["code"])
    assert known["code"].splitlines()[0].strip() in source.splitlines()[line - 1]


def test_a_line_said_twice_is_told_apart_by_the_lines_after_it():
    assert mutate.anchored_line(SOURCE, "return False\ntry:") == 3
    assert mutate.anchored_line(SOURCE, 'return False\nreturn "value_already_exist"') == 7


def test_code_that_names_no_line_or_several_is_refused_with_the_lines_it_found():
    with pytest.raises(mutate.DriftedEntry, match=r"2 lines match 'return False' \(\[3, 7\]\)"):
        mutate.anchored_line(SOURCE, "return False")
    with pytest.raises(mutate.DriftedEntry, match="0 lines match"):
        mutate.anchored_line(SOURCE, "return True")


def test_an_edit_above_an_entry_moves_its_line_with_it():
    assert mutate.anchored_line("import json\n\n" + SOURCE, "except ValueError:") == 8


def test_a_mutant_marked_equivalent_by_a_line_no_entry_names_now_is_judged_again(tmp_path):
    (tmp_path / "billing.py").write_text(SOURCE)
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE mutation_specs (job_id, module_path, start_pos_row, start_pos_col, operator_name, "
               "occurrence)")
    db.execute("CREATE TABLE work_results (job_id, worker_outcome, output, test_outcome)")
    db.executemany("INSERT INTO mutation_specs VALUES (?, 'billing.py', ?, 0, 'core/NumberReplacer', 0)",
                   [("drifted", 2), ("named", 7)])
    db.execute("INSERT INTO work_results VALUES ('drifted', 'SKIPPED', 'equivalent: an entry of an older line', NULL)")
    mutate.mark_equivalents(db, [{"module": "billing.py", "code": 'return False\nreturn "value_already_exist"',
                                  "operator": "core/NumberReplacer", "reason": "a log line"}], tmp_path)
    assert db.execute("SELECT job_id, output FROM work_results").fetchall() == [("named", "equivalent: a log line")]


def session_with_survivors() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE mutation_specs (job_id, module_path, start_pos_row)")
    db.execute("CREATE TABLE work_results (job_id, test_outcome)")
    db.executemany("INSERT INTO mutation_specs VALUES (?, ?, ?)", [
        ("gap", "sandbox/opscenter/calls.py", 168), ("unreachable", "sandbox/opscenter/calls.py", 266),
        ("killed", "sandbox/opscenter/ledger.py", 168)])
    db.executemany("INSERT INTO work_results VALUES (?, ?)", [
        ("gap", "SURVIVED"), ("unreachable", "SURVIVED"), ("killed", "KILLED")])
    return db


def test_a_retest_of_survivors_runs_them_all_again_or_only_those_at_the_places_named():
    judged = "SELECT job_id FROM work_results ORDER BY job_id"
    everyone = session_with_survivors()
    mutate.forget_survivors(everyone, [])
    assert everyone.execute(judged).fetchall() == [("killed",)]
    named = session_with_survivors()
    mutate.forget_survivors(named, ["calls.py:168"])
    assert named.execute(judged).fetchall() == [("killed",), ("unreachable",)]


def test_a_retest_of_a_place_with_no_survivor_is_refused_and_forgets_nothing():
    db = session_with_survivors()
    with pytest.raises(SystemExit, match="no survivor at ledger.py:168"):
        mutate.forget_survivors(db, ["ledger.py:168"])
    assert db.execute("SELECT COUNT(*) FROM work_results").fetchone() == (3,)
