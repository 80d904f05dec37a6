"""The user's reports belong to the user's last run: nothing make test runs writes there.

Every run a test starts writes its reports into the test's own folder (isolated_reports); the session compares
what the user's report folders held before the tests with what they hold after them (tests/conftest.py), and
names whatever changed.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# What the user's runs write (make acceptance, make report, make fuzz, make load, make soak, make mutate, make
# conformance). The guide's text reports in /tmp are shared by every checkout on the machine, so another checkout's
# run may write them while these tests run: isolated_reports moves them too, but the session cannot watch them.
USER_REPORTS = (ROOT / "reports", ROOT / "docs" / "conformance")
NAMED_AT_MOST = 20  # changes named one by one; the rest are counted


def isolated_reports(tmp: Path) -> dict[str, str]:
    """The environment of a run a test starts (behave, a dry run included, or a script): every report it writes goes
    into `tmp`, never over reports/, docs/conformance or the guide's /tmp files, which belong to the user's last run
    (and to other checkouts' runs on the same machine). An inherited CREDITFLOW_CONFORMANCE is emptied: no
    conformance report."""
    return {"CREDITFLOW_REPORT": str(tmp / "report.txt"), "CREDITFLOW_PERFORMANCE": str(tmp / "performance.json"),
            "CREDITFLOW_ERROR_LOG": str(tmp / "errors.log"), "CREDITFLOW_RESULTS": str(tmp / "results.json"),
            "CREDITFLOW_ALLURE_RESULTS": str(tmp / "allure-results"), "CREDITFLOW_CONFORMANCE": ""}


def snapshot(folders: tuple[Path, ...] = USER_REPORTS, root: Path = ROOT) -> dict[str, tuple[int, int]]:
    """Every file and folder under `folders` by its path from `root`: its size (0 for a folder) and its time of
    modification in nanoseconds. A folder's time changes when an entry is added to it or removed from it, so a file
    written and removed again is seen too."""
    found = {}
    for folder in folders:
        for path in [folder, *folder.rglob("*")] if folder.exists() else []:
            try:
                status = path.lstat()
            except FileNotFoundError:  # removed since the folder was listed: it is not there
                continue
            if path.is_dir():
                found[f"{path.relative_to(root)}/"] = (0, status.st_mtime_ns)
            else:
                found[str(path.relative_to(root))] = (status.st_size, status.st_mtime_ns)
    return found


def changes(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]) -> list[str]:
    """What differs between two snapshots, a line each: added, removed, or changed (its size, or its time; a folder
    whose entries are the same but whose time changed had one added and removed again)."""
    added, removed = sorted(after.keys() - before.keys()), sorted(before.keys() - after.keys())
    found = [f"added {path}" for path in added] + [f"removed {path}" for path in removed]
    named_parents = {f"{Path(path).parent}/" for path in added + removed}
    for path in sorted(before.keys() & after.keys()):
        (size_before, time_before), (size_after, time_after) = before[path], after[path]
        if path.endswith("/"):
            if time_before != time_after and path not in named_parents:
                found.append(f"changed {path}: an entry was added and removed again")
        elif size_before != size_after:
            found.append(f"changed {path}: {size_before} bytes, now {size_after}")
        elif time_before != time_after:
            found.append(f"changed {path}: rewritten, same size")
    return found


def described(found: list[str]) -> str:
    named = found[:NAMED_AT_MOST]
    more = [f"... and {len(found) - len(named)} more"] if len(found) > len(named) else []
    folders = ", ".join(f"{folder.relative_to(ROOT)}/" for folder in USER_REPORTS)
    return "\n".join([f"the tests changed the user's reports ({folders}), which belong to the user's last run: give "
                      "every run a test starts its own folders (tests/user_reports.py, isolated_reports)",
                      *named, *more])
