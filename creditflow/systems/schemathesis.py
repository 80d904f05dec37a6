"""Schemathesis, run as a tool: one run against an OpenAPI document with a persona's headers, and what it found
and sent, read back from its reports (its JSON summary and its HAR log) as typed values."""

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance"
SERVER_ERRORS = ("ServerError",)  # Schemathesis's failure type for a 5xx answer
REQUEST_TIMEOUT_S = 30  # a request unanswered this long is a failure of the server, not a stalled run


class FuzzError(Exception):
    """The fuzzing could not be done as asked: the message says why, in one line."""


@dataclass(frozen=True)
class Sent:
    """One request Schemathesis sent, and the status of its answer."""

    method: str
    path: str
    query: dict[str, str]
    body: Any  # the JSON it sent, None when it sent none (or none that parses)
    status: int


@dataclass(frozen=True)
class Failure:
    server: bool  # a server error; otherwise a violation of the document (a status, a schema, a content type)
    title: str
    operations: tuple[str, ...]


@dataclass(frozen=True)
class ToolRun:
    operations_tested: int
    failures: list[Failure]
    tool_errors: list[str]  # Schemathesis's own, not the server's
    sent: list[Sent]
    console: str = ""


def run(base_url: str, openapi_url: str, headers: dict[str, str], org_id: str, examples: int, workdir: Path,
        seed: int | None, operations: str | None) -> ToolRun:
    """One Schemathesis run; `operations`: a regular expression the fuzzed paths must match (all when None)."""
    config = workdir / "schemathesis.toml"
    lines = [f"base-url = {json.dumps(base_url)}", f"request-timeout = {REQUEST_TIMEOUT_S}", "[headers]",
             *(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in headers.items()),
             "[parameters]", f"org_id = {json.dumps(org_id)}", "[generation]", f"max-examples = {examples}"]
    config.write_text("\n".join(lines) + "\n")
    config.chmod(0o600)
    # Deleting the organization whose id the fuzzer holds would end everything under it, and its books with
    # it: deletion is the scenarios' to prove.
    command = [str(Path(sys.executable).with_name("schemathesis")), "--config-file", str(config), "run",
               openapi_url, "--checks", CHECKS, "--exclude-method", "DELETE", "--workers", "1",
               "--report", "json,har", "--report-dir", str(workdir / "out")]
    if seed is not None:
        command += ["--seed", str(seed)]
    if operations is not None:
        command += ["--include-path-regex", operations]
    finished = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=3600,
                              env={**os.environ, "NO_COLOR": "1"})
    reports = {path.name.split("-")[0]: path for path in (workdir / "out").glob("*.json")}
    if "json" not in reports:
        said = (finished.stderr.strip() or finished.stdout.strip() or "nothing").splitlines()[-1]
        raise FuzzError(f"Schemathesis wrote no report (exit {finished.returncode}); it said: {said[:300]}")
    har = json.loads(reports["har"].read_text())["log"]["entries"] if "har" in reports else []
    return read_reports(json.loads(reports["json"].read_text()), har, finished.stdout)


def read_reports(report: dict, har: list[dict], console: str = "") -> ToolRun:
    """Schemathesis's JSON summary and HAR entries, as typed values."""
    failures = [Failure(f["type"] in SERVER_ERRORS, f["title"], tuple(f["operations"]))
                for f in report.get("failures", [])]
    tool_errors = [str(error.get("title") or error.get("message") or error)[:300] for error in report.get("errors", [])]
    return ToolRun((report.get("operations") or {}).get("tested") or 0, failures, tool_errors,
                   [sent(entry) for entry in har], console)


def sent(entry: dict) -> Sent:
    request, url = entry["request"], urlsplit(entry["request"]["url"])
    try:
        body = json.loads((request.get("postData") or {}).get("text") or "null")
    except ValueError:
        body = None
    return Sent(request["method"], url.path, dict(parse_qsl(url.query)), body, entry["response"]["status"])
