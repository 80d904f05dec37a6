"""What Ops-Center-OSS at its tag v2.5.0 (2d65da407a3d, February 2026) lacks, its limits on sign-ins, the adapter's
workarounds for it and the defects its own deployment files show."""

from dataclasses import replace

from creditflow.deployments.declarations import DeployedFinding, Workaround
from creditflow.deployments.ops_center_oss.oss_af179f13cf24 import (
    OSS_DEPLOYED_FINDINGS,
    OSS_LACKS,
    OSS_WORKAROUNDS,
    no_realm_tokens,
)
from creditflow.deployments.ops_center_oss.saashq_283233d import SAASHQ_LACKS, SAASHQ_LIMITS, deducted_twice
from creditflow.verdicts import Verdict

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
    "byok-choice": "BYOK is switched per account and provider (POST /api/v1/llm/byok/keys/{provider}/toggle, "
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
