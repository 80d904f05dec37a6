"""The LLM call: an OpenAI chat body in, the completion plus what it cost out, with the quota headers.

With `"stream": true` the completion comes as server-sent events; the last chunk carries the usage and the cost."""

from typing import Annotated, Literal

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse, StreamingResponse

from sandbox.opscenter.calls import CallRequest, LlmCalls
from sandbox.opscenter.models import ChatBody, refusals
from sandbox.opscenter.service import QuotaState


def rate_headers(quota: QuotaState) -> dict[str, str]:
    return {"X-RateLimit-Limit": str(quota.limit), "X-RateLimit-Remaining": str(max(quota.limit - quota.used, 0)),
            "X-RateLimit-Reset": str(quota.reset)}


def router(calls: LlmCalls, Credentials) -> APIRouter:  # noqa: N803 (a type alias, as FastAPI reads it)
    api = APIRouter(prefix="/api/v1/llm", responses=refusals(400, 401, 402, 404, 409, 422, 429, 502))

    @api.post("/chat/completions", responses={200: {"content": {"application/json": {}, "text/event-stream": {}},
                                                    "description": "the completion, or its stream"}})
    async def chat(
        body: ChatBody,
        authorization: Credentials,
        x_use_byok: Annotated[Literal["true", "false"] | None, Header()] = None,
        x_request_id: Annotated[str | None, Header()] = None,
        x_organization_id: Annotated[str | None, Header()] = None,
    ):
        use_byok = None if x_use_byok is None else x_use_byok == "true"
        request = CallRequest(body.model, body.max_tokens, body.model_dump(exclude_none=True), use_byok, x_request_id,
                              x_organization_id)
        if body.stream:
            streamed = await calls.stream(authorization, request)
            return StreamingResponse(streamed.events, media_type="text/event-stream",
                                     headers=rate_headers(streamed.quota) | {"X-Request-Id": streamed.request_id})
        receipt = await calls.call(authorization, request)
        completion = receipt.completion | {"cost_credits": receipt.cost, "byok_used": receipt.payer == "byok",
                                           "billed_to": receipt.payer, "request_id": receipt.request_id}
        timing = ", ".join(f"{name};dur={ms:.2f}" for name, ms in receipt.timings.items())
        headers = rate_headers(receipt.quota) | {"Server-Timing": timing, "X-Request-Id": receipt.request_id}
        return JSONResponse(completion, headers=headers)

    return api
