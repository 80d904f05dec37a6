"""Money conservation over a whole run: every credit the run put into an account is still in it, or was
charged from it. Checked once, after the last scenario, for every user and organization the run touched
and for their sum, so money created or lost anywhere in a run (late, or between scenarios) is caught."""

from dataclasses import dataclass, field
from decimal import Decimal

from creditflow.deployments.base import LedgerReader, Statement
from creditflow.wording import counted, number, was_or_were

USER, ORGANIZATION = "user", "organization"


@dataclass
class Holder:
    kind: str  # USER or ORGANIZATION
    key: str  # the user's or the organization's id
    label: str  # the persona and its run-unique name
    credited: Decimal = Decimal(0)  # granted, bought or given by the run
    closing: Statement | None = None  # taken before the account was removed


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

    async def check(self, ledger: LedgerReader) -> Conservation:
        problems, credited, left, charged = [], Decimal(0), Decimal(0), Decimal(0)
        for holder in self.holders.values():
            statement = await self._statement(ledger, holder)
            if statement is None:
                if holder.credited:
                    problems.append(f"{holder.kind} {holder.label}: {holder.credited} credits were put in, but the "
                                    "ledger has no such account")
                continue
            credited, left, charged = credited + holder.credited, left + statement.left, charged + statement.charged
            if holder.credited != statement.left + statement.charged:
                problems.append(f"{holder.kind} {holder.label}: {holder.credited} credits were put in, but "
                                f"{statement.left} are left and {statement.charged} were charged "
                                f"({statement.left + statement.charged - holder.credited:+} credits)")
        if credited != left + charged:
            problems.append(f"over all {counted(len(self.holders), 'account')}: {credited} credits were put in, but "
                            f"{left} are left and {charged} were charged")
        return Conservation(problems, len(self.holders), credited, left, charged, self.served, self.paid)

    @staticmethod
    async def _statement(ledger: LedgerReader, holder: Holder) -> Statement | None:
        read = ledger.own_statement if holder.kind == USER else ledger.org_statement
        return await read(holder.key) or holder.closing
