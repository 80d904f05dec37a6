"""Recorded answers of a live Ops-Center (tests/fixtures/<deployment>/), played back to a deployment's client."""

import json
from pathlib import Path

import httpx

from creditflow.deployments.http import HttpClient
from creditflow.evidence import Evidence
from creditflow.redaction import Redactor

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def recorded(deployment: str, name: str) -> httpx.Response:
    answer = json.loads((FIXTURES / deployment / f"{name}.json").read_text())
    if "events" in answer:  # server-sent events, each recorded as the text of its `data:` line
        stream = "".join(f"data: {event}\n\n" for event in answer["events"])
        return httpx.Response(answer["status"], headers=answer["headers"], content=stream.encode())
    return httpx.Response(answer["status"], headers=answer["headers"], json=answer["body"])


def client_answering(deployment: str, *names: str, headers: dict[str, str] | None = None
                     ) -> tuple[HttpClient, list[httpx.Request]]:
    """A client whose requests get the named recorded answers in turn (the last one again once they run out),
    and the list of the requests it sent."""
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return recorded(deployment, names[min(len(sent), len(names)) - 1])

    client = HttpClient("http://ops-center.test", Evidence(Redactor()), headers=headers,
                        transport=httpx.MockTransport(handler))
    return client, sent
