"""Numbers in words a product owner reads: thousands separated, nouns and verbs agreeing with the count."""

from decimal import Decimal


def number(value: int | Decimal) -> str:
    """10000 -> "10,000"; a decimal keeps its fraction, without trailing zeros: Decimal("2500.50") -> "2,500.5"."""
    shown = f"{value:,}"
    return shown.rstrip("0").rstrip(".") if isinstance(value, Decimal) and "." in shown else shown


def counted(count: int | Decimal, noun: str, plural: str | None = None) -> str:
    """ "1 call", "10,000 calls", "2 accounts"; `plural` where adding an s is wrong."""
    return f"{number(count)} {noun if count == 1 else plural or noun + 's'}"


def was_or_were(count: int | Decimal) -> str:
    return "was" if count == 1 else "were"


def figure(value: int | Decimal | None, missing: str = "no figure") -> str:
    """A number a product gave, as a reader takes it; `missing` where it gave none."""
    return missing if value is None else number(value)


def listing(names: list[str]) -> str:
    """["Alice", "Max", "Olivia"] -> "Alice, Max and Olivia"; none -> "no one"."""
    if not names:
        return "no one"
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def dollars(value: Decimal) -> str:
    """An amount of money as people write it: $10.00, $1,250.50."""
    return f"${value:,.2f}"


def of_length(text: str, length: int) -> str:
    """`text`, cut or padded with x's to exactly `length` characters."""
    return text.ljust(length, "x")[:length]
