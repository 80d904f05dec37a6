"""The builds of Ops-Center the ops-center-oss deployment speaks to, and what differs between them.

Each build is declared once, keyed by its commit: the one a checkout is or descends from, as the sandbox boots it
(sandbox/product.py, BUILDS), or the one a remote target names (OPS_CENTER_BUILD). What the adapter does differently
for a build (a route, an id's form, a feature it lacks, the lines a workaround cites) is read from its declaration
here, never guessed at run time from the product's answers.
"""

from dataclasses import dataclass, replace

from creditflow.config import Config, ConfigError
from creditflow.deployments.declarations import DeployedFinding, Limits, Workaround
from creditflow.deployments.ops_center_oss.payments import ORG_PAYMENTS, PAYMENT_REFUNDS
from creditflow.verdicts import Verdict


@dataclass(frozen=True)
class OssBuild:
    name: str  # as the conformance report names the product
    commit: str  # the build's commit, 12 hex digits
    status_path: str  # a route that answers without a sign-in once the product runs, with what it says of itself
    # The parts of the credit flow its health report checks, where it has one; () where it reports no parts
    health_parts: tuple[str, ...]
    lacks: dict[str, str]  # features this build does not have, each with why and where in its source
    limits: Limits
    workarounds: tuple[Workaround, ...]
    deployed_findings: tuple[DeployedFinding, ...]
    in_flight_at_most: int  # calls in flight its database pool takes before it deadlocks
    calls_uncounted: str  # why no count of API calls already used can be arranged: it keeps none a call is checked on


# Ops-Center-OSS af179f13cf24 (Unicorn-Commander/Ops-Center-OSS, July 2026).
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
    "byok-opt-out": "BYOK is switched per account and provider (POST /api/v1/llm/byok/keys/{provider}/toggle, "
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


def no_call_count(cap_lines: str, middleware_lines: str) -> str:
    """Why a build holds no count of API calls already used: nothing it runs counts them or checks a call on one."""
    return (f"the product keeps no count of API calls that a call is checked against: its chat handler checks credits "
            f"and a monthly spending cap in credits (backend/litellm_api.py:{cap_lines}); UsageTrackingMiddleware, "
            f"which would count calls, is not among the middleware the server mounts (backend/server.py:"
            f"{middleware_lines}); and TierEnforcementMiddleware exempts every path, \"/\" being among its exempt "
            "prefixes (backend/tier_enforcement_middleware.py:35-36, 165-167)")


def deducted_twice(handler_lines: str, middleware_lines: str) -> str:
    """Why a build that charges in its chat handler and again in its credit middleware has no phase to time."""
    return (f"credit deduction runs inside the chat handler (backend/litellm_api.py:{handler_lines}) and again in the "
            f"credit middleware after the handler returns (backend/credit_deduction_middleware.py:{middleware_lines}); "
            "the product reports no timing of either (no Server-Timing, no metric): only the whole call can be timed")


# saashqdev/ops-center 283233d (February 2026), an earlier build of the same product. Where a text below differs from
# Ops-Center-OSS's only in its lines, the fact is the same; where the fact differs, the text says what this build does.
# The same limits as Ops-Center-OSS's (alert_conditions.py is byte-identical), at its own lines.
SAASHQ_LIMITS = replace(
    OSS_LIMITS,
    rate_keyed_on="the first X-Forwarded-For address (else the connection's peer) and the user name given "
                  "(backend/rate_limiter.py:340-349)",
    rate_seen_at="backend/rate_limiter.py:52, :175-190; backend/server.py:5390-5411")
