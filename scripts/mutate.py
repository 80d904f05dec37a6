"""`make mutate`: cosmic-ray over the reference Ops-Center's business modules, each mutant judged by the suite.

    python3 scripts/mutate.py [--module calls.py ...] [--share 0.2] [--retest-survivors [calls.py:168 ...]]
                              [--report-only]

The session lives in .mutation/session.sqlite (cosmic-ray's own work database): a run that is stopped goes on
where it stopped, and `--share` only adds mutants to the sample. The reference and the suite are taken from
the commit the session was started on (.mutation/suite; `--retest-survivors` moves it to the last commit), so
every mutant of a session is judged by the same scenarios while the checkout changes. The mutants are written
into a copy of its `sandbox/` (.mutation/tree), never into the checkout; scripts/mutant_suite.py starts each
one on the running embedded stack and runs the suite against it. The report: reports/mutation/report-<modules>.md.

--module      the modules to mutate (file names under sandbox/opscenter/, e.g. calls.py or routers); a new
              selection starts a new session
--share       the share of the mutants run (deterministic: the same mutants for the same share); 1 is all
--retest-survivors   the survivors are run again (after new scenarios); the numbers of the first run are kept
              in reports/mutation/before-<modules>.json (a later retest keeps them; remove the file for a new baseline).
              Given places (module:line, as the report names them), only the survivors there are run again: those a
              new scenario was written for, without the hour the unreachable ones take
"""

import argparse
import hashlib
import json
import re
import shutil
import sqlite3
import subprocess
import sys
import tomllib
from collections import Counter
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sandbox import stack as sandbox  # noqa: E402

WORK = ROOT / ".mutation"
TREE = WORK / "tree"
SUITE = WORK / "suite"
SESSION = WORK / "session.sqlite"
SESSION_FACTS = WORK / "session.json"
CONFIG = WORK / "config.toml"
REPORTS = ROOT / "reports" / "mutation"
REFERENCE = "sandbox/opscenter"
NOT_SAMPLED = "not sampled"
EQUIVALENT = "equivalent"


def tool(*command: str, niceness: int = 0) -> None:
    """A cosmic-ray command, run in the mutation tree."""
    prefix = ["nice", "-n", str(niceness)] if niceness else []
    subprocess.run([*prefix, *command], cwd=TREE, check=True)


def cosmic_ray_bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name)) if Path(sys.executable).with_name(name).exists() else name


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()


def sources_digest(modules: list[str]) -> str:
    """The committed sources of the mutated modules: a session's mutants are positions in these."""
    return hashlib.sha256(git("ls-tree", "-r", "HEAD", "--", *modules).encode()).hexdigest()


def snapshot(commit: str) -> None:
    """A commit, unpacked: the suite that judges every mutant of the session, and the reference mutated."""
    shutil.rmtree(SUITE, ignore_errors=True)
    SUITE.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", commit], cwd=ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(SUITE)], input=archive, check=True)


def write_config(base: dict, modules: list[str]) -> None:
    """mutation.toml with the chosen modules and this checkout's test command."""
    lines = ["[cosmic-ray]", f"module-path = {json.dumps(modules)}", f"timeout = {base['timeout']}",
             "excluded-modules = []",
             f'test-command = "{sys.executable} {ROOT / "scripts" / "mutant_suite.py"}"',
             "", "[cosmic-ray.distributor]", 'name = "local"', "",
             "[cosmic-ray.filters.operators-filter]",
             f"exclude-operators = {json.dumps(base['filters']['operators-filter']['exclude-operators'])}"]
    CONFIG.write_text("\n".join(lines) + "\n")


def fresh_tree() -> None:
    """The reference's committed sources; a mutant left behind by a stopped run is gone."""
    shutil.rmtree(TREE, ignore_errors=True)
    shutil.copytree(SUITE / "sandbox", TREE / "sandbox")


def mutations(db: sqlite3.Connection) -> list[tuple]:
    return db.execute(
        """SELECT s.job_id, s.module_path, s.start_pos_row, s.start_pos_col, s.operator_name, s.occurrence,
                  r.test_outcome, r.worker_outcome, r.output
           FROM mutation_specs s LEFT JOIN work_results r ON r.job_id = s.job_id""").fetchall()


