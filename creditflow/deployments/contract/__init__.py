"""The contract deployment: the guide's API, as the reference Ops-Center in sandbox/ implements it.

The API, its units and its storage are written down in docs/contract.md; this package is the only place that knows
its paths, headers and fields: api.py sends the requests, answers.py reads the answers, storage.py reads the ledger,
the cache and what billing was told, payments.py the payment provider's records, capabilities.py does what a scenario
asks through them, and deployment.py puts it all together.
"""
