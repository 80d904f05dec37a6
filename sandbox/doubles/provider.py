"""An OpenAI/OpenRouter-compatible provider double: deterministic answers and token usage.

It stands in for the LLM providers, which cannot be reached offline. Usage is the call's token budget
(`max_tokens`, 100 by default), or the share of it that `/_double/usage` asks for (a real provider
reports what it used, usually less), so credit costs are predictable. It records which key
each call carried as a SHA-256 fingerprint and a short hint: enough to prove a BYOK key was used,
without keeping the key itself. `/_double/fault` makes the next calls fail (HTTP 500 or a stall).
"""

import asyncio
import hashlib
import math
import time
import uuid

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

PROMPT_TOKENS = 10
DEFAULT_TOKENS = 100


class Fault(BaseModel):
    mode: str | None = None  # "error", "timeout" or None for healthy


class Usage(BaseModel):
    percent: int = Field(default=100, ge=1, le=100)  # of each call's token budget


def fingerprint(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_app() -> FastAPI:
    app = FastAPI(title="LLM provider double")
    state = {"requests": [], "fault": None, "usage_percent": 100}

    async def complete(request: Request, route: str):
        body = await request.json()
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        state["requests"].append({
            "route": route,
            "model": body.get("model"),
            "key_sha256": fingerprint(bearer) if bearer else None,
            "key_hint": f"{bearer[:6]}...{bearer[-4:]}" if len(bearer) > 12 else "(short)",
            "at": time.time(),
        })
        if state["fault"] == "error":
            return JSONResponse({"error": {"message": "provider double told to fail", "type": "server_error"}},
                                status_code=500)
        if state["fault"] == "timeout":
            await asyncio.sleep(120)
        budget = int(body.get("max_tokens") or DEFAULT_TOKENS)
        total = max(math.ceil(budget * state["usage_percent"] / 100), PROMPT_TOKENS + 1)
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
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

    @app.get("/_double/requests")
    async def requests(since: float = 0.0):
        return [entry for entry in state["requests"] if entry["at"] >= since]

    @app.post("/_double/fault")
    async def fault(body: Fault):
        state["fault"] = body.mode
        return {"mode": body.mode}

    @app.post("/_double/usage")
    async def usage(body: Usage):
        state["usage_percent"] = body.percent
        return {"percent": body.percent}

    @app.get("/health")
    async def health():
        return {"status": "ok"}

    return app
