"""The contract's prices, kept here as the suite's own oracle (never imported from the system under test)."""

import math

# Credits per 1,000 tokens (contract: "Units and prices").
RATES = {"gpt-3.5-turbo": 90, "gpt-4": 480, "gpt-4-turbo": 240, "claude-3-sonnet": 150}
PLAN_CALL_LIMITS = {"trial": 700, "professional": 10_000, "platform": 10_000}


def credits_for(model: str, tokens: int) -> int:
    if model not in RATES:
        raise ValueError(f"the contract prices no model called {model!r}")
    return math.ceil(tokens * RATES[model] / 1000)
