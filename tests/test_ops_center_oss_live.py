"""The real product, live: Ops-Center-OSS booted from the checkout named by OPS_CENTER_SOURCE, and the
suite's verdicts on it. Without a checkout these tests are skipped, and pytest says why (-rs)."""

import os
import re
from pathlib import Path

import pytest

from sandbox import stack as sandbox
from tests.test_suite_self import behave, summary
from tests.user_reports import isolated_reports

SOURCE = os.environ.get("OPS_CENTER_SOURCE", "")
pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(not SOURCE, reason="OPS_CENTER_SOURCE is not set: no Ops-Center-OSS checkout to boot "
                                          "(set it to a checkout, for example at af179f13cf24; see README.md)"),
]


@pytest.fixture(scope="module")
def product(stack):
    return sandbox.start_product(SOURCE)


def run_on_product(tmp_path: Path, *selection: str):
    return behave(*selection, "-f", "plain", env={"OPS_CENTER_SOURCE": SOURCE, **isolated_reports(tmp_path)},
                  timeout=1200)


def test_the_product_boots_from_the_checkout_and_answers(product):
    assert sandbox.alive(product.pids["ops-center-oss"]) and sandbox.alive(product.pids["egress"])
    assert sandbox.http_ok(f"{product.urls['ops_center_oss']}/api/v1/system/status")


def test_a_byok_call_reaches_the_provider_double_through_the_egress_proxy(product, tmp_path):
    run = run_on_product(tmp_path, "-n", "^Bea's call goes to OpenRouter with her own key and costs nothing$")
    assert summary(run.stdout)["passed"] == 1, run.stdout[-3000:]


def test_the_products_defects_end_as_business_facts_never_as_suite_defects(product, tmp_path):
    run = run_on_product(tmp_path, "-n", "^Olivia's call is paid from her allocation and from Acme's pool$",
                         "-n", "^Alice cannot allocate more credits than Acme's pool holds$",
                         "-n", "^Ivy's own credits, just short of a gpt-3.5-turbo call, cannot pay for it$")
    output = run.stdout + run.stderr
    assert summary(run.stdout)["failed"] == 3, output[-3000:]
    assert ("Olivia's call should have succeeded, but Ops-Center answered 500 (server error) "
            "'Failed to deduct credits'") in output
    assert "Alice should be refused because the pool is too small, but Ops-Center answered 500" in output
    assert "the payment refusal should offer an upgrade" in output
    assert not re.search(r"Traceback|KeyError|TypeError|AttributeError", output)
    assert "ERROR" not in (tmp_path / "report.txt").read_text()



def test_simultaneous_calls_that_cannot_be_paid_are_served_before_they_are_refused(product, tmp_path):
    sandbox.restart_product()  # a fresh process: an earlier burst may have left it hanging
    run = run_on_product(tmp_path, "-n", "^Cody's 20 simultaneous calls with credits for 10 of them")
    output = run.stdout + run.stderr
    assert summary(run.stdout)["failed"] == 1, output[-3000:]
    served_unpaid = "the LLM provider served 20 of Cody's calls, but only 10 were paid for: 10 were served unpaid"
    hung = "exactly 10 calls should succeed with the credits there were, but 0 did (of 20: 20 no answer)"
    assert served_unpaid in output or hung in output, output[-3000:]


async def test_a_chat_answer_is_empty_when_the_client_accepts_gzip(product):
    """The one defect no scenario can show: every client of the suite asks for an unencoded answer."""
    import httpx

    from creditflow.run.composition import opened
    from creditflow.screenplay.questions.money import OwnCharges
    from creditflow.screenplay.tasks.accounts import SignUp
    from sandbox.launcher import SandboxLauncher

    run = await opened({"ops_center_source": SOURCE}, SandboxLauncher(say=lambda line: None), environ={})
    scene, config = run.scene(), run.config
    try:
        ivy = await scene.persona("Ivy").attempts_to(SignUp("professional", 1))
        body = {"model": "gpt-3.5-turbo", "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}]}
        async with httpx.AsyncClient(base_url=config.ops_center_url, timeout=30) as client:
            answer = await client.post("/api/v1/llm/chat/completions", json=body,
                                       headers={"Cookie": f"session_token={ivy.session.secret}",
                                                "Accept-Encoding": "gzip"})
        assert answer.status_code == 200 and answer.headers.get("content-encoding") == "gzip"
        assert answer.content == b""  # the answer is lost...
        assert len(await ivy.asks(OwnCharges())) == 1  # ...and the call was charged all the same
    finally:
        await scene.clean_up()
        await run.close()
