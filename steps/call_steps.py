"""LLM calls: one, many at once, retried, or malformed."""

import uuid

from behave import when

BAD_REQUESTS = {
    "an unknown model": {"model": "gpt-99-imaginary", "messages": [{"role": "user", "content": "hi"}]},
    "no messages": {"model": "gpt-3.5-turbo", "messages": []},
    "a negative token budget": {"model": "gpt-3.5-turbo", "max_tokens": -5,
                                "messages": [{"role": "user", "content": "hi"}]},
    "a fractional budget": {"model": "gpt-3.5-turbo", "max_tokens": 10.5,
                            "messages": [{"role": "user", "content": "hi"}]},
    "a body that is not JSON": "this is not JSON",
}


@when("{name} asks {model} a question of {tokens:Amount} tokens")
async def ask(context, name, model, tokens):
    await context.flow.call(name, model, tokens)


@when("{name} asks {model} a question of {tokens:Amount} tokens without her own key")
async def ask_without_byok(context, name, model, tokens):
    await context.flow.call(name, model, tokens, use_byok=False)


@when("{name} makes {count:Amount} {model} calls of {tokens:Amount} tokens at once")
async def many_at_once(context, name, count, model, tokens):
    context.batch = await context.flow.call_many(name, count, model, tokens)


@when("{name} makes {count:Amount} {model} calls of {tokens:Amount} tokens, many at once")
async def many_in_waves(context, name, count, model, tokens):
    context.batch = await context.flow.call_many(
        name, count, model, tokens, concurrency=context.cf_config.quota_concurrency,
        progress=context.progress(f"{name}'s calls"),
    )


@when("{name} sends the same {model} call of {tokens:Amount} tokens twice")
async def retried(context, name, model, tokens):
    request_id = f"retry-{uuid.uuid4().hex}"
    await context.flow.call(name, model, tokens, request_id=request_id)
    await context.flow.call(name, model, tokens, request_id=request_id)


@when("{name} sends a request with {problem}")
async def malformed(context, name, problem):
    context.answer = await context.flow.send_raw(name, BAD_REQUESTS[problem])
