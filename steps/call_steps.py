"""LLM calls: one, many at once, retried, or malformed."""

from behave import then, when

from creditflow.verdicts import ChargedForNothing
from creditflow.wording import counted


@when("{name} asks {model} a question of {tokens:Count} tokens")
async def ask(context, name, model, tokens):
    await context.world.calls.ask(name, model, tokens)


@when("{name} asks {model} a question of {tokens:Count} tokens on {org}'s account")
async def ask_on_account_of(context, name, model, tokens, org):
    await context.world.calls.ask(name, model, tokens, paid_by=org)


@when("{name} asks {model} a question of {tokens:Count} tokens without her own key")
async def ask_without_byok(context, name, model, tokens):
    await context.world.calls.ask(name, model, tokens, use_byok=False)


@when("{name} asks {model} a question of {tokens:Count} tokens, demanding her own key")
async def ask_demanding_byok(context, name, model, tokens):
    await context.world.calls.ask(name, model, tokens, use_byok=True)


@when("{name} asks {model} a question of {tokens:Count} tokens from a client that accepts compressed answers")
async def ask_accepting_compression(context, name, model, tokens):
    await context.world.calls.ask(name, model, tokens, compressed=True)


@then("{name} read the whole answer")
async def read_whole_answer(context, name):
    call = context.world.actor(name).last_call
    if not call.succeeded and (charged := await context.world.books.charged_for_last_call(name)):
        raise ChargedForNothing(f"{name} was charged {counted(charged, 'credit')} for an answer she did not receive: "
                                f"Ops-Center {call.describe()}")
    assert call.succeeded, f"{name} should have read the answer to her call, but Ops-Center {call.describe()}"


@when("{name} makes {count:Count} {model} calls of {tokens:Count} tokens at once")
async def many_at_once(context, name, count, model, tokens):
    await context.world.calls.many(name, count, model, tokens)


@when("{name} makes {count:Count} {model} calls of {tokens:Count} tokens, many at once")
async def many_in_waves(context, name, count, model, tokens):
    await context.world.calls.in_waves(name, count, model, tokens, context.cf_config.quota_concurrency,
                                       progress=context.progress(f"{name}'s calls"))


@when("{name} sends the same {model} call of {tokens:Count} tokens twice")
async def retried(context, name, model, tokens):
    await context.world.calls.retried(name, model, tokens)


@when("{name} sends the same {model} call of {tokens:Count} tokens {count:Count} times at once")
async def copies_at_once(context, name, model, tokens, count):
    await context.world.calls.copies_at_once(name, count, model, tokens)


@when("{name} sends a {first} call of {tokens:Count} tokens and then a {second} call under the same request id")
async def reused_id(context, name, first, tokens, second):
    await context.world.calls.reused_id(name, first, second, tokens)


@when("{name} sends a {model} call of {tokens:Count} tokens under a request id of {length:Count} characters")
async def call_under_a_long_id(context, name, model, tokens, length):
    await context.world.calls.ask(name, model, tokens, request_id=context.world.calls.request_id_of(length))


@when("{first} and {second} each send a {model} call of {tokens:Count} tokens under the same request id")
async def one_id_for_two(context, first, second, model, tokens):
    await context.world.calls.one_id_for_two(first, second, model, tokens)


@when("{name} sends a {model} call with {limit:AtALimit}")
async def call_at_a_limit(context, name, model, limit):
    await context.world.calls.ask_at_a_limit(name, model, limit)


@then("{name}'s call is served")
def served(context, name):
    call = context.world.actor(name).last_call
    assert call.succeeded, f"{name}'s call should be served, but Ops-Center {call.describe()}"


@when("{name} sends a request with {problem:Malformed}")
async def malformed(context, name, problem):
    await context.world.calls.malformed(name, problem)
