"""What every OpenAI-compatible chat API is sent (the question of each call, the malformed requests) and how its
answers read the same in every product (a stream's pieces, its usage, its failure after the first byte)."""

from typing import Any

from creditflow.deployments.base import CallRequest, CallResult, Malformed, Refusal, RefusalKind
from creditflow.deployments.http import Answer, streamed_piece

QUESTION = "Summarise the credit flow in one sentence."


def question(scope: str) -> str:
    """The question a call asks; the scenario's scope rides at its end, which every gateway passes to the
    provider unchanged (the provider double applies that scenario's settings to the call, and logs it as its)."""
    return f"{QUESTION} [{scope}]" if scope else QUESTION


TOOL_ANSWER = "The credit flow charges each call once."  # what a tool answered, in a call that answers a tool call


def conversation(scope: str = "", sender: str | None = None, answers_tool_call: str | None = None) -> list[dict]:
    """The messages of a call: its question, signed with the sender's name where one is given; where the call
    answers a tool call, the assistant's call of the tool and the tool's answer follow it."""
    asked = {"role": "user", "content": question(scope)} | ({"name": sender} if sender is not None else {})
    if answers_tool_call is None:
        return [asked]
    tool_call = {"id": answers_tool_call, "type": "function", "function": {"name": "look_up", "arguments": "{}"}}
    return [asked, {"role": "assistant", "content": "", "tool_calls": [tool_call]},
            {"role": "tool", "tool_call_id": answers_tool_call, "content": TOOL_ANSWER}]


HI = [{"role": "user", "content": "hi"}]
MALFORMED_CHAT_BODIES = {
    Malformed.UNKNOWN_MODEL: {"model": "gpt-99-imaginary", "messages": HI},
    Malformed.NO_MESSAGES: {"model": "gpt-3.5-turbo", "messages": []},
    Malformed.NEGATIVE_BUDGET: {"model": "gpt-3.5-turbo", "max_tokens": -5, "messages": HI},
    Malformed.FRACTIONAL_BUDGET: {"model": "gpt-3.5-turbo", "max_tokens": 10.5, "messages": HI},
    # more than gpt-3.5-turbo's context of 4,096 tokens: the gateway takes it, the provider refuses it
    Malformed.BUDGET_BEYOND_CONTEXT: {"model": "gpt-3.5-turbo", "max_tokens": 5_000, "messages": HI},
    Malformed.NOT_JSON: "this is not JSON",
}


def malformed_body(problem: Malformed, scope: str = "") -> Any:
    """The named malformed request; where it asks a question at all, the question names the scenario's scope, so
    that a product that serves it anyway is seen serving it."""
    body = MALFORMED_CHAT_BODIES[problem]
    if not isinstance(body, dict) or not body.get("messages"):
        return body
    return body | {"messages": [{"role": "user", "content": question(scope)}]}


def unfinished_stream(request: CallRequest, sent_at: float, answer: Answer,
                      request_id: str | None = None) -> CallResult | None:
    """A streamed call its caller left, or whose stream ended in an OpenAI `error` event (a failure after the
    first byte, in a 200 answer); None for a stream that ran to its end."""
    pieces = sum(map(streamed_piece, answer.events))
    if answer.left_early:
        return CallResult(request, sent_at, answer.elapsed_ms, pieces=pieces, left_early=True, request_id=request_id)
    failure = next((event["error"] for event in answer.events if isinstance(event, dict) and "error" in event), None)
    if failure is None:
        return None
    detail = f"the stream ended in an error: {failure.get('message') if isinstance(failure, dict) else failure}"
    return CallResult(request, sent_at, answer.elapsed_ms, Refusal(RefusalKind.SERVER_ERROR, answer.status, detail),
                      pieces=pieces, request_id=request_id)


def unreadable(request: CallRequest, sent_at: float, answer: Answer) -> CallResult | None:
    """A successful chat answer whose body is not the JSON completion (empty, say): what the caller got, as the
    product sent it."""
    if isinstance(answer.body, dict):
        return None
    encoding = answer.headers.get("content-encoding")
    detail = ("the answer's body was " + (repr(answer.body)[:200] if answer.body else "empty")
              + (f" (Content-Encoding: {encoding})" if encoding else ""))
    return CallResult(request, sent_at, answer.elapsed_ms, Refusal(RefusalKind.UNREADABLE, answer.status, detail))


def last_usage_event(answer: Answer) -> dict:
    """The last chunk of a stream that reports the usage (OpenAI's `include_usage`), or {} when none does."""
    return next((event for event in reversed(answer.events) if isinstance(event, dict) and event.get("usage")), {})


def server_timing(answer: Answer) -> dict[str, float]:
    """Phases the server reports in Server-Timing, in milliseconds."""
    phases = {}
    for part in answer.headers.get("server-timing", "").split(","):
        name, _, rest = part.strip().partition(";dur=")
        if name and rest:
            phases[name] = float(rest)
    return phases
