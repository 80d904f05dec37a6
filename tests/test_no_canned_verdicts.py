"""A deployment never answers on the product's behalf: every operation a scenario judges sends a request and
reports what came back, or raises NotApplicable for a feature the deployment declares its product lacks."""

import asyncio
import inspect
from decimal import Decimal

import httpx
import pytest

from creditflow.deployments.base import (
    Account,
    AddressHeader,
    CallRequest,
    ClaimedAddress,
    Malformed,
    OrgRef,
    Reply,
    Session,
)
from creditflow.deployments.capabilities import (
    Accounts,
    Keys,
    LlmCalls,
    Organizations,
    OwnCredits,
    Purchases,
    SignIns,
)
from creditflow.deployments.contract.deployment import ContractDeployment
from creditflow.deployments.deployment import Deployment
from creditflow.deployments.http import HttpClient
from creditflow.deployments.ops_center_oss.builds import BUILDS
from creditflow.deployments.ops_center_oss.deployment import OpsCenterOssDeployment
from creditflow.evidence import Evidence
from creditflow.redaction import Redactor
from creditflow.systems.identity import Identity
from creditflow.systems.payment_provider import Delivery
from creditflow.verdicts import NotApplicable, TargetLacksPart

ACCOUNT = Account("0c9f6a34-5b7e-4c1a-9d3e-7f6a5b4c3d2e", "ivy-x1-1", "ivy-x1-1@example.test", "pw", "professional")
ORG = OrgRef("4f1e2d3c-5b7e-4c1a-9d3e-7f6a5b4c3d2e", "Acme")
SESSION = Session("a-session", 0.0, owner="Ivy")
# Each operation whose answer a scenario judges, by its capability, with arguments a scenario would give it.
OPERATIONS = {
    "own_credits.balance": (SESSION,), "own_credits.grant": (SESSION, ACCOUNT, Decimal(100)),
    "own_credits.grant_naming": (SESSION, ACCOUNT.user_id, None, Decimal(100)),
    "orgs.create": (SESSION, "Acme", "platform"), "orgs.delete": (SESSION, ORG),
    "orgs.buy": (SESSION, ORG, Decimal(10_000)), "orgs.add_member": (SESSION, ORG, ACCOUNT),
    "orgs.invite_naming": (SESSION, ORG, "x" * 255, None),
    "orgs.allocate": (SESSION, ORG, ACCOUNT, Decimal(2_500)), "orgs.pool": (SESSION, ORG),
    "orgs.allocation": (SESSION, ORG), "orgs.allocate_naming": (SESSION, ORG, None, None, Decimal(500)),
    "orgs.attribution": (SESSION, ORG), "orgs.stock_pool": (SESSION, SESSION, ORG, Decimal(10_000)),
    "keys.store": (SESSION, "openrouter", "sk-or-v1-" + "0" * 48), "keys.settings": (SESSION,),
    "calls.make": (SESSION, CallRequest("gpt-4", 100)), "calls.malformed": (SESSION, Malformed.NO_MESSAGES),
    "health": (),
    "sign_ins.attempt": (ACCOUNT, "a guess", ACCOUNT, ClaimedAddress(AddressHeader.FORWARDED_FOR, "203.0.113.7")),
    "sign_ins.present": (ACCOUNT, SESSION, False),
    "purchases.buy_own": (SESSION, Decimal(1_000)), "purchases.refund": (SESSION, "pi_0", None),
    "purchases.deliver": (Delivery(b"{}", {}),),
}
# Operations that are not a question to the product: arranging what it has no API for, and cleaning up; and
# time_operation, whose None defers to the timing a call's own answer reports (tested below where it asks).
# put_on_file first makes the payment method at the payment provider, which this test has none of; the product's
# answer to it is then reported as every other is (tests/test_contract_deployment.py asks it of the reference).
NOT_JUDGED = {"own_credits.arrange_credits", "orgs.remove", "accounts.enroll", "accounts.remove", "accounts.sign_in",
              "accounts.recreate", "close", "accounts.plan_in_identity", "accounts.stranger_sessions",
              "accounts.foreign_session", "accounts.forged_session", "calls.time_operation", "calls.hold",
              "purchases.put_on_file", "calls.arrange_used", "connect"}
# Each capability a deployment is asked through, by the attribute that holds it.
CAPABILITIES = {"accounts": Accounts, "own_credits": OwnCredits, "orgs": Organizations, "keys": Keys,
                "sign_ins": SignIns, "purchases": Purchases, "calls": LlmCalls}


def operation_of(target: Deployment, operation: str):
    """`health` of the deployment itself, `orgs.pool` of its organizations."""
    part, _, name = operation.rpartition(".")
    return getattr(getattr(target, part) if part else target, name)


class Recorder:
    """An HTTP server that answers every request with a server error, counting them."""

    def __init__(self):
        self.requests = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        return httpx.Response(500, json={"detail": "the product's own answer"})


def deployment(kind: type[Deployment], recorder: Recorder, build: str) -> Deployment:
    def client(base_url, **options):
        return HttpClient(base_url, Evidence(Redactor([])), transport=httpx.MockTransport(recorder), **options)

    # Keycloak is asked through the deployment's own client too, where the deployment signs in there itself
    identity = Identity("http://keycloak.test", "uchub", "ops-center", "client-secret", "admin", "admin-password")
    return kind.requests_only("http://product.test", client, identity=identity, build=build)


def test_every_judged_operation_of_the_interface_is_listed_here():
    asked = {name for name, member in inspect.getmembers(Deployment) if inspect.iscoroutinefunction(member)}
    asked |= {f"{part}.{name}" for part, capability in CAPABILITIES.items()
              for name, member in inspect.getmembers(capability) if inspect.iscoroutinefunction(member)}
    assert asked - set(OPERATIONS) - NOT_JUDGED == set(), "a new operation: list it above"


@pytest.mark.parametrize("kind, build", [(ContractDeployment, ""), *((OpsCenterOssDeployment, build.commit)
                                                                       for build in BUILDS)],
                         ids=lambda value: getattr(value, "name", value))
@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_an_operation_asks_the_product_and_reports_its_answer(kind, build, operation):
    recorder = Recorder()
    target = deployment(kind, recorder, build)
    try:
        answer = asyncio.new_event_loop().run_until_complete(operation_of(target, operation)(*OPERATIONS[operation]))
    except NotApplicable as declared:
        assert str(declared) in target.lacks.values(), f"{kind.name}.{operation}: not applicable, saying no why"
        assert recorder.requests == 0
        return
    except TargetLacksPart as limit:  # the run cannot reach what the operation needs: an environment limit, no verdict
        assert str(limit) and recorder.requests == 0
        return
    assert recorder.requests >= 1, f"{kind.name}.{operation} answered without asking the product"
    refusal = answer.refusal if isinstance(answer, Reply) else answer.refusal
    assert refusal is not None and refusal.status == 500, (
        f"{kind.name}.{operation} did not report the product's server error: {answer}")


def test_usage_tracking_on_the_real_product_is_timed_by_asking_its_own_endpoint():
    recorder = Recorder()
    target = deployment(OpsCenterOssDeployment, recorder, BUILDS[0].commit)
    answer = asyncio.new_event_loop().run_until_complete(target.calls.time_operation(SESSION, "usage tracking"))
    assert recorder.requests == 1 and answer.refusal.status == 500
