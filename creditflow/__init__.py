"""creditflow: the support library of the Ops-Center credit-flow acceptance suite.

One client per real system (api, identity, ledger, cache, billing, provider), the business-level
driver the steps call (flow), and what the reports are made of (evidence, metrics, reports).
"""