SAASHQ_LACKS = {
    "grant-by-email": OSS_LACKS["grant-by-email"],  # the same model and route, at the same lines
    "phase-timing": deducted_twice("1305-1340", "547-573"),
    "allocate-by-email": "an organization admin names the member of an allocation by user id only "
                         "(UserCreditAllocationCreate, backend/org_billing_api.py:107-112); nothing in the product "
                         "allocates to an e-mail",
    "sign-in-lockout": "the product locks no account after failed sign-ins: nothing in backend/ counts an account's "
                       "failures (its failed logins only raise an alert per address, backend/alert_conditions.py:"
                       "310-330); its own limit on sign-ins, 5 a minute per address and user name "
                       "(backend/rate_limiter.py:52, :340-349), is judged by the Rules of invalid sign-ins, and "
                       "whether Keycloak locks an account is the operator's realm's setting, which the product does "
                       "not ship",
    "org-payments": "an organization's pool is never paid for at a payment provider: its purchase, POST "
                    "/api/v1/org-billing/credits/{org_id}/add, adds the credits and calls no provider "
                    "(backend/org_billing_api.py:514-581; its own page says it simulates the purchase, "
                    "src/pages/organization/CreditPurchase.jsx:151-152), so there is no card on file, payment, event "
                    "or refund of an organization's to try",
    "payment-refunds": "nothing gives back the money of a purchase of credits: stripe.Refund.create is called only "
                       "for add-ons (backend/stripe_extensions.py:248), and the one charge.refunded handler "
                       "(backend/stripe_webhook_handler.py:39, :247-305) is for add-ons and imported by no module",
    "byok-opt-out": "BYOK is switched per account and provider (POST /api/v1/llm/byok/keys/{provider}/toggle, "
                    "backend/litellm_api.py:2788); a chat request carries no BYOK choice (ChatCompletionRequest, "
                    "backend/litellm_api.py:322-332)",
    # Not a feature a scenario needs: what the clean-up after a scenario cannot do (its workaround below).
    "org-deletion": "no route deletes an organization: backend/org_api.py declares none (its routes, :168-1164), "
                    "org_manager.py has no method that would (:260-628), and the tenant deletion of its admin API "
                    "(tenant_management_api.py:717-765) looks up PostgreSQL's `organizations`, where this build's "
                    "organizations, kept in org_manager's files (org_manager.py:290), are not",
    "org-named-in-call": "a chat request cannot name the organization that pays: the product reads an "
                         "`active_org_id` from the request's state (org_credit_integration.py:64-70), but the chat "
                         "route hands it the state of its JSON body, which has none (backend/litellm_api.py:916), "
                         "and ChatCompletionRequest carries no organization (litellm_api.py:322-332); its lookup of a "
                         "member's organization asks `organization_members.is_default`, which its SQL files do not "
                         "create (org_credit_integration.py:76-83), so a member pays from her own credits",
    "realm-tokens": no_realm_tokens("683, 798"),
}
SAASHQ_WORKAROUNDS = (
    Workaround(
        "Every user the suite enrolls gets a `user_credits` row on the tier of their plan, written by the adapter. The "
        "product writes none itself at sign-in (backend/server.py:5380-5527 tries no wallet; only its own "
        "registration route writes one, keyed by e-mail, server.py:5184-5187), and a user without one is on the free "
        "tier (litellm_credit_system.py:666-674), which this build does not exempt: the handler debits whenever the "
        "cost is above zero (litellm_api.py:1303) and the debit answers 404 for a user without a row "
        "(litellm_credit_system.py:313-314), after the provider served the call. A user the scenarios enroll as only "
        "signed up gets no row from the adapter; their first balance read makes one, with the trial tier's 5 credits "
        "that nobody paid for (credit_system.py:57, 134-137, 167-191), as a scenario shows.",
        "The same: a user who has only signed in has no row until a balance read makes one with 5 unpaid credits; "
        "before that, each of their calls is served by the provider and then answered 404."),
    Workaround(
        "The credits a scenario starts with are written as a `purchase` transaction added to the wallet, and the "
        "cached balance is dropped, as the product's own credit_credits does (litellm_credit_system.py:424-478): its "
        "admin grant (POST /api/v1/credits/allocate) updates `credits_remaining` (credit_system.py:255-263) but logs "
        "the grant as a transaction of type `allocation` (credit_system.py:266-272), which the table's CHECK refuses "
        "(create_credit_system_tables.sql:43-45), and answers 500; the scenarios of the grant itself call it.",
        "The same: the same CHECK refuses it there (the `balance_after` column its log also names is there too, added "
        "by 003_fix_schema_mismatches.sql:12-13)."),
    Workaround(
        "Requests ask for an unencoded answer (Accept-Encoding: identity): a chat answer compressed by the product's "
        "GZip middleware arrives empty (credit_deduction_middleware.py:275-294). In this build an unencoded answer "
        "the credit middleware can read is then charged a second time, to the account it names `unknown` "
        "(credit_deduction_middleware.py:187-188, :554-573): the scenarios show that charge.",
        "The same, and it costs the caller either way: GZip is mounted (server.py:459) inside the credit middleware "
        "(server.py:542), which drains a compressed answer and never restores it (credit_deduction_middleware.py:"
        "276-294), so a browser or the OpenAI SDK, which ask for gzip, gets an empty 200 for any answer of 1,000 "
        "bytes or more, after the debit (litellm_api.py:1329); an answer under 1,000 bytes, which GZip leaves as it "
        "is, is charged again, to `unknown` (credit_deduction_middleware.py:565-573)."),
    Workaround(
        OSS_WORKAROUNDS[3].what,
        "No difference a client sees, as far as its files tell: behind its Traefik (docker-compose.direct.yml:"
        "153-206) the connection the backend drops after a 500 is the proxy's, and the client still reads the 500."),
    Workaround(
        "The product sets its session cookie without a Domain whatever `EXTERNAL_HOST` is (server.py:5489-5496), and "
        "each actor keeps its own session cookie, read from Set-Cookie.",
        "No difference a browser on the app's host sees: `EXTERNAL_HOST=kubeworkz.io` and https "
        "(docker-compose.direct.yml:100-101) give a host-only cookie, `SameSite=Lax`, `Secure` only if the backend "
        "sees an https URL (server.py:5493-5494), which behind Traefik without --forwarded-allow-ips it does not "
        "(Dockerfile:72)."),
    Workaround(
        "Each user calls from an address of their own in 127.0.0.0/8: the product allows 1,000 requests an hour per "
        "address and path (backend/server.py:475-476, slowapi's default key), which the suite, run from one machine, "
        "would otherwise cross on every user's behalf.",
        OSS_WORKAROUNDS[5].as_deployed),
    Workaround(
        OSS_WORKAROUNDS[6].what,
        "The same deadlock: the pool of 10 connections is the code's (server.py:576-584), whatever runs it."),
    Workaround(
        "Calls a scenario sends at once are held at their first step in the product, the provider lookup "
        "(litellm_api.py:999-1007), by a lock on `llm_providers`, until they are all in flight (at most 5 s), then "
        "let go together: \"at once\" means at once in every run, so what the product does with that many calls in "
        "flight is the same in every run.",
        OSS_WORKAROUNDS[7].as_deployed),
    Workaround(
        "The organizations a scenario creates stay in the product's files after it: no route deletes one ("
        "backend/org_api.py declares none, its routes at :168-1164); the sandbox gives the product an empty folder "
        "for its files at each start.",
        "The same: an organization, once created, stays."),
)
SAASHQ_DEPLOYED_FINDINGS = (
    DeployedFinding(
        Verdict.MONEY_OR_SECURITY.value,
        OSS_DEPLOYED_FINDINGS[0].claim,
        OSS_DEPLOYED_FINDINGS[0].as_deployed,
        "docker-compose.direct.yml:153-206 routes /api and /auth to the backend through Traefik, which connects from "
        "its own container address; the backend runs `uvicorn server:app --host 0.0.0.0 --port 8084` "
        "(Dockerfile:72) without --forwarded-allow-ips, so uvicorn believes X-Forwarded-For only from 127.0.0.1 and "
        "request.client.host is Traefik's address for every user; the limits key on that address (server.py:475-476 "
        "with slowapi's get_remote_address; org_billing_api.py:38, 207, 515, 585)",
        OSS_DEPLOYED_FINDINGS[0].unmet),
)


