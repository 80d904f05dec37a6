"""Questions the steps ask: of Ops-Center (balances, books, settings), the ledger, the cache, billing,
and the provider double's request log. Answers are typed; a question that cannot be answered fails
with the business fact."""

import asyncio
import time
from decimal import Decimal

from creditflow.actors import Actor, FlowError, Organization, expect
from creditflow.deployments.base import (
    Allocation,
    Balance,
    ByokSettings,
    CallResult,
    Charge,
    MemberUsage,
    Pool,
    Reply,
    UsageEvent,
)
from creditflow.deployments.declarations import Capability
from creditflow.keys_at_rest import opens_with, opens_with_another_key, readable_in
from creditflow.money import ORGANIZATION, USER
from creditflow.scene import Scene
from creditflow.systems.provider_double import ProviderCall, ProviderDouble, RoutedCall
from creditflow.verdicts import NotApplicable, TargetLacksPart
from creditflow.wording import counted, number, was_or_were

ORG_QUERIES = "organization queries"
LITELLM_REPORTS_WITHIN_S = 8  # LiteLLM posts its reports every second (DEFAULT_FLUSH_INTERVAL_SECONDS, sandbox)
SETTLING_S = 15  # how long a call its caller left may take to be settled
SECOND_CHARGE_S = 1.0  # the pause after the first charge in which a double charge would appear


