"""The load plan: who the Locust users are (the suite's personas, arranged through the deployment layer in
calls' worth) and how the load runs (a step-load, or credits that run out mid-run). The plan travels to
Locust's master as a file (mode 600: it holds passwords) and from there to every worker as a message."""

import json
import math
from dataclasses import asdict, dataclass, field
from decimal import Decimal

from creditflow.deployments.declarations import Capability
from creditflow.screenplay.actors import Actor, FlowError, Organization, expect
from creditflow.screenplay.scene import Scene
from creditflow.screenplay.tasks.accounts import SignUp
from creditflow.screenplay.tasks.keys import StoreOwnKey
from creditflow.screenplay.tasks.money import Stock
from creditflow.screenplay.tasks.organizations import MEMBER_PLAN, Allocate, CreateOrganization, Join

MODEL, TOKENS = "gpt-3.5-turbo", 100  # every load call: the scenarios' usual call
PERSONAL_PLAN = "professional"
# Each kind of Locust user, and the persona of the scenarios it acts as.
PERSONA_NAMES = {"individual": "Cody", "member": "Olivia", "byok": "Bea", "admin": "Alice"}
# Users who sign in again and again, each time as a new client of one persona after another: the load's sign-ins
# beyond each user's first (every other user keeps the session it opened until the deployment would expire it).
SIGN_IN = "signin"
# Admins at the checkout: each buys the smallest package the deployment sells for her organization, paid at the payment
# provider, again and again (money coming in under load, which the money check holds against the provider's records).
BUYER = "buyer"
KINDS = [*PERSONA_NAMES, SIGN_IN, BUYER]
CALLERS = ("individual", "member", "byok")
DEFAULT_MIX = "individual=5,member=3,byok=1,admin=1,signin=1"


def parse_mix(text: str) -> dict[str, int]:
    """"individual=5,member=3,byok=1,admin=1,signin=1": the relative number of Locust users of each kind."""
    mix = {}
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        kind, _, weight = part.partition("=")
        if kind not in KINDS or not weight.isdigit():
            raise ValueError(f"the mix names {part!r}: write kind=weight with kinds {', '.join(KINDS)}")
        mix[kind] = int(weight)
    if not any(mix.get(kind) for kind in CALLERS):
        raise ValueError(f"the mix {text!r} makes no LLM calls: give individual, member or byok a weight")
    return mix


@dataclass(frozen=True)
class Profile:
    """How the load runs: `step_users` more users every `step_seconds`, `steps` times, each user doing
    `user_rate` tasks a second; `calls_each`: credits for that many calls per persona (users run out mid-run
    and keep calling), or None for credits enough for every call the run can make; `until_knee`: the steps end
    early, once the rate of charged calls has stopped rising."""

    name: str
    step_users: int
    step_seconds: float
    steps: int
    user_rate: float
    calls_each: int | None = None
    until_knee: bool = False  # stop adding users once the rate of charged calls stops rising (at most `steps`)
    # Sign-ins a second of each signin user: people opening the product are few beside the calls of those in it
    # (a sign-in costs Keycloak more CPU than a charged call costs the whole stack).
    sign_in_rate: float = 0.2

    @property
    def seconds(self) -> float:
        return self.step_seconds * self.steps

    @property
    def most_users(self) -> int:
        return self.step_users * self.steps

    def most_tasks(self) -> int:
        """More tasks than the whole run can do: each step's users at their rate for the step's length."""
        return math.ceil(sum(self.step_users * step * self.user_rate * self.step_seconds
                             for step in range(1, self.steps + 1)))

    def calls_paid_for(self) -> int:
        """The calls each persona has credits for."""
        return self.calls_each if self.calls_each is not None else self.most_tasks()


@dataclass(frozen=True)
class Persona:
    kind: str
    name: str
    user_id: str
    username: str
    email: str
    password: str
    plan: str
    org_id: str | None = None  # a member's or an admin's organization
    org_name: str | None = None


