"""The reference Ops-Center: docs/contract.md, served by FastAPI.

The business lives in service.py and calls.py; this module only wires the routers and renders a
refusal's reason code as the contract's status and error body.
"""

import time
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException

from sandbox.opscenter import limits
from sandbox.opscenter.auth import Caller
from sandbox.opscenter.calls import LlmCalls
from sandbox.opscenter.routers import byok, credits, llm, organizations, payments
from sandbox.opscenter.service import OpsCenter, Refused
from sandbox.opscenter.settings import Settings

STATUSES = {
    "unauthorized": 401, "forbidden": 403, "byok_not_configured": 400, "invalid_request": 422,
    "insufficient_credits": 402, "no_credit_allocation": 402, "quota_exceeded": 429,
    "org_not_found": 404, "user_not_found": 404, "member_not_found": 404,
    "already_member": 409, "allocation_rejected": 409, "duplicate_request": 409, "ambiguous_email": 409,
    "request_id_reused": 422,
    "provider_unavailable": 502, "provider_error": 502,
    "payment_declined": 402, "payment_incomplete": 402, "payment_not_found": 404, "credits_spent": 409,
    "refund_exceeds_purchase": 409, "invalid_signature": 400, "payment_provider_error": 502,
}


def error_response(status: int, code: str, detail: str, headers: dict | None = None, **facts) -> JSONResponse:
    return JSONResponse({"error": code, "detail": detail, **facts}, status_code=status, headers=headers)


def create_app(settings: Settings | None = None) -> FastAPI:
    service = OpsCenter(settings or Settings.from_env())
    calls = LlmCalls(service)

    @asynccontextmanager
    async def lifespan(_app):
        await service.start()
        yield
        await service.stop()

    app = FastAPI(title="Ops-Center (reference)", lifespan=lifespan)
    # Pure ASGI, not @app.middleware("http"): Starlette's BaseHTTPMiddleware relays a streamed answer through a task
    # of its own, and cut a stream the provider broke off short of the pieces already sent.
    app.add_middleware(limits.InvalidSignInLimit, refusal=lambda wait_s, limit: error_response(
        429, "too_many_invalid_sign_ins", f"This address presented {limit.allowed} invalid sign-ins within "
        f"{limit.window_s} seconds; try again in {wait_s} seconds.", {"Retry-After": str(wait_s)}))

    @app.exception_handler(Refused)
    async def refused(_request, refusal: Refused):
        headers = None
        if refusal.quota is not None:
            headers = llm.rate_headers(refusal.quota)
            if refusal.code == "quota_exceeded":
                headers["Retry-After"] = str(max(refusal.quota.reset - int(time.time()), 1))
        return error_response(STATUSES[refusal.code], refusal.code, refusal.detail, headers, **refusal.facts)

    @app.exception_handler(RequestValidationError)
    async def invalid_body(_request, error: RequestValidationError):
        problems = error.errors()
        fields = [".".join(str(part) for part in item["loc"][1:]) or "body" for item in problems]
        reasons = [str(item.get("msg", "")).removeprefix("Value error, ") for item in problems]
        detail = "; ".join(f"{field}: {reason}" for field, reason in zip(fields, reasons, strict=True))
        return error_response(422, "invalid_request", f"The request is not valid: {detail}.", fields=fields)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request, error: StarletteHTTPException):
        if error.status_code == 400:  # a body that cannot be read as JSON: a bad body, like any other (422)
            return error_response(422, "invalid_request", f"The request is not valid: body: {error.detail}.",
                                  fields=["body"])
        return error_response(error.status_code, "not_found" if error.status_code == 404 else "http_error",
                              str(error.detail))

    bearer = HTTPBearer(auto_error=False, description="a Keycloak access token of Ops-Center's realm")

    async def credentials(token: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> str | None:
        return f"{token.scheme} {token.credentials}" if token is not None else None

    credentials_dep = Annotated[str | None, Depends(credentials)]

    async def authenticated(authorization: credentials_dep) -> Caller:
        return await service.caller(authorization)

    caller_dep = Annotated[Caller, Depends(authenticated)]

    @app.get("/health")
    async def health():
        return await service.health()

    app.include_router(organizations.router(service, caller_dep))
    app.include_router(credits.router(service, caller_dep))
    app.include_router(payments.router(service, caller_dep))
    app.include_router(byok.router(service, caller_dep))
    app.include_router(llm.router(calls, credentials_dep))
    return app