# Ops-Center-OSS at its tag v2.5.0 (2d65da407a3d, February 2026), on a line of history of its own: neither build above
# is in its history. As saashqdev's build, its credit middleware charges a second time, to `unknown`.
# Its rate_limiter.py is saashqdev's at the lines cited; its sign-in checks it at its own lines.
V2_5_0_LIMITS = replace(SAASHQ_LIMITS, rate_seen_at="backend/rate_limiter.py:52, :175-190; backend/server.py:5328-5353")
V2_5_0_LACKS = {
    "grant-by-email": OSS_LACKS["grant-by-email"],  # the same model and route, at the same lines
    "phase-timing": deducted_twice("1311-1369", "632-657"),
    "allocate-by-email": SAASHQ_LACKS["allocate-by-email"],  # UserCreditAllocationCreate at the same lines
    "invite-by-email": "an organization owner adds a member by user id only (OrganizationMemberAdd, "
                       "backend/org_api.py:30-33, stored as given in the product's organization files, "
                       "org_api.py:640-644, org_manager.py:422-475); nothing in the product looks an account up by its "
                       "e-mail to add it",
    "sign-in-lockout": SAASHQ_LACKS["sign-in-lockout"],  # the same files at the same lines
    "org-payments": "an organization's pool is never paid for at a payment provider: its purchase, POST "
                    "/api/v1/org-billing/credits/{org_id}/add, adds the credits and calls no provider "
                    "(backend/org_billing_api.py:520-589; its own page says it simulates the purchase, "
                    "src/pages/organization/CreditPurchase.jsx:151-152), so there is no card on file, payment, event "
                    "or refund of an organization's to try",
    "payment-refunds": SAASHQ_LACKS["payment-refunds"],  # the same files at the same lines
    "byok-opt-out": "BYOK is switched per account and provider (POST /api/v1/llm/byok/keys/{provider}/toggle, "
                    "backend/litellm_api.py:2899); a chat request carries no BYOK choice (ChatCompletionRequest, "
                    "backend/litellm_api.py:353-363)",
    "org-deletion": "no route deletes an organization: backend/org_api.py declares none (its routes, :151-942), "
                    "org_manager.py has no method that would (:260-628), and no admin API of this build deletes one; "
                    "this build's organizations are kept in org_manager's files (org_manager.py:290)",
    "org-named-in-call": "a chat request cannot name the organization that pays: the product reads an "
                         "`active_org_id` from the request's state (org_credit_integration.py:64-70), but the chat "
                         "route hands it the state of its JSON body, which has none (backend/litellm_api.py:911), "
                         "and ChatCompletionRequest carries no organization (litellm_api.py:353-363); its lookup of a "
                         "member's organization asks `organization_members.is_default`, which its SQL files do not "
                         "create (org_credit_integration.py:76-83), so a member pays from her own credits",
    "realm-tokens": no_realm_tokens("674, 793"),
}
V2_5_0_WORKAROUNDS = (
    Workaround(
        "Every user the suite enrolls gets a `user_credits` row on the tier of their plan, written by the adapter. The "
        "product writes none itself: its sign-in tries one only when it provisions an organization for a non-admin "
        "user without one (backend/server.py:5410-5425), and that attempt fails (server.py:634-643, "
        "credit_system.py:170-205); a user without one is on the free tier (litellm_credit_system.py:688-701), exempt "
        "from the handler's charges (litellm_api.py:70, :1326-1331), though the credit middleware still charges their "
        "answers to the account it names `unknown` (credit_deduction_middleware.py:554, :632-657).",
        "The same: its sign-in's attempt fails there too (an e-mail passed as a uuid, credit_system.py:173; an INSERT "
        "naming a `balance` column that no schema or migration of the product creates, credit_system.py:196-205), so "
        "a user who has only signed in is served free by the handler, as a scenario shows."),
    Workaround(
        "The credits a scenario starts with are written as a `purchase` transaction added to the wallet, and the "
        "cached balance is dropped, as the product's own credit_credits does (litellm_credit_system.py:425-479): its "
        "admin grant (POST /api/v1/credits/allocate) reads a `balance` column `user_credits` lacks "
        "(credit_system.py:264-267) and answers 500; the scenarios of the grant itself call it.",
        OSS_WORKAROUNDS[1].as_deployed),  # the same lines, credit_system.py:265, 282
    Workaround(
        "Requests ask for an unencoded answer (Accept-Encoding: identity): a chat answer compressed by the product's "
        "GZip middleware arrives empty (credit_deduction_middleware.py:345-363). In this build an unencoded answer the "
        "credit middleware can read is then charged a second time, to the account it names `unknown` "
        "(credit_deduction_middleware.py:256-257, :632-657): the scenarios show that charge.",
        "The same, and it costs the caller either way: GZip is mounted (server.py:679) inside the credit middleware "
        "(server.py:765), which drains a compressed answer and never restores it (credit_deduction_middleware.py:"
        "345-363), so a browser or the OpenAI SDK, which ask for gzip, gets an empty 200 for any answer of 1,000 bytes "
        "or more, after the debit (litellm_api.py:1358); an answer under 1,000 bytes, which GZip leaves as it is, is "
        "charged again, to `unknown` (credit_deduction_middleware.py:649-657)."),
    Workaround(
        OSS_WORKAROUNDS[3].what,
        "No difference a client sees, as far as its files tell: behind its Traefik (docker-compose.direct.yml:"
        "59-104) the connection the backend drops after a 500 is the proxy's, and the client still reads the 500."),
    Workaround(
        "The product runs with `EXTERNAL_HOST=localhost`, for which it sets its session cookie without a Domain "
        "(server.py:5455-5456), and each actor keeps its own session cookie, read from Set-Cookie.",
        "No difference a browser sees: its operator sets `EXTERNAL_HOST` to the domain its Traefik rules name "
        "(docker-compose.direct.yml:23-24, :67-95), which gives `Domain=.<that domain>; Secure; SameSite=None` "
        "(server.py:5446-5456), which a browser on that domain accepts."),
    Workaround(
        "Each user calls from an address of their own in 127.0.0.0/8: the product allows 1,000 requests an hour per "
        "address and path (backend/server.py:695-696, slowapi's default key), which the suite, run from one machine, "
        "would otherwise cross on every user's behalf.",
        OSS_WORKAROUNDS[5].as_deployed),
    Workaround(
        OSS_WORKAROUNDS[6].what,
        "The same deadlock: the pool of 10 connections is the code's (server.py:799-807), whatever runs it."),
    Workaround(
        "Calls a scenario sends at once are held at their first step in the product, the provider lookup "
        "(litellm_api.py:997-1015), by a lock on `llm_providers`, until they are all in flight (at most 5 s), then "
        "let go together: \"at once\" means at once in every run, so what the product does with that many calls in "
        "flight is the same in every run.",
        OSS_WORKAROUNDS[7].as_deployed),
    Workaround(
        "The organizations a scenario creates, and the one the product's sign-in creates for every non-admin user "
        "without one (backend/server.py:5410-5425), stay in the product's files after it: no route deletes one "
        "(backend/org_api.py declares none, its routes at :151-942); the sandbox gives the product an empty folder "
        "for its files at each start.",
        "The same: an organization, once created, stays."),
)
V2_5_0_DEPLOYED_FINDINGS = (
    DeployedFinding(
        Verdict.MONEY_OR_SECURITY.value,
        OSS_DEPLOYED_FINDINGS[0].claim,
        OSS_DEPLOYED_FINDINGS[0].as_deployed,
        "docker-compose.direct.yml:59-104 routes /api and /auth to the backend through Traefik, which connects from "
        "its own container address; the backend runs `uvicorn server:app --host 0.0.0.0 --port 8084` "
        "(Dockerfile:60) without --forwarded-allow-ips, so uvicorn believes X-Forwarded-For only from 127.0.0.1 and "
        "request.client.host is Traefik's address for every user; the limits key on that address (server.py:695-696 "
        "with slowapi's get_remote_address; org_billing_api.py:38, 209, 521, 593)",
        OSS_DEPLOYED_FINDINGS[0].unmet),
)

