"""The flows a scenario belongs to, named once: a feature's tag, the title the guide's text report gives it, the
Allure epic, and the section of the contract it links to. In the order of the guide's summary."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Flow:
    tag: str
    title: str  # in the guide's text report
    epic: str  # in Allure
    contract_section: str  # an anchor of docs/contract.md


FLOWS = (
    Flow("individual", "Individual Flow", "Flow 1: Individual user", "endpoints"),
    Flow("organization", "Org Flow", "Flow 2: Organization user", "endpoints"),
    Flow("byok", "BYOK Flow", "Flow 3: BYOK user", "the-six-steps-of-an-llm-call"),
    Flow("edge", "Edge Cases", "Flow 4: Edge cases", "the-six-steps-of-an-llm-call"),
    Flow("payments", "Money In", "Money in: purchases paid at the payment provider", "money-in"),
    Flow("isolation", "Tenant Isolation", "Tenant isolation (OWASP API1, API5)", "endpoints"),
    Flow("limits", "Limits", "Limits a client cannot lift (OWASP API2, API4)", "limits-a-client-cannot-lift"),
    Flow("integration", "Integration Checklist", "Integration checklist", "storage"),
    Flow("performance", "Performance", "Performance benchmarks", "units-and-prices"),
)
OTHER = "Other"


def flow_tagged(tags) -> Flow | None:
    return next((flow for flow in FLOWS if flow.tag in tags), None)


def title_of(tags) -> str:
    """The guide's report title of the flow a scenario's tags name."""
    flow = flow_tagged(tags)
    return flow.title if flow else OTHER
