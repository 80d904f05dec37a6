"""What Ops-Center-OSS af179f13cf24 (Unicorn-Commander/Ops-Center-OSS, July 2026) lacks, its limits on sign-ins, the
adapter's workarounds for it and the defects its own deployment files show, each with the lines of its source."""

from creditflow.deployments.declarations import DeployedFinding, Limits, Workaround
from creditflow.deployments.ops_center_oss.payments import ORG_PAYMENTS, PAYMENT_REFUNDS
from creditflow.verdicts import Verdict

# Its own limit on sign-ins (backend/rate_limiter.py): 5 attempts a minute, every attempt counted, successes too
# (:52, :181-196), checked before Keycloak is asked (server.py:5836-5857). It locks no account of its own: nothing in
# backend/ counts an account's failures. Its 1,000 requests an hour (server.py:379-381, 750-751) is
# per address and path, in memory, and is not judged here: reaching it takes 1,000 requests a scenario.
OSS_LIMITS = Limits(
    failed_sign_ins_before_lockout=None, lockout_keyed_on="nothing: the product locks no account",
    lockout_seen_at="no lockout in backend/; failed logins raise an alert only (backend/alert_conditions.py:310-330)",
    invalid_sign_ins_per_window=5, window_s=60,
    rate_keyed_on="the first X-Forwarded-For address (else the connection's peer) and the user name given "
                  "(backend/rate_limiter.py:346-355)",
    rate_seen_at="backend/rate_limiter.py:52, :181-196; backend/server.py:5836-5857")


def no_realm_tokens(user_id_lines: str) -> str:
    """Why a build takes no token of the Keycloak realm from a client, whichever key signed it."""
    return ("the product takes no token of the Keycloak realm from a client: its sessions are its own cookie, and the "
            f"chat route's bearer JWT is its own, checked as HS256 with the product's secret (get_user_id, "
            f"backend/litellm_api.py:{user_id_lines}; validate_jwt_token, backend/api_key_manager.py:38, 312-328), so "
            "a key the realm publishes signs nothing the product reads from a client")


