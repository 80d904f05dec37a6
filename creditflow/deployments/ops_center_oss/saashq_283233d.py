"""What saashqdev/ops-center 283233d (February 2026), an earlier build of the same product, lacks, its limits on
sign-ins, the adapter's workarounds for it and the defects its own deployment files show."""

from dataclasses import replace

from creditflow.deployments.declarations import DeployedFinding, Workaround
from creditflow.deployments.ops_center_oss.oss_af179f13cf24 import (
    OSS_DEPLOYED_FINDINGS,
    OSS_LACKS,
    OSS_LIMITS,
    OSS_WORKAROUNDS,
    no_realm_tokens,
)
from creditflow.verdicts import Verdict


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
    "byok-choice": "BYOK is switched per account and provider (POST /api/v1/llm/byok/keys/{provider}/toggle, "
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