class Books:
    def __init__(self, scene: Scene):
        self.w = scene

    @property
    def _ledger(self):
        return self.w.deployment.ledger

    # -- Ops-Center ---------------------------------------------------------------------------
    async def balance(self, actor: Actor) -> Balance:
        reply = await self.w.deployment.own_credits.balance(await actor.current_session())
        return expect(reply, f"{actor}'s balance could not be read")

    def opening(self, actor: Actor) -> Balance:
        """`actor`'s balance and usage before their first call in this scenario."""
        if not self.w.deployment.has(Capability.OWN_CREDITS):
            raise NotApplicable(self.w.deployment.lacks[Capability.OWN_CREDITS])
        if actor.opening is None:
            raise FlowError(f"{actor} has made no call in this scenario")
        return actor.opening

    async def pool_reply(self, org: Organization, asker: Actor | None = None) -> Reply[Pool]:
        actor = self.w.acting(asker) if asker else org.admin
        reply = await self.w.deployment.orgs.pool(await actor.current_session(), org.ref)
        self._timed(reply)
        actor.last_reply = reply
        return reply

    async def pool(self, org: Organization) -> Pool:
        admin = org.admin
        return expect(await self.pool_reply(org), f"{admin} could not read {org}'s credits")

    async def organizations_of(self, actor: Actor) -> list[str]:
        """The organizations `actor` has created that the ledger still holds, by their names in this scenario (an
        unknown one by its id)."""
        known = {org.org_id: org_name for org_name, org in self.w.orgs.items()}
        return [known.get(org_id, org_id) for org_id in await self._ledger.orgs_created_by(actor.user_id)]

    async def allocation(self, actor: Actor, org: Organization) -> Allocation:
        reply = await self.w.deployment.orgs.allocation(await actor.current_session(), org.ref)
        self._timed(reply)
        return expect(reply, f"{actor} could not read their allocation in {org}")

    async def attribution(self, org: Organization, actor: Actor) -> MemberUsage | None:
        """What the organization's usage report attributes to `actor` (None: the report omits them)."""
        admin = org.admin
        reply = await self.w.deployment.orgs.attribution(await admin.current_session(), org.ref)
        self._timed(reply)
        rows = expect(reply, f"{admin.name} could not read {org}'s usage report")
        member = actor.account
        return next((row for row in rows if row.member in (member.email, member.user_id)), None)

    def _timed(self, reply: Reply) -> None:
        """An organization query's latency, when it succeeded: a refusal's time measures no query."""
        if reply.ok:
            self.w.services.metrics.add(ORG_QUERIES, reply.elapsed_ms)

    async def byok_settings(self, actor: Actor) -> ByokSettings:
        return expect(await self.w.deployment.keys.settings(await actor.current_session()),
                      f"{actor}'s key settings could not be read")

    # -- the ledger and the cache -------------------------------------------------------------
    def _as_evidence(self, charges: list[Charge]) -> list[Charge]:
        self.w.services.evidence.ledger_rows.extend(charge.__dict__ for charge in charges)
        return charges

    async def own_charges(self, actor: Actor) -> list[Charge]:
        return self._as_evidence(await self._ledger.charges(actor.user_id))

    async def charged_for_last_call(self, actor: Actor) -> Decimal:
        """What `actor`'s own credits were charged for their last call: the charges under its request id, or, where
        the product records none, every charge of theirs since the scenario began (its accounts are its own)."""
        call = actor.last_call
        charges = await self.own_charges(actor)
        if call.request_id and any(charge.request_id for charge in charges):
            charges = [charge for charge in charges if charge.request_id == call.request_id]
        return sum((charge.credits for charge in charges), Decimal(0))

    async def charges_of_last_call(self, actor: Actor) -> list[Charge]:
        """The ledger's charges for `actor`'s last served call, to their own credits or to an organization of theirs:
        those under its request id, or, where the product records none, every charge of theirs since the scenario
        began (its accounts are its own)."""
        call = actor.succeeded_call()
        charges = await self.own_charges(actor)
        for org in actor.memberships:
            charges += await self.member_charges(actor, org)
        if call.request_id and any(charge.request_id for charge in charges):
            charges = [charge for charge in charges if charge.request_id == call.request_id]
        return charges

    async def charges_settled(self, actor: Actor) -> list[Charge]:
        """`actor`'s own charges once a call they left is settled: Ops-Center settles it after the caller has
        gone, so the ledger is read until a charge appears (or SETTLING_S pass), then once more after a pause
        in which a second charge would show."""
        deadline = time.monotonic() + SETTLING_S
        while not (charges := await self._ledger.charges(actor.user_id)) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        if charges:
            await asyncio.sleep(SECOND_CHARGE_S)
        return await self.own_charges(actor)

    async def member_charges(self, actor: Actor, org: Organization) -> list[Charge]:
        return self._as_evidence(await self._ledger.charges(actor.user_id, org.org_id))

    async def org_charges(self, org: Organization) -> list[Charge]:
        return self._as_evidence(await self._ledger.org_charges(org.org_id))

    async def ledger_balance(self, actor: Actor) -> Decimal | None:
        return await self._ledger.own_balance(actor.user_id)

    async def ledger_calls(self, actor: Actor) -> int | None:
        return await self._ledger.calls_counted(actor.user_id)

    async def stored_keys(self, actor: Actor) -> list[bytes]:
        return await self._ledger.stored_byok_keys(actor.user_id)

    async def org_statement(self, org: Organization):
        """What the ledger holds for an organization (None: it has no pool)."""
        return await self._ledger.org_statement(org.org_id)

    async def org_books(self, org: Organization) -> tuple:
        """An organization's books in the ledger: its statement, its pool and allocations, its charges."""
        org_id = org.org_id
        _, rows = await self._ledger.org_violations(org_id)
        return (await self._ledger.org_statement(org_id), sorted(repr(sorted(row.items())) for row in rows),
                len(await self._ledger.org_charges(org_id)))

    async def members(self, org: Organization) -> list[str]:
        """Who the ledger lists as the organization's members, by name and sorted; an account of no one in the
        scenario as "someone else"."""
        names = {actor.user_id: actor.name for actor in self.w.cast.values()}
        return sorted(names.get(user_id, "someone else")
                      for user_id in await self._ledger.members(org.org_id))

    async def balance_naming(self, asker: Actor, named: Actor) -> Reply[Balance]:
        """`asker` asks for a balance, naming `named`'s account in the request."""
        actor = self.w.acting(asker)
        actor.last_reply = await self.w.deployment.own_credits.balance(await actor.current_session(),
                                                                       named.account)
        return actor.last_reply

    async def byok_settings_naming(self, asker: Actor, named: Actor) -> Reply[ByokSettings]:
        actor = self.w.acting(asker)
        actor.last_reply = await self.w.deployment.keys.settings(await actor.current_session(),
                                                                 named.account)
        return actor.last_reply

    async def readable_stored_keys(self, actor: Actor) -> list[str]:
        """The reversible encodings of the run's BYOK key found in what is stored for `actor`."""
        key = self.w.services.config.byok_key
        return [form for blob in await self.stored_keys(actor) for form in readable_in(blob, key)]

    async def open_stored_keys(self, actor: Actor) -> tuple[bool, bool]:
        """Whether each stored key opens to the run's BYOK key with the configured cipher key, and whether any
        opens with another key."""
        cipher_key = self.w.services.config.byok_cipher_key
        if not cipher_key:
            raise TargetLacksPart("proving a stored key is encrypted needs Ops-Center's cipher key "
                                  "(BYOK_ENCRYPTION_KEY); this target has none")
        stored, key = await self.stored_keys(actor), self.w.services.config.byok_key.encode()
        return (bool(stored) and all(opens_with(blob, cipher_key) == key for blob in stored),
                any(opens_with_another_key(blob) for blob in stored))

    async def cached_balance(self, actor: Actor) -> Decimal | None:
        return await self.w.deployment.cache.cached_balance(actor.user_id)

    async def cached_calls(self, actor: Actor) -> int | None:
        return await self.w.deployment.cache.calls_this_period(actor.user_id)

    async def invariant_violations(self) -> list[str]:
        """The ledger's invariants for everyone in the scenario, and the provider's log against the charges;
        accounts are named by their personas. A deployment without a ledger reader has none to check."""
        if not self.w.deployment.has(Capability.LEDGER):
            return []
        problems = []
        for actor in self.w.cast.values():
            found, rows = await self._ledger.user_violations(actor.user_id)
            problems += found
            self.w.services.evidence.ledger_rows.extend(rows)
        for org in self.w.orgs.values():
            found, rows = await self._ledger.org_violations(org.org_id)
            problems += found
            self.w.services.evidence.ledger_rows.extend(rows)
        problems += await self._served_against_paid()
        problems += await self._charged_elsewhere()
        # Money in: each account's credits against what it paid at the payment provider and was granted.
        problems += await self.w.services.money.problems_of(self.w.deployment, [
            *((USER, actor.user_id) for actor in self.w.cast.values()),
            *((ORGANIZATION, org.org_id) for org in self.w.orgs.values())])
        return [self._named(problem) for problem in problems]

    async def _charged_elsewhere(self) -> list[str]:
        """No charge taken during the scenario went to an account nobody in the run holds: a product that charges
        an account of its own making (one it keys on a name it could not read, say) takes money the books of the
        scenario's accounts never show."""
        if self.w.ledger_mark is None:
            return []
        ours = self.w.services.money.holders
        elsewhere = [charge for charge in await self._ledger.charged_after(self.w.ledger_mark)
                     if (USER, charge.user_id) not in ours and (ORGANIZATION, charge.org_id) not in ours]
        if not elsewhere:
            return []
        accounts = ", ".join(sorted({f'"{charge.user_id}"' for charge in elsewhere}))
        return [f"{counted(len(elsewhere), 'charge')} of {number(sum(charge.credits for charge in elsewhere))} "
                f"credits in all went to {'an account' if accounts.count(',') == 0 else 'accounts'} that nobody in "
                f"this run holds (the product's {accounts})"]

    async def _served_against_paid(self) -> list[str]:
        """Every call the provider served on the platform's key in this scenario was paid for.

        Only that way round: a request that asks no question (a malformed one) reaches the provider without the
        scenario's name, so more charges than served calls can be the suite's blind spot, not the product's; a
        double charge is the business of the Rules that count charges."""
        try:
            provider = self.w.services.provider_double("checking that every served call was paid for")
        except TargetLacksPart:
            return []  # a remote target has no provider log to read; the ledger's own invariants still hold
        own_key = self.byok_fingerprint() if self.w.services.config.byok_key else None
        served = sum(call.served and not (own_key and call.carried(own_key))
                     for call in await provider.calls_since(self.w.scope, 0))
        charges = [charge for actor in self.w.cast.values() for charge in await self._ledger.charges(actor.user_id)]
        charges += [charge for org in self.w.orgs.values() for charge in await self._ledger.org_charges(org.org_id)]
        paid = min(sum(charge.credits > 0 for charge in charges), served)
        self.w.services.money.calls(served, paid)
        unpaid = served_unpaid("this scenario's", served, paid)
        return [unpaid] if unpaid else []

    def _named(self, text: str) -> str:
        for actor in self.w.cast.values():
            text = text.replace(actor.user_id, actor.name).replace(actor.email, actor.name)
        for org in self.w.orgs.values():
            text = text.replace(org.org_id, org.name)
        return text

    # -- billing ------------------------------------------------------------------------------
    async def billing_plans(self, customer: Actor | Organization) -> tuple[bool, dict[str, Decimal | None]]:
        """Whether billing knows a persona or an organization, and the plans it is actively subscribed to, each with
        its monthly price in dollars."""
        external_id = customer.org_id if isinstance(customer, Organization) else customer.user_id
        return await self.w.deployment.billing.customer_plans(external_id)

    async def usage_event(self, actor: Actor) -> tuple[CallResult, UsageEvent | None]:
        call = actor.succeeded_call()
        return call, await self.w.deployment.billing.usage_event(call)

    # -- the provider double ------------------------------------------------------------------
    async def _provider_calls(self, purpose: str, since: float, model: str) -> list[ProviderCall]:
        calls = await self.w.services.provider_double(purpose).calls_since(self.w.scope, since)
        return [c for c in calls if c.model and c.model.endswith(model)]

    async def provider_calls_of(self, actor: Actor) -> list[ProviderCall]:
        """The calls the provider received for `actor`'s last call, each with the fingerprint of its key."""
        call = actor.last_call
        return await self._provider_calls("seeing which key reached the provider", call.sent_at, call.model)

    async def provider_calls_of_batch(self, actor: Actor) -> list[ProviderCall]:
        """The calls the provider received since `actor`'s last batch of calls began."""
        batch = actor.batch
        if not batch:
            raise FlowError(f"{actor} has made no batch of calls in this scenario")
        return await self._provider_calls("counting the calls the provider served",
                                          min(call.sent_at for call in batch), batch[0].model)

    async def provider_calls_since(self, since: float, model: str) -> list[ProviderCall]:
        """The calls of `model` the provider received since `since` (Unix seconds), each with its key's fingerprint."""
        return await self._provider_calls("counting the calls the provider served", since, model)

    async def litellm_routed(self, actor: Actor) -> list[RoutedCall]:
        """LiteLLM's own reports of routing `actor`'s last call; it reports in batches, so they are awaited."""
        provider = self.w.services.provider_double("asking LiteLLM what it routed")
        model = actor.last_call.model
        deadline = time.monotonic() + LITELLM_REPORTS_WITHIN_S
        while True:
            reports = [r for r in await provider.litellm_reports(self.w.scope) if r.model.endswith(model)]
            if reports or time.monotonic() > deadline:
                return reports
            await asyncio.sleep(0.25)

    def byok_fingerprint(self) -> str:
        return ProviderDouble.fingerprint(self.w.services.config.byok_key)


def books_change(before: tuple, after: tuple) -> str:
    """What moved between two readings of `Books.org_books`, in words."""
    (statement_before, rows_before, charges_before), (statement_now, rows_now, charges_now) = before, after
    changes = []
    if statement_before != statement_now:
        held = [number(s.left) if s else "no pool" for s in (statement_before, statement_now)]
        changes.append(f"it held {held[0]} credits and now holds {held[1]}")
    if charges_before != charges_now:
        changes.append(f"its charges went from {number(charges_before)} to {number(charges_now)}")
    if rows_before != rows_now:
        changes.append("its pool or allocations changed")
    return "; ".join(changes)


def served_unpaid(whose: str, served: int, paid: int) -> str | None:
    """The business fact when the LLM provider served other than exactly the calls that were paid for."""
    if served == paid:
        return None
    unpaid = served - paid
    return (f"the LLM provider served {number(served)} of {whose} calls, but only {number(paid)} {was_or_were(paid)} "
            f"paid for: {number(unpaid)} {was_or_were(unpaid)} served unpaid")