OSS_LACKS = {
    "grant-by-email": "a platform administrator grants credits to a user id only (POST /api/v1/credits/allocate "
                      "takes user_id, backend/credit_api.py:127-131); nothing in the product grants credits to an "
                      "e-mail",
    "phase-timing": "credit deduction runs inside the chat handler (backend/litellm_api.py:1518-1553) and the "
                    "product reports no timing of it (no Server-Timing, no metric): only the whole call can be "
                    "timed",
    "allocate-by-email": "an organization admin names the member of an allocation by user id only "
                         "(UserCreditAllocationCreate, backend/org_billing_api.py:119-124); nothing in the "
                         "product allocates to an e-mail",
    "invite-by-email": "an organization owner adds a member by user id only (OrganizationMemberAdd, "
                       "backend/org_api.py:97-100, stored as given, org_api.py:938-946); nothing in the product "
                       "looks an account up by its e-mail to add it",
    "sign-in-lockout": "the product locks no account after failed sign-ins: nothing in backend/ counts an "
                       "account's failures (its failed logins only raise an alert per address, "
                       "backend/alert_conditions.py:310-330); its own limit on sign-ins, 5 a minute per address "
                       "and user name (backend/rate_limiter.py:52, :346-355), is judged by the Rules of invalid "
                       "sign-ins, and whether Keycloak locks an account is the operator's realm's setting, which "
                       "the product does not ship",
    "org-payments": ORG_PAYMENTS,
    "payment-refunds": PAYMENT_REFUNDS,
    "byok-choice": "BYOK is switched per account and provider (POST /api/v1/llm/byok/keys/{provider}/toggle, "
                    "backend/litellm_api.py:3151); a chat request carries no BYOK choice (ChatCompletionRequest, "
                    "backend/litellm_api.py:359-370)",
    "org-named-in-call": "a chat request cannot name the organization that pays: the product reads an "
                         "`active_org_id` from the request's state (org_credit_integration.py:64-70), but the chat "
                         "route hands it the state of its JSON body, which has none (backend/litellm_api.py:920), "
                         "and ChatCompletionRequest carries no organization (litellm_api.py:360-371); a member of "
                         "two pays with her default organization, else the one she joined last "
                         "(org_credit_integration.py:75-98)",
    "realm-tokens": no_realm_tokens("681, 802"),
}
OSS_WORKAROUNDS = (
    Workaround(
        "Every user the suite enrolls gets a `user_credits` row on the tier of their plan, written by the adapter. "
        "The product writes none itself: its sign-in's attempt fails (backend/server.py:686-696, "
        "credit_system.py:170-205), and a user without one is on the free tier, exempt from charges "
        "(litellm_credit_system.py:729-740).",
        "The same: its sign-in's attempt fails there too (an e-mail passed as a uuid, credit_system.py:173; an "
        "INSERT naming a `balance` column that no schema or migration of the product creates, "
        "credit_system.py:197-203), so a user who has only signed up is served free, as a scenario shows."),
    Workaround(
        "The credits a scenario starts with are written as a `purchase` transaction added to the wallet, and the "
        "cached balance is dropped, as the product's own credit_credits does (litellm_credit_system.py:446-500): "
        "its admin grant (POST /api/v1/credits/allocate) reads a `balance` column `user_credits` lacks "
        "(credit_system.py:264-267) and answers 500; the scenarios of the grant itself call it.",
        "The same: the grant reads and writes the `balance` column there too (credit_system.py:265, 282) and "
        "answers 500."),
    Workaround(
        "Requests ask for an unencoded answer (Accept-Encoding: identity): a chat answer compressed by the "
        "product's GZip middleware arrives empty (credit_deduction_middleware.py:427-445).",
        "The same, and it costs the caller: GZip is mounted (server.py:734) inside the credit middleware "
        "(server.py:847), which drains a compressed answer and never restores it "
        "(credit_deduction_middleware.py:430-446), so a browser or the OpenAI SDK, which ask for gzip, gets an "
        "empty 200 for any answer of 1,000 bytes or more, after the debit (litellm_api.py:1542); the scenario of "
        "a client that accepts compressed answers shows it."),
    Workaround(
        "Each request opens a new connection: after an unhandled error the product drops the connection it used.",
        "No difference a client sees, as far as its files tell: behind its Traefik (docker-compose.direct.yml:"
        "78-123) the connection the backend drops after a 500 is the proxy's, and the client still reads the 500."),
    Workaround(
        "The product runs with `EXTERNAL_HOST=localhost`, for which it sets its session cookie without a Domain "
        "(server.py:5984-5985), and each actor keeps its own session cookie, read from Set-Cookie.",
        "No difference a browser sees: `EXTERNAL_HOST=magicunicorn.dev` and https (docker-compose.direct.yml:"
        "23-24) give `Domain=.magicunicorn.dev; Secure; SameSite=None` (server.py:5979-5985), which a browser on "
        "that domain accepts."),
    Workaround(
        "Each user calls from an address of their own in 127.0.0.0/8: the product allows 1,000 requests an hour "
        "per address and path (backend/server.py:750-751, slowapi's default key), which the suite, run from one "
        "machine, would otherwise cross on every user's behalf.",
        "Differs, and the difference is a defect (a finding below): behind its Traefik every request reaches the "
        "backend from the proxy's one address, so that limit, and the 20 a minute on an organization's "
        "purchases and allocations, are shared by all users."),
    Workaround(
        "The 700 calls before the quota is tested go 9 at a time: with 10 in flight the product's pool deadlocks "
        "(the scenarios of simultaneous calls show it), and the quota's Rule is not about simultaneity.",
        "The same deadlock: the pool of 10 connections is the code's (server.py:881-889), whatever runs it."),
    Workaround(
        "Calls a scenario sends at once are held at their first step in the product, the provider lookup, by a "
        "lock on `llm_providers`, until they are all in flight (at most 5 s), then let go together: \"at once\" "
        "means at once in every run, so what the product does with that many calls in flight is the same in "
        "every run.",
        "Nothing the product does differs: the hold makes \"at once\" the same in every run, as it is in a "
        "burst of real traffic."),
)
OSS_DEPLOYED_FINDINGS = (
    DeployedFinding(
        Verdict.MONEY_OR_SECURITY.value,
        "one user's traffic does not use up another user's limit (docs/contract.md#limits)",
        "behind the proxy its deployment files put it behind, every user reaches the backend from the proxy's one "
        "address, so one user's 1,000 requests an hour to a path (and 20 a minute to an organization's purchase "
        "or allocation) refuse every other user's",
        "docker-compose.direct.yml:78-123 routes /api and /auth to the backend through Traefik, which connects "
        "from its own container address; the backend runs `uvicorn server:app --host 0.0.0.0 --port 8084` "
        "(Dockerfile:82) without --forwarded-allow-ips, so uvicorn believes X-Forwarded-For only from 127.0.0.1 "
        "and request.client.host is Traefik's address for every user; the limits key on that address "
        "(server.py:750-751 with slowapi's get_remote_address; org_billing_api.py:50, 221, 533, 605)",
        "the sandbox gives each user an address of their own (see How the product was run)"),
)
