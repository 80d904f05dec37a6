"""The ops-center-oss deployment: Ops-Center-OSS (github.com/Unicorn-Commander/Ops-Center-OSS) as it is built.

Its API is not the contract's: actors sign in through `POST /auth/direct-login` (the real Keycloak
checks the password) and carry the `session_token` cookie; organization credits live under
`/api/v1/org-billing/...`, members are named by their Keycloak id, BYOK keys under
`/api/v1/llm/byok/keys`; the cost of a call is `_metadata.cost_incurred`; credits are decimals (six
places) and organization debits are taken in thousandths. ../shared/notes/ops-center-oss-contract.md
maps each route, table and quirk to the product's source lines.

Three things a client of this product must do (notes §1.8), all done here: ask for an unencoded answer
(a compressed chat answer arrives empty), open a new connection per request (a 500 drops it), and read
the cookie from the raw `Set-Cookie` header.

Arrangements the product has no API for are named as such (`Arrangements`): a billed user needs a
`user_credits` row on a paying tier, and credits are given by writing a purchase; no assertion reads
what they wrote.

api.py sends its requests, answers.py reads its answers, storage.py reads its tables, Redis keys and billing and writes
the arrangements, payments.py reads the payment provider's records, builds.py (with one module a build) declares what
differs between its builds, capabilities.py does what a scenario asks, and deployment.py puts it all together.
"""

