"""make acceptance's run of the checkout, kept so that make test judges that run instead of running every scenario
again: its console, its reports and Allure results, the secrets it used, and what it ran on.

A run is kept only when it is the whole suite with the default settings (scripts/acceptance.py decides), and it is
read back only while it still describes what make test would run: the checkout's files as they were (every file git
tracks or would track, but the reports runs write under docs/ and reports/, and the self-tests under tests/, which no
run imports), on the same running stack."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from creditflow.config import ROOT, SETTINGS

# Not read by a run: the reports runs write (a run that rewrote its own conformance report still describes the
# checkout), and the self-tests, which judge runs.
NOT_READ = ("docs/", "reports/", "tests/")
# Settings that say where a run writes, or which BYOK key its persona stores: the same run otherwise.
UNCHANGING = {"report_path", "performance_path", "error_log_path", "results_path", "conformance_dir", "byok_key"}
RECORDING = "CREDITFLOW_KEEP_RUN"  # set for the process whose run is kept: the folder it keeps it in


def checkout_fingerprint(root: Path = ROOT) -> str | None:
    """A digest of every file git tracks or would track (a deleted one as absent), but those no run reads; None
    outside a git checkout, where no run is kept."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root,
                            capture_output=True)
    if listed.returncode != 0:
        return None
    digest = hashlib.sha256()
    for name in sorted(set(listed.stdout.decode().split("\0")) - {""}):
        if name.startswith(NOT_READ):
            continue
        path = root / name
        digest.update(name.encode() + b"\0" + (path.read_bytes() if path.is_file() else b"(absent)") + b"\0")
    return digest.hexdigest()


def own_settings(environ: dict[str, str] | None = None) -> list[str]:
    """The environment variables that set what a run runs against or how (any but where it writes)."""
    environ = os.environ if environ is None else environ
    return sorted(variable for key, (variable, _) in SETTINGS.items() if key not in UNCHANGING and variable in environ)


@dataclass(frozen=True)
class KeptRun:
    """A kept run, as the self-tests read it: `reports` holds what it wrote (report.txt, performance.json,
    results.json, errors.log when something failed, allure-results/, and any other report by its name)."""

    returncode: int
    stdout: str
    stderr: str
    features: list[Path]
    reports: Path
    secrets: list[str]
    logs_before: dict[str, int]  # each service log's size when the run began
    byok_key: str  # the key the BYOK persona stored, which no report may show
    finished: str  # the time of day it ended, on this machine


def keep(folder: Path, command: list[str], env: dict[str, str], root: Path = ROOT) -> int:
    """Runs `command` (the whole suite, which calls `began` and `keep_reports`) in the checkout at `root`, its
    console shown as it comes and kept, then keeps the run in `folder` if the checkout did not change meanwhile."""
    fingerprint = checkout_fingerprint(root)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, mode=0o700)  # the secrets file is in it
    secrets = folder / "secrets.txt"
    secrets.touch(mode=0o600)
    child = subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env={**env, RECORDING: str(folder), "CREDITFLOW_SECRETS_FILE": str(secrets)})
    outputs = {"stdout": bytearray(), "stderr": bytearray()}
    copiers = [threading.Thread(target=shown_and_kept, args=(child.stdout, sys.stdout.buffer, outputs["stdout"])),
               threading.Thread(target=shown_and_kept, args=(child.stderr, sys.stderr.buffer, outputs["stderr"]))]
    for copier in copiers:
        copier.start()
    try:
        returncode, interrupted = child.wait(), False
    except KeyboardInterrupt:  # the run had the interrupt too: it ends its own way, and is not kept
        returncode, interrupted = child.wait(), True
    for copier in copiers:
        copier.join()
    began = folder / "began.json"
    if interrupted or fingerprint is None or checkout_fingerprint(root) != fingerprint or not began.exists():
        shutil.rmtree(folder, ignore_errors=True)  # not the whole run of the checkout as it is now
        return returncode
    (folder / "stdout.txt").write_bytes(outputs["stdout"])
    (folder / "stderr.txt").write_bytes(outputs["stderr"])
    features = [str(path.relative_to(root)) for path in sorted((root / "features").glob("*.feature"))]
    (folder / "run.json").write_text(json.dumps({
        **json.loads(began.read_text()), "fingerprint": fingerprint, "returncode": returncode, "features": features,
        "byok_key": env.get("TEST_OPENROUTER_KEY", ""), "finished": time.strftime("%H:%M")}, indent=1))
    (folder / "run.json").chmod(0o600)  # it names the BYOK key
    return returncode


def shown_and_kept(source: IO[bytes], shown: IO[bytes], kept: bytearray) -> None:
    while chunk := os.read(source.fileno(), 65536):
        kept += chunk
        shown.write(chunk)
        shown.flush()


def began(folder: Path, stack_parts: dict[str, int], log_sizes: dict[str, int]) -> None:
    """The kept run has its stack: the processes of its parts, and where each service's log stood."""
    (folder / "began.json").write_text(json.dumps({"stack": stack_parts, "logs_before": log_sizes}))


def keep_reports(folder: Path, written: list[str], named: dict[str, str], allure_results: Path) -> None:
    """The reports the kept run wrote, copied into its folder: those in `named` (path: name) under that name, any
    other under its own, and the Allure results."""
    reports = folder / "reports"
    reports.mkdir(exist_ok=True)
    for path in written:
        if Path(path).is_file():
            shutil.copy(path, reports / named.get(str(Path(path).resolve()), Path(path).name))
    shutil.copytree(allure_results, reports / "allure-results", dirs_exist_ok=True)


def kept_run(folder: Path, stack_parts: dict[str, int], environ: dict[str, str], root: Path = ROOT
             ) -> KeptRun | None:
    """The kept run, if it is the run make test would make: of the checkout at `root` as it is now, with no setting
    of its own in `environ`, on the stack that runs (`stack_parts`: its processes); else None."""
    try:
        facts = json.loads((folder / "run.json").read_text())
    except (OSError, ValueError):
        return None
    same_stack = all(stack_parts.get(part) == pid for part, pid in facts["stack"].items())
    if not same_stack or own_settings(environ) or facts["fingerprint"] != checkout_fingerprint(root):
        return None
    return KeptRun(facts["returncode"], (folder / "stdout.txt").read_text(), (folder / "stderr.txt").read_text(),
                   [root / name for name in facts["features"]], folder / "reports",
                   (folder / "secrets.txt").read_text().splitlines(), facts["logs_before"], facts["byok_key"],
                   facts["finished"])