def sample_position(module: str, row: int, col: int, operator: str, occurrence: int) -> float:
    """Where a mutant falls in [0, 1): the same for the same mutant in any session, so a share is stable."""
    key = f"{module}:{row}:{col}:{operator}:{occurrence}".encode()
    return int(hashlib.sha256(key).hexdigest()[:12], 16) / 16 ** 12


class DriftedEntry(Exception):
    """An equivalent mutant of mutation.toml whose code names no line of its module, or more than one."""


def anchored_line(source: str, code: str) -> int:
    """The line (from 1) an equivalent mutant's `code` names. Its first line is the mutated line and any further
    lines are the lines that follow it, each a part of the stripped line it must match: code is named by what it
    says, never by a line number, which every edit above it would silently move onto another line's mutants."""
    lines = [line.strip() for line in source.splitlines()]
    parts = code.splitlines()
    found = [number + 1 for number in range(len(lines) - len(parts) + 1)
             if all(part.strip() in lines[number + offset] for offset, part in enumerate(parts))]
    if len(found) != 1:
        raise DriftedEntry(f"{len(found)} lines match {code!r}" + (f" ({found})" if found else ""))
    return found[0]


def equivalent_lines(equivalents: list[dict], root: Path) -> dict[tuple[str, int], list[dict]]:
    """(module, line) -> the entries naming it, each line found by its code in the module's sources under `root`."""
    lines: dict[tuple[str, int], list[dict]] = {}
    for known in equivalents:
        try:
            line = anchored_line((root / known["module"]).read_text(), known["code"])
        except DriftedEntry as drifted:
            sys.exit(f"mutate: mutation.toml's equivalent mutant in {known['module']} ({known['reason']}): {drifted}; "
                     "name its line by code that is there once")
        lines.setdefault((known["module"], line), []).append(known)
    return lines


def mark_equivalents(db: sqlite3.Connection, equivalents: list[dict], root: Path) -> None:
    """Mutants listed as equivalent are skipped with their reason: pending ones, and survivors of an earlier run
    (a survivor found equivalent is not a gap in the suite). One marked earlier that no entry names now (its entry
    was removed, or named another line) is pending again. An entry's `nth` (0, 1, ...) names one of the operator's
    mutants on that line, in the order cosmic-ray made them, where the others are not equivalent."""
    rows = mutations(db)
    named = equivalent_lines(equivalents, root)
    on_line: dict[tuple, list[int]] = {}
    for _job, module, row, _col, operator, occurrence, *_ in rows:
        on_line.setdefault((module, row, operator), []).append(occurrence)
    for job_id, module, row, _col, operator, occurrence, outcome, worker, output in rows:
        marked = worker == "SKIPPED" and (output or "").startswith(EQUIVALENT)
        if worker is not None and outcome != "SURVIVED" and not marked:
            continue
        nth = sorted(on_line[(module, row, operator)]).index(occurrence)
        known = next((known for known in named.get((module, row), [])
                      if re.fullmatch(known["operator"], operator) and known.get("nth", nth) == nth), None)
        if known is not None:
            db.execute("DELETE FROM work_results WHERE job_id = ?", (job_id,))
            db.execute("INSERT INTO work_results (job_id, worker_outcome, output) VALUES (?, 'SKIPPED', ?)",
                       (job_id, f"{EQUIVALENT}: {known['reason']}"))
        elif marked:
            db.execute("DELETE FROM work_results WHERE job_id = ?", (job_id,))
    db.commit()


def apply_share(db: sqlite3.Connection, share: float) -> None:
    """Mutants outside the share are skipped as not sampled; a larger share than before brings some back."""
    for job_id, module, row, col, operator, occurrence, _outcome, worker, output in mutations(db):
        inside = sample_position(module, row, col, operator, occurrence) < share
        if worker is None and not inside:
            db.execute("INSERT INTO work_results (job_id, worker_outcome, output) VALUES (?, 'SKIPPED', ?)",
                       (job_id, NOT_SAMPLED))
        elif output == NOT_SAMPLED and inside:
            db.execute("DELETE FROM work_results WHERE job_id = ?", (job_id,))
    db.commit()


