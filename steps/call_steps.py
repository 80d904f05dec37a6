"""LLM calls: one, many at once, retried, or malformed."""

from behave import then, when

from creditflow.screenplay.questions.money import ChargedForLastCall
from creditflow.screenplay.tasks.calls import (
    Ask,
    CallAtOnce,
    CallInWaves,
    SendMalformed,
    at_a_limit,
    copies_of_one_call,
    request_id_of,
    retried_with_settings_reordered,
    under_one_request_id,
)
from creditflow.verdicts import ChargedForNothing
from creditflow.wording import counted


@when("{name:Persona} asks {model} a question of {tokens:Count} tokens")
async def ask(context, name, model, tokens):
    await name.attempts_to(Ask(model, tokens))


@when("{name:Persona} asks {model} a question of {tokens:Count} tokens on {org:Org}'s account")
async def ask_on_account_of(context, name, model, tokens, org):
    await name.attempts_to(Ask(model, tokens, paid_by=org))


@when("{name:Persona} asks {model} a question of {tokens:Count} tokens without her own key")
async def ask_without_byok(context, name, model, tokens):
    await name.attempts_to(Ask(model, tokens, use_byok=False))


@when("{name:Persona} asks {model} a question of {tokens:Count} tokens, demanding her own key")
async def ask_demanding_byok(context, name, model, tokens):
    await name.attempts_to(Ask(model, tokens, use_byok=True))


@when("{name:Persona} asks {model} a question of {tokens:Count} tokens from a client that accepts compressed answers")
async def ask_accepting_compression(context, name, model, tokens):
    await name.attempts_to(Ask(model, tokens, compressed=True))


@then("{name:Persona} read the whole answer")
async def read_whole_answer(context, name):
    call = name.last_call
    if not call.succeeded and (charged := await name.asks(ChargedForLastCall())):
        raise ChargedForNothing(f"{name} was charged {counted(charged, 'credit')} for an answer she did not receive: "
                                f"Ops-Center {call.describe()}")
    assert call.succeeded, f"{name} should have read the answer to her call, but Ops-Center {call.describe()}"


@when("{name:Persona} makes {count:Count} {model} calls of {tokens:Count} tokens at once")
async def many_at_once(context, name, count, model, tokens):
    await name.attempts_to(CallAtOnce(count, model, tokens))


@when("{name:Persona} makes {count:Count} {model} calls of {tokens:Count} tokens, many at once")
async def many_in_waves(context, name, count, model, tokens):
    await name.attempts_to(CallInWaves(count, model, tokens, context.cf_config.quota_concurrency,
                                       progress=context.progress(f"{name}'s calls")))


@when("{name:Persona} sends the same {model} call of {tokens:Count} tokens twice")
async def retried(context, name, model, tokens):
    await name.attempts_to(*under_one_request_id("retry", (model, tokens), (model, tokens)))


@when("{name:Persona} sends the same {model} call of {tokens:Count} tokens twice, its settings written in another "
      "order the second time")
async def retried_reordered(context, name, model, tokens):
    await name.attempts_to(*retried_with_settings_reordered(model, tokens))


@when("{name:Persona} sends the same {model} call of {tokens:Count} tokens {count:Count} times at once")
async def copies_at_once(context, name, model, tokens, count):
    await name.attempts_to(copies_of_one_call(count, model, tokens))


@when("{name:Persona} sends a {first} call of {tokens:Count} tokens and then a {second} call under the same request id")
async def reused_id(context, name, first, tokens, second):
    await name.attempts_to(*under_one_request_id("reused", (first, tokens), (second, tokens)))


@when("{name:Persona} sends a {model} call of {tokens:Count} tokens under a request id of {length:Count} characters")
async def call_under_a_long_id(context, name, model, tokens, length):
    await name.attempts_to(Ask(model, tokens, request_id=request_id_of(length)))


@when("{first:Persona} and {second:Persona} each send a {model} call of {tokens:Count} tokens under the same "
      "request id")
async def one_id_for_two(context, first, second, model, tokens):
    first_call, second_call = under_one_request_id("chosen", (model, tokens), (model, tokens))
    await first.attempts_to(first_call)
    await second.attempts_to(second_call)


@when("{name:Persona} sends a {model} call with {limit:AtALimit}")
async def call_at_a_limit(context, name, model, limit):
    await name.attempts_to(at_a_limit(name, model, limit))


@then("{name:Persona}'s call is served")
def served(context, name):
    call = name.last_call
    assert call.succeeded, f"{name}'s call should be served, but Ops-Center {call.describe()}"


@when("{name:Persona} sends a request with {problem:Malformed}")
async def malformed(context, name, problem):
    await name.attempts_to(SendMalformed(problem))
