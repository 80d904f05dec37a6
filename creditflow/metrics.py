"""Latency samples per measured operation, summarised against the guide's budgets."""

import math
import statistics
from collections import defaultdict

# The guide's "Performance Benchmarks", in milliseconds.
BUDGETS_MS = {
    "authentication": 500,
    "credit deduction": 100,
    "usage tracking": 50,
    "organization queries": 200,
}


def percentile(samples: list[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest sample with at least `fraction` of all samples at or below it."""
    ordered = sorted(samples)
    if not ordered:
        raise ValueError("no samples")
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


class Metrics:
    def __init__(self, under_load: bool = False):
        self.samples: dict[str, list[float]] = defaultdict(list)
        # Samples taken while other work loads the stack (a shard beside other shards) are listed apart, unjudged.
        self._suffix = " under load" if under_load else ""

    def add(self, operation: str, milliseconds: float) -> None:
        name = operation if operation.endswith(" under load") else operation + self._suffix
        self.samples[name].append(milliseconds)

    def summary(self, operation: str) -> dict:
        samples = self.samples[operation]
        budget = BUDGETS_MS.get(operation)
        p95 = percentile(samples, 0.95)
        return {
            "count": len(samples),
            "p50_ms": round(statistics.median(samples), 2),
            "p95_ms": round(p95, 2),
            "max_ms": round(max(samples), 2),
            "budget_ms": budget,
            "within_budget": None if budget is None else p95 < budget,
        }

    def report(self) -> dict:
        return {operation: self.summary(operation) for operation in sorted(self.samples) if self.samples[operation]}