def tally(db: sqlite3.Connection) -> dict[str, Counter]:
    """Per module: killed, survived, timeout, equivalent, pending, not sampled and left out by operator."""
    counts: dict[str, Counter] = {}
    for _job, module, *_rest, outcome, worker, output in mutations(db):
        if worker is None:
            kind = "pending"
        elif worker == "SKIPPED":
            kind = ("equivalent" if (output or "").startswith(EQUIVALENT) else
                    "not sampled" if output == NOT_SAMPLED else "operator left out")
        elif output == "timeout":  # cosmic-ray's word for a test command it had to stop
            kind = "timeout"
        else:
            kind = {"KILLED": "killed", "SURVIVED": "survived"}.get(outcome, "incompetent")
        counts.setdefault(module, Counter())[kind] += 1
    return counts


def kill_ratio(counts: Counter) -> str:
    judged = counts["killed"] + counts["timeout"] + counts["survived"]
    return f"{100 * (counts['killed'] + counts['timeout']) / judged:.1f}%" if judged else "n/a"


COLUMNS = ["killed", "survived", "timeout", "equivalent", "incompetent", "pending", "not sampled",
           "operator left out"]


def table(counts: dict[str, Counter]) -> list[str]:
    total = sum(counts.values(), Counter())
    rows = ["| module | " + " | ".join(COLUMNS) + " | kill ratio |", "|---" * (len(COLUMNS) + 2) + "|"]
    for module, numbers in sorted(counts.items()) + [("**all**", total)]:
        rows.append(f"| {module} | " + " | ".join(str(numbers[c]) for c in COLUMNS) + f" | {kill_ratio(numbers)} |")
    return rows


def survivors(db: sqlite3.Connection) -> list[tuple[str, str, str]]:
    return db.execute(
        """SELECT s.module_path || ':' || s.start_pos_row, s.operator_name, r.diff
           FROM mutation_specs s JOIN work_results r ON r.job_id = s.job_id
           WHERE r.test_outcome = 'SURVIVED' ORDER BY s.module_path, s.start_pos_row""").fetchall()


def survivors_at(db: sqlite3.Connection, places: list[str]) -> list[str]:
    """The jobs of the survivors at `places` ("calls.py:168", a module's file name and the line the report names),
    or of every survivor where none is named. A place that names no survivor is an error, not a retest of
    nothing."""
    survived = db.execute("""SELECT r.job_id, s.module_path, s.start_pos_row FROM work_results r
                             JOIN mutation_specs s ON s.job_id = r.job_id
                             WHERE r.test_outcome = 'SURVIVED'""").fetchall()
    chosen = [(job, f"{Path(module).name}:{row}") for job, module, row in survived]
    if places:
        unknown = sorted(set(places) - {place for _, place in chosen})
        if unknown:
            raise SystemExit(f"mutate: no survivor at {', '.join(unknown)}; the report names each survivor's place")
        chosen = [(job, place) for job, place in chosen if place in places]
    return [job for job, _ in chosen]


def forget_survivors(db: sqlite3.Connection, places: list[str]) -> None:
    """Survivors' results are forgotten, so cosmic-ray runs them again: all of them, or those at `places`."""
    db.executemany("DELETE FROM work_results WHERE job_id = ?", [(job,) for job in survivors_at(db, places)])


def session_file(facts: dict, kind: str, suffix: str) -> Path:
    """A session's own report or baseline, named by its modules and, for a sample, its share
    (report-calls-ledger.md, report-calls-ledger-share40.md): sessions of other modules or shares keep theirs."""
    share = "" if facts["share"] >= 1 else f"-share{round(facts['share'] * 100)}"
    return REPORTS / f"{kind}-{'-'.join(Path(module).stem for module in facts['modules'])}{share}{suffix}"