@dataclass
class Plan:
    deployment: str
    ops_center_url: str
    keycloak: dict[str, str]  # url, realm, client_id, client_secret: how a worker signs personas in
    mix: dict[str, int]
    profile: Profile
    workers: int
    samples_path: str  # where Locust's master writes every sample
    model: str = MODEL
    tokens: int = TOKENS
    scope: str = ""  # named in every call, so the provider double's log of the load's calls is the load's own
    personas: list[Persona] = field(default_factory=list)
    build: str = ""  # the product's build, where the deployment knows several (OPS_CENTER_BUILD)

    def of_kind(self, kind: str) -> list[Persona]:
        return [persona for persona in self.personas if persona.kind == kind]

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "Plan":
        raw = json.loads(text)
        return cls(**raw | {"profile": Profile(**raw["profile"]),
                            "personas": [Persona(**persona) for persona in raw["personas"]]})


def persona_count(mix: dict[str, int], per_kind: int) -> dict[str, int]:
    """Personas of each kind: `per_kind` of each kind in the mix; members need an organization, and buyers buy for
    one, so an admin."""
    counts = {kind: per_kind if mix.get(kind) else 0 for kind in PERSONA_NAMES}
    if (counts["member"] or mix.get(BUYER)) and not counts["admin"]:
        counts["admin"] = 1
    return counts


async def arrange(scene: Scene, plan: Plan, per_kind: int) -> Plan:
    """The plan's personas, arranged as the scenarios arrange them; the scene removes them afterwards."""
    calls = plan.profile.calls_paid_for()
    if plan.mix.get(BUYER) and not scene.deployment.has(Capability.PAYMENTS):
        # Its purchases would put in credits the money check could hold against nothing.
        raise FlowError(f"the mix has buyers, but the deployment {plan.deployment} takes no payment at a provider: "
                        f"{scene.deployment.lacks[Capability.PAYMENTS]}")
    counts = persona_count(plan.mix, per_kind)
    own_credits = scene.worth(calls, plan.model, plan.tokens, PERSONAL_PLAN)
    # An organization's credits are bought and allocated whole (a product may move no fraction of them there):
    # at least the calls' worth.
    allocation = Decimal(math.ceil(scene.worth(calls, plan.model, plan.tokens, MEMBER_PLAN)))
    admins = [scene.persona(f"{PERSONA_NAMES['admin']}{n}") for n in range(1, counts["admin"] + 1)]
    orgs = []
    for number, admin in enumerate(admins, 1):
        orgs.append(await admin.attempts_to(CreateOrganization(scene.organization(f"Acme{number}"), MEMBER_PLAN)))
        plan.personas.append(persona("admin", admin, orgs[-1]))
    for n in range(1, counts["individual"] + 1):
        individual = scene.persona(f"{PERSONA_NAMES['individual']}{n}")
        await individual.attempts_to(SignUp(PERSONAL_PLAN, own_credits))
        plan.personas.append(persona("individual", individual))
    for n in range(1, counts["member"] + 1):
        member, org = scene.persona(f"{PERSONA_NAMES['member']}{n}"), orgs[(n - 1) % len(orgs)]
        await member.attempts_to(Join(org))
        await org.admin.attempts_to(Stock(org, scene.deployment.orgs.purchasable(allocation)))
        expect(await org.admin.attempts_to(Allocate(org, member, allocation)),
               f"{org.admin} could not allocate to {member}")
        plan.personas.append(persona("member", member, org))
    for n in range(1, counts["byok"] + 1):
        byok = scene.persona(f"{PERSONA_NAMES['byok']}{n}")
        await byok.attempts_to(SignUp(PERSONAL_PLAN))
        expect(await byok.attempts_to(StoreOwnKey()), f"{byok} could not store her OpenRouter key")
        plan.personas.append(persona("byok", byok))
    return plan


def persona(kind: str, actor: Actor, org: Organization | None = None) -> Persona:
    account = actor.account
    return Persona(kind, actor.name, account.user_id, account.username, account.email, account.password, account.plan,
                   org.org_id if org else None, org.ref.name if org else None)
