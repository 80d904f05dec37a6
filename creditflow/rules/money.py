"""Money conservation from the payment: every credit in an account came in through a payment that succeeded at the
payment provider (read from the provider, less what it refunded) or a platform admin's grant, and is still there or
was charged. Checked after each scenario for its accounts (Books), and once after the last scenario for every user
and organization the run touched and for their sum, so money created or lost anywhere in a run (late, or between
scenarios) is caught."""

from dataclasses import dataclass, field
from decimal import Decimal

from creditflow.deployments.base import PaidIn, Statement
from creditflow.deployments.declarations import Capability
from creditflow.deployments.deployment import Deployment
from creditflow.deployments.readers import LedgerReader, PaymentsReader
from creditflow.wording import counted, number, was_or_were

USER, ORGANIZATION = "user", "organization"


@dataclass
class Holder:
    kind: str  # USER or ORGANIZATION
    key: str  # the user's or the organization's id
    label: str  # the persona and its run-unique name
    # Granted by a platform admin, or put in by a product that takes no payment at the provider for it (its pool's
    # purchases, where it lacks payments): the run's own count. What was paid for is the provider's.
    credited: Decimal = Decimal(0)
    closing: Statement | None = None  # taken before the account was removed

    async def problem(self, ledger: LedgerReader,
                      payments: PaymentsReader | None) -> tuple[str | None, Decimal, Statement | None]:
        """(what is wrong with the account's money, what came in, its statement); a problem in business words."""
        statement = await (ledger.own_statement if self.kind == USER else ledger.org_statement)(self.key) \
            or self.closing
        paid = await payments.paid_in(self.kind, self.key) if payments is not None else PaidIn(Decimal(0),
                                                                                                 Decimal(0), 0)
        came_in = self.credited + paid.kept
        if statement is None:
            return ((f"{self.label}: {number(came_in)} credits came in, but the ledger has no such account"
                     if came_in else None), came_in, None)
        there = statement.left + statement.charged
        if there > came_in:
            return (f"{self.label} received {number(there - came_in)} credits more than were paid for or granted: "
                    f"{number(there)} are left or were charged, but {paid.describe()} and "
                    f"{number(self.credited)} {'was' if self.credited == 1 else 'were'} granted", came_in, statement)
        if there < came_in:
            return (f"{self.label}: {number(came_in - there)} credits that came in are neither left nor charged "
                    f"({paid.describe()}, {number(self.credited)} granted; {number(statement.left)} left, "
                    f"{number(statement.charged)} charged)", came_in, statement)
        return None, came_in, statement


@dataclass
class Conservation:
    problems: list[str]
    accounts: int
    credited: Decimal
    left: Decimal
    charged: Decimal
    served: int = 0  # calls the LLM provider served on the platform's key
    paid: int = 0  # of those, the ones the ledger charged someone for

    @property
    def holds(self) -> bool:
        return not self.problems and self.served == self.paid

    def summary(self) -> str:
        """One line a product owner reads: what broke in the money first, in words, then the accounts' books and
        the provider's calls against the charges. Never "holds" beside calls served unpaid, and never a break
        beside a sum that balances without saying which part broke."""
        accounts = counted(self.accounts, "account")
        if self.holds:
            return f"Money conservation holds over {accounts}: {self.books(balanced='')}; {self.calls()}"
        return f"Money conservation broken over {accounts}: {self.what_broke()}; {self.books()}; {self.calls()}"

    def what_broke(self) -> str:
        broke = []
        if self.served > self.paid:
            unpaid = self.served - self.paid
            broke.append(f"the LLM provider served {counted(unpaid, 'call')} on the platform's key that nobody paid "
                         f"for")
        difference = self.left + self.charged - self.credited
        if difference > 0:
            broke.append(f"{number(difference)} credits are there that nobody put in")
        elif difference < 0:
            broke.append(f"{number(-difference)} credits put in are neither left nor charged")
        if self.problems and not difference:
            unbalanced = len(self.problems)
            broke.append(f"{counted(unbalanced, 'account')} {'does' if unbalanced == 1 else 'do'} not balance, "
                         f"though the sum over all accounts does")
        return "; and ".join(broke)

    def books(self, balanced: str = "the books balance: ") -> str:
        if self.left + self.charged == self.credited:
            return (f"{balanced}{number(self.credited)} credits put in = {number(self.left)} left + "
                    f"{number(self.charged)} charged")
        return (f"the books do not balance: {number(self.credited)} credits put in, {number(self.left)} left + "
                f"{number(self.charged)} charged")

    def calls(self) -> str:
        served = f"the LLM provider served {counted(self.served, 'call')} on the platform's key"
        if self.served == self.paid:
            return served + (", each paid for" if self.served else "")
        unpaid = self.served - self.paid
        return f"{served}, but only {number(self.paid)} {was_or_were(self.paid)} paid for: {number(unpaid)} " \
               f"{was_or_were(unpaid)} served unpaid"


@dataclass
class MoneyTrail:
    """What the run put into each account it touched."""

    holders: dict[tuple[str, str], Holder] = field(default_factory=dict)
    served: int = 0  # calls the provider served on the platform's key, over the scenarios checked
    paid: int = 0

    def calls(self, served: int, paid: int) -> None:
        """One scenario's calls: what the provider served on the platform's key, and what was charged."""
        self.served += served
        self.paid += paid

    def touch(self, kind: str, key: str, label: str) -> Holder:
        return self.holders.setdefault((kind, key), Holder(kind, key, label))

    def credit(self, kind: str, key: str, label: str, amount: Decimal) -> None:
        self.touch(kind, key, label).credited += Decimal(amount)

    def close(self, kind: str, key: str, statement: Statement | None) -> None:
        """The account's last statement, taken before the system under test forgets the account."""
        if (kind, key) in self.holders and statement is not None:
            self.holders[(kind, key)].closing = statement

    async def check(self, deployment: Deployment) -> Conservation:
        problems, credited, left, charged = [], Decimal(0), Decimal(0), Decimal(0)
        payments = paid_at_provider(deployment)
        for holder in self.holders.values():
            problem, came_in, statement = await holder.problem(deployment.ledger, payments)
            if problem:
                problems.append(problem)
            if statement is not None:
                credited, left, charged = credited + came_in, left + statement.left, charged + statement.charged
        if credited != left + charged:
            problems.append(f"over all {counted(len(self.holders), 'account')}: {number(credited)} credits came in, "
                            f"but {number(left)} are left and {number(charged)} were charged")
        return Conservation(problems, len(self.holders), credited, left, charged, self.served, self.paid)

    async def problems_of(self, deployment: Deployment, accounts: list[tuple[str, str]]) -> list[str]:
        """The money-in check of some accounts (a scenario's), as `check` makes it for all."""
        payments = paid_at_provider(deployment)
        found = []
        for account in accounts:
            if account in self.holders:
                problem, _, _ = await self.holders[account].problem(deployment.ledger, payments)
                found += [problem] if problem else []
        return found


def paid_at_provider(deployment: Deployment) -> PaymentsReader | None:
    """Where the product takes payment at the provider, the provider's records tell what each account paid."""
    return deployment.payments if deployment.has(Capability.PAYMENTS) else None
