"""An OpenAI/OpenRouter-compatible provider double: deterministic answers and token usage.

It stands in for the LLM providers, which cannot be reached offline. Usage is the call's token budget
(`max_tokens`, 100 by default), or the share of it that `/_double/usage` asks for (a real provider
reports what it used, usually less), so credit costs are predictable. With `"stream": true` it answers
with server-sent events as OpenAI does: one completion token per chunk, then, when the request asked
with `stream_options.include_usage`, a last chunk with no choices and the usage; `/_double/stream`
paces the chunks, can leave the usage out, as some providers do, or break the stream off mid-answer. It
records which key each call carried as a SHA-256 fingerprint and a short hint: enough to prove a BYOK key was used,
without keeping the key itself. `/_double/fault` makes the next calls fail (HTTP 500 or a stall). A
request a real provider would refuse (an unknown model, no messages, a budget that is not a positive
whole number, or more tokens than the model's context holds) is refused with 400, as OpenRouter does.

Every setting applies to one scope: a call belongs to the scope named in brackets at the end of one of its
messages ("... [scenario-3fa2b1-17]"), which any gateway passes on unchanged. A scenario's settings thus
touch its own calls only, however many runs share the stack; a setting without a scope applies to the
calls that name none. The request log says each call's scope, and can be read for one scope.
"""

import asyncio
import hashlib
import json
import math
import re
import time
import uuid

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

PROMPT_TOKENS = 10
DEFAULT_TOKENS = 100
# The models a provider serves (the testing guide's), named alone or under their provider ("openai/gpt-4"),
# each with the tokens its context holds: a budget beyond it is refused.
CONTEXT_TOKENS = {"gpt-3.5-turbo": 4_096, "gpt-4": 8_192, "gpt-4-turbo": 128_000, "claude-3-sonnet": 200_000}
SCOPE = re.compile(r"\[([A-Za-z0-9_.:-]+)\]\s*$")
# How long a stream told to break off stays silent after its last piece before the connection is cut. LiteLLM reads
# the provider through aiohttp, which drops what it has received but not yet read once the connection is lost: a
# cut in the same instant as the last piece lost every piece when LiteLLM was busy (seen once in a loaded run).
# A real provider's stream breaks off after a silence too (a stall, then a reset or a timeout).
SILENCE_BEFORE_BREAK_S = 2.0


class Scoped(BaseModel):
    scope: str | None = None  # the calls a setting applies to (None: those that name no scope)


class Fault(Scoped):
    mode: str | None = None  # "error", "timeout" or None for healthy


class Usage(Scoped):
    percent: int = Field(default=100, ge=1, le=100)  # of each call's token budget


class Streaming(Scoped):
    pace_ms: int = Field(default=0, ge=0, le=1000)  # between two chunks
    usage: bool = True  # the last chunk reports the usage when the request asks for it
    breaks_after: int | None = Field(default=None, ge=1)  # pieces sent before the connection is cut, mid-answer


class Settings(BaseModel):
    fault: str | None = None
    usage_percent: int = 100
    stream: Streaming = Field(default_factory=Streaming)


def scope_of(body: dict) -> str | None:
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        found = SCOPE.search(content) if isinstance(content, str) else None
        if found:
            return found.group(1)
    return None


def invalid_request(body: dict) -> str | None:
    """Why a real provider would refuse the request (an unknown model, no messages, a budget that is not a whole
    positive number of tokens, or more than the model's context holds), or None."""
    model = str(body.get("model") or "")
    context = CONTEXT_TOKENS.get(model.rsplit("/", 1)[-1])
    if context is None:
        return f"{model} is not a valid model ID"
    if not body.get("messages"):
        return "messages: at least one message is required"
    budget = body.get("max_tokens")
    if budget is not None and (not isinstance(budget, int) or isinstance(budget, bool) or budget < 1):
        return f"max_tokens: {budget!r} is not a positive whole number"
    if budget is not None and budget > context:
        return f"This model's maximum context length is {context} tokens, but {budget} were asked for"
    return None