def report(db: sqlite3.Connection, facts: dict) -> Path:
    REPORTS.mkdir(parents=True, exist_ok=True)
    lines = [f"# Mutation report: {', '.join(facts['modules'])}", "",
             f"cosmic-ray {facts['cosmic_ray']}, share {facts['share']}, suite and reference of commit "
             f"{facts['suite_commit'][:12]}, written {datetime.now(UTC):%Y-%m-%d %H:%M} "
             "UTC by `make mutate` (scripts/mutate.py). Kill ratio = (killed + timeout) / (killed + timeout + "
             "survived); equivalent mutants, the ones not sampled and the operators left out (mutation.toml) are "
             "not judged. What each survivor breaks, and what was done about it: reports/mutation/README.md.", ""]
    before = session_file(facts, "before", ".json")
    if before.exists():
        lines += ["## Before the new scenarios", "",
                  *table({module: Counter(numbers) for module, numbers in json.loads(before.read_text()).items()}),
                  "", "## Now", ""]
    lines += table(tally(db))
    lines += ["", "## Survivors", ""]
    for where, operator, diff in survivors(db):
        lines += [f"### {where} {operator}", "", "```diff", (diff or "").strip(), "```", ""]
    equivalents = db.execute(
        """SELECT s.module_path || ':' || s.start_pos_row, s.operator_name, r.output
           FROM mutation_specs s JOIN work_results r ON r.job_id = s.job_id
           WHERE r.output LIKE 'equivalent:%' ORDER BY 1""").fetchall()
    if equivalents:
        lines += ["## Equivalent mutants (excluded in mutation.toml)", ""]
        lines += [f"- {where} {operator}: {output.removeprefix('equivalent: ')}" for where, operator, output in
                  equivalents]
    path = session_file(facts, "report", ".md")
    path.write_text("\n".join(lines) + "\n")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module", nargs="+", help="file names under sandbox/opscenter/ (default: all of them)")
    parser.add_argument("--share", type=float, help="share of the mutants to run, 0 < share <= 1 (default 1)")
    parser.add_argument("--retest-survivors", nargs="*", metavar="MODULE:LINE",
                        help="run the survivors again: all of them, or those at the places given")
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()

    base = tomllib.loads((ROOT / "mutation.toml").read_text())["cosmic-ray"]
    modules = [f"{REFERENCE}/{name}" for name in args.module] if args.module else base["module-path"]
    WORK.mkdir(exist_ok=True)
    facts = json.loads(SESSION_FACTS.read_text()) if SESSION_FACTS.exists() else {}
    digest = sources_digest(modules)
    same_session = SESSION.exists() and facts.get("modules") == modules and facts.get("digest") == digest
    if args.retest_survivors:  # places named: checked before anything is archived, snapshotted or forgotten
        if not same_session:
            raise SystemExit("mutate: no session of these modules and sources to retest; run make mutate first")
        with closing(sqlite3.connect(SESSION)) as db:
            survivors_at(db, args.retest_survivors)
    if SESSION.exists() and not same_session:
        if args.report_only:
            print("mutate: the session is of other modules or older sources; its report is written as it is")
        else:
            archived = WORK / f"session-{facts.get('started', 'old')}.sqlite"
            SESSION.rename(archived)
            print(f"mutate: a new session (other modules, or the sources changed); the old one is {archived}")
    if not SESSION.exists():
        facts = {"modules": modules, "digest": digest, "share": 1.0, "suite_commit": git("rev-parse", "HEAD"),
                 "started": datetime.now(UTC).strftime("%Y%m%dT%H%M%S")}
    retest = args.retest_survivors is not None
    if retest:
        facts["suite_commit"] = git("rev-parse", "HEAD")
    if args.share is not None:
        facts["share"] = args.share
    facts["cosmic_ray"] = subprocess.run([cosmic_ray_bin("cosmic-ray"), "--version"], capture_output=True,
                                         text=True).stdout.split()[-1]

    if not args.report_only:
        snapshot(facts["suite_commit"])
        fresh_tree()
        write_config(base, modules)
        if not SESSION.exists():
            tool(cosmic_ray_bin("cosmic-ray"), "init", str(CONFIG), str(SESSION))
            tool(cosmic_ray_bin("cr-filter-operators"), str(SESSION), str(CONFIG))
        with sqlite3.connect(SESSION) as db:
            mark_equivalents(db, base["filters"]["equivalent-mutants"]["mutants"], SUITE)
            before = session_file(facts, "before", ".json")
            if retest and not before.exists():  # the baseline is the first run's: remove it to move it
                before.parent.mkdir(parents=True, exist_ok=True)
                before.write_text(json.dumps(tally(db), indent=2, sort_keys=True))
            if retest:
                forget_survivors(db, args.retest_survivors)
            apply_share(db, facts["share"])
        SESSION_FACTS.write_text(json.dumps(facts, indent=2))
        stack = sandbox.up()
        print(f"mutate: the embedded stack is up ({stack.urls['ops_center']}); mutants run niced")
        tool(cosmic_ray_bin("cosmic-ray"), "exec", str(CONFIG), str(SESSION), niceness=10)

    with sqlite3.connect(SESSION) as db:
        written = report(db, facts)
        for line in table(tally(db)):
            print(line)
    print(f"mutate: {written.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
