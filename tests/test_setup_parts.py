"""scripts/parts.sh, how scripts/setup.sh runs its parts side by side: each part's line says how long that part took,
as it ends; a part that fails names itself and its log, and stops the parts still running."""

import re
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def parts(script: str, logs: Path) -> subprocess.CompletedProcess:
    body = f'set -euo pipefail\nLOGS={logs}\nsource scripts/parts.sh\n{script}'
    return subprocess.run(["bash", "-c", body], cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_a_part_that_ended_before_the_setup_looked_is_reported_with_its_own_time_and_in_the_order_parts_ended(
        tmp_path):
    finished = parts('quick() { true; }\nslow() { sleep 1; }\n'
                     'start slow "the slow part" slow\nstart quick "the quick part" quick\n'
                     'sleep 2.5\nfinish slow quick\n', tmp_path)
    assert finished.returncode == 0, finished.stderr
    lines = [re.fullmatch(r"== setup: (the \w+ part) \((\d+) s\)", line) for line in finished.stdout.splitlines()]
    assert all(lines) and [line[1] for line in lines] == ["the quick part", "the slow part"], finished.stdout
    quick, slow = (int(line[2]) for line in lines)
    assert quick < 2 <= slow + 1 and slow < 2.5, f"the parts' own times are not what they took: {finished.stdout}"


def test_a_part_that_fails_names_itself_and_its_log_and_stops_the_parts_still_running(tmp_path):
    began = time.monotonic()
    finished = parts('broken() { echo "no such package: frobnicate"; exit 3; }\n'
                     'waiting() { echo $BASHPID >"$LOGS/waiting.pid"; sleep 30; }\n'
                     'start waiting "the long part" waiting\nstart broken "the broken part" broken\n'
                     'finish broken waiting\necho not reached\n', tmp_path)
    assert finished.returncode == 1 and "not reached" not in finished.stdout
    assert finished.stderr.startswith(f"setup: the broken part failed; its log: {tmp_path / 'broken.log'}\n")
    assert "no such package: frobnicate" in finished.stderr
    assert time.monotonic() - began < 20, "the setup waited for the part still running instead of stopping it"
    waiting = int((tmp_path / "waiting.pid").read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and running(waiting):
        time.sleep(0.1)
    assert not running(waiting), "the part still running was not stopped"


def running(pid: int) -> bool:
    try:  # a process stopped but not yet reaped by its new parent is a zombie ("Z")
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