def fingerprint(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_app() -> FastAPI:
    app = FastAPI(title="LLM provider double")
    requests: list[dict] = []
    routed: list[dict] = []  # what LiteLLM reported routing
    scopes: dict[str | None, Settings] = {}

    def settings_of(scope: str | None) -> Settings:
        return scopes.setdefault(scope, Settings())

    async def stream(body: dict, completion_id: str, total: int, settings: Streaming):
        created, model = int(time.time()), body.get("model")

        def event(choices: list, **extra) -> str:
            chunk = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model,
                     "choices": choices, **extra}
            return f"data: {json.dumps(chunk)}\n\n"

        yield event([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
        for piece in range(total - PROMPT_TOKENS):
            if settings.breaks_after is not None and piece == settings.breaks_after:
                await asyncio.sleep(SILENCE_BEFORE_BREAK_S)
                raise ConnectionAbortedError("provider double told to break off its stream")  # the server cuts it
            if settings.pace_ms:
                await asyncio.sleep(settings.pace_ms / 1000)
            yield event([{"index": 0, "delta": {"content": " word"}, "finish_reason": None}])
        yield event([{"index": 0, "delta": {}, "finish_reason": "stop"}])
        if settings.usage and (body.get("stream_options") or {}).get("include_usage"):
            yield event([], usage={"prompt_tokens": PROMPT_TOKENS, "completion_tokens": total - PROMPT_TOKENS,
                                   "total_tokens": total})
        yield "data: [DONE]\n\n"

    async def complete(request: Request, route: str):
        body = await request.json()
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        scope = scope_of(body)
        settings = scopes.get(scope) or Settings()
        invalid = invalid_request(body)
        requests.append({
            "route": route,
            "scope": scope,
            "model": body.get("model"),
            "streamed": bool(body.get("stream")),
            "key_sha256": fingerprint(bearer) if bearer else None,
            "key_hint": f"{bearer[:6]}...{bearer[-4:]}" if len(bearer) > 12 else "(short)",
            "served": settings.fault is None and invalid is None,
            "at": time.time(),
        })
        if invalid is not None:  # as OpenRouter answers a request it cannot serve
            return JSONResponse({"error": {"message": invalid, "code": 400}}, status_code=400)
        if settings.fault == "error":
            return JSONResponse({"error": {"message": "provider double told to fail", "type": "server_error"}},
                                status_code=500)
        if settings.fault == "timeout":
            await asyncio.sleep(120)
        budget = int(body.get("max_tokens") or DEFAULT_TOKENS)
        total = max(math.ceil(budget * settings.usage_percent / 100), PROMPT_TOKENS + 1)
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        if body.get("stream"):
            return StreamingResponse(stream(body, completion_id, total, settings.stream),
                                     media_type="text/event-stream")
        return {
            "id": completion_id,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model"),
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": "This is a deterministic answer from the provider double."},
                "finish_reason": "stop",
            }],
            "usage": {
                "prompt_tokens": PROMPT_TOKENS, "completion_tokens": total - PROMPT_TOKENS, "total_tokens": total,
            },
        }

    @app.post("/v1/chat/completions")
    async def openai(request: Request):
        return await complete(request, "openai")

    @app.post("/api/v1/chat/completions")
    async def openrouter(request: Request):
        return await complete(request, "openrouter")

    @app.get("/v1/models")
    async def models():
        return {"object": "list", "data": []}

    @app.post("/_double/litellm-reports")
    async def litellm_reports(request: Request):
        """LiteLLM's own report of the calls it routed (its generic logging callback posts them in batches)."""
        body = await request.json()
        for report in body if isinstance(body, list) else [body]:
            if isinstance(report, dict):
                routed.append({"scope": scope_of({"messages": report.get("messages") or []}),
                               "model": report.get("model"), "status": report.get("status"), "at": time.time()})
        return {"received": len(routed)}

    @app.get("/_double/litellm-reports")
    async def litellm_reported(scope: str | None = None):
        return [report for report in routed if scope is None or report["scope"] == scope]

    @app.get("/_double/requests")
    async def logged(since: float = 0.0, scope: str | None = None):
        return [entry for entry in requests if entry["at"] >= since and (scope is None or entry["scope"] == scope)]

    @app.post("/_double/fault")
    async def fault(body: Fault):
        settings_of(body.scope).fault = body.mode
        return body

    @app.post("/_double/usage")
    async def usage(body: Usage):
        settings_of(body.scope).usage_percent = body.percent
        return body

    @app.post("/_double/stream")
    async def streaming(body: Streaming):
        settings_of(body.scope).stream = body
        return body

    @app.post("/_double/forget")
    async def forget(body: Scoped):
        """A scope's settings end with it (its scenario's cleanup): its calls, if any came, get the defaults."""
        scopes.pop(body.scope, None)
        return body

    @app.get("/health")
    async def health():
        return {"status": "ok"}

    return app
