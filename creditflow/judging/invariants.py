"""The books after a scenario: the ledger's invariants for everyone in it, the provider's log against the charges,
and each account's money against what it paid and was granted. Accounts are named by their personas."""

from creditflow.deployments.declarations import Capability
from creditflow.rules.money import ORGANIZATION, USER
from creditflow.screenplay.scene import Scene
from creditflow.systems.provider_double import ProviderDouble
from creditflow.verdicts import TargetLacksPart
from creditflow.wording import counted, number, was_or_were


async def violations(scene: Scene) -> list[str]:
    """What the books show out of place; a deployment without a ledger reader has none to check."""
    deployment, services = scene.deployment, scene.services
    if not deployment.has(Capability.LEDGER):
        return []
    problems = []
    for actor in scene.cast.values():
        found, rows = await deployment.ledger.user_violations(actor.user_id)
        problems += found
        services.evidence.ledger_rows.extend(rows)
    for org in scene.orgs.values():
        found, rows = await deployment.ledger.org_violations(org.org_id)
        problems += found
        services.evidence.ledger_rows.extend(rows)
    problems += await served_against_paid(scene)
    problems += await charged_elsewhere(scene)
    # Money in: each account's credits against what it paid at the payment provider and was granted.
    problems += await services.money.problems_of(deployment, [
        *((USER, actor.user_id) for actor in scene.cast.values()),
        *((ORGANIZATION, org.org_id) for org in scene.orgs.values())])
    return [named(scene, problem) for problem in problems]


async def charged_elsewhere(scene: Scene) -> list[str]:
    """No charge taken during the scenario went to an account nobody in the run holds: a product that charges an
    account of its own making (one it keys on a name it could not read, say) takes money the books of the
    scenario's accounts never show."""
    if scene.ledger_mark is None:
        return []
    ours = scene.services.money.holders
    elsewhere = [charge for charge in await scene.deployment.ledger.charged_after(scene.ledger_mark)
                 if (USER, charge.user_id) not in ours and (ORGANIZATION, charge.org_id) not in ours]
    if not elsewhere:
        return []
    accounts = ", ".join(sorted({f'"{charge.user_id}"' for charge in elsewhere}))
    return [f"{counted(len(elsewhere), 'charge')} of {number(sum(charge.credits for charge in elsewhere))} "
            f"credits in all went to {'an account' if accounts.count(',') == 0 else 'accounts'} that nobody in "
            f"this run holds (the product's {accounts})"]


async def served_against_paid(scene: Scene) -> list[str]:
    """Every call the provider served on the platform's key in this scenario was paid for.

    Only that way round: a request that asks no question (a malformed one) reaches the provider without the
    scenario's name, so more charges than served calls can be the suite's blind spot, not the product's; a double
    charge is the business of the Rules that count charges."""
    try:
        provider = scene.provider("checking that every served call was paid for")
    except TargetLacksPart:
        return []  # a remote target has no provider log to read; the ledger's own invariants still hold
    key, ledger = scene.services.config.byok_key, scene.deployment.ledger
    own_key = ProviderDouble.fingerprint(key) if key else None
    served = sum(call.served and not (own_key and call.carried(own_key))
                 for call in await provider.calls_since(scene.scope, 0))
    charges = [charge for actor in scene.cast.values() for charge in await ledger.charges(actor.user_id)]
    charges += [charge for org in scene.orgs.values() for charge in await ledger.org_charges(org.org_id)]
    paid = min(sum(charge.credits > 0 for charge in charges), served)
    scene.services.money.calls(served, paid)
    unpaid = served_unpaid("this scenario's", served, paid)
    return [unpaid] if unpaid else []


def named(scene: Scene, text: str) -> str:
    for actor in scene.cast.values():
        text = text.replace(actor.user_id, actor.name).replace(actor.email, actor.name)
    for org in scene.orgs.values():
        text = text.replace(org.org_id, org.name)
    return text


def served_unpaid(whose: str, served: int, paid: int) -> str | None:
    """The business fact when the LLM provider served other than exactly the calls that were paid for."""
    if served == paid:
        return None
    unpaid = served - paid
    return (f"the LLM provider served {number(served)} of {whose} calls, but only {number(paid)} {was_or_were(paid)} "
            f"paid for: {number(unpaid)} {was_or_were(unpaid)} served unpaid")