OPS_CENTER_OSS = OssBuild(
    name="Ops-Center-OSS af179f13cf24", commit="af179f13cf24",
    status_path="/api/v1/system/status",  # public by design (auth_middleware.py:44)
    health_parts=(),
    lacks=OSS_LACKS, limits=OSS_LIMITS, workarounds=OSS_WORKAROUNDS, deployed_findings=OSS_DEPLOYED_FINDINGS,
    in_flight_at_most=9,  # its asyncpg pool of 10 deadlocks with 10 calls in flight (server.py:881-889)
    calls_uncounted=no_call_count("942-947", "381-847"),
)
SAASHQ_OPS_CENTER = OssBuild(
    name="saashqdev/ops-center 283233d38107", commit="283233d38107",
    # Its system status asks for a sign-in (server.py:2266-2267); its health report does not (health_check_api.py:180)
    status_path="/api/v1/health",
    # Its report checks PostgreSQL and Redis, and beside them the host's Docker containers and its CPU, memory and
    # disk (health_check_api.py:193-208), which are the machine's, not parts of the credit flow.
    health_parts=("postgres", "redis"),
    lacks=SAASHQ_LACKS, limits=SAASHQ_LIMITS, workarounds=SAASHQ_WORKAROUNDS,
    deployed_findings=SAASHQ_DEPLOYED_FINDINGS,
    in_flight_at_most=9,  # its asyncpg pool of 10 (server.py:576-584), taken twice by a call as in Ops-Center-OSS
    calls_uncounted=no_call_count("938-943", "356-542"),
)
OPS_CENTER_OSS_V2_5_0 = OssBuild(
    name="Ops-Center-OSS v2.5.0 2d65da407a3d", commit="2d65da407a3d",
    status_path="/api/v1/system/status",  # public: an optional sign-in (server.py:2306-2307, :2254-2259)
    health_parts=(),  # no health report of its parts
    lacks=V2_5_0_LACKS, limits=V2_5_0_LIMITS, workarounds=V2_5_0_WORKAROUNDS,
    deployed_findings=V2_5_0_DEPLOYED_FINDINGS,
    in_flight_at_most=9,  # its asyncpg pool of 10 (server.py:799-807), taken twice by a call (litellm_api.py:994, 1045)
    calls_uncounted=no_call_count("933-938", "344-765"),
)
BUILDS = (OPS_CENTER_OSS, SAASHQ_OPS_CENTER, OPS_CENTER_OSS_V2_5_0)


def build_named(version: str) -> OssBuild:
    """The build a version names: its commit, or that commit with the sandbox's "-modified" for a changed copy."""
    for build in BUILDS:
        if version and version.startswith(build.commit):
            return build
    known = ", ".join(f"{build.commit} ({build.name})" for build in BUILDS)
    raise ConfigError(f"the ops-center-oss deployment knows no build {version or '(none named)'}: name one of {known} "
                      "in OPS_CENTER_BUILD, or declare the new one in creditflow/deployments/ops_center_oss/builds.py")


def build_of(config: Config) -> OssBuild:
    """The build the run speaks to: the one the sandbox booted, or the one a remote target names."""
    return build_named(config.ops_center_build or config.ops_center_version)
