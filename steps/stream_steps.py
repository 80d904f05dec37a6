"""Streamed calls: the answer read as it is written, a caller who stops reading, and what each is charged."""

from behave import then, when

from creditflow.screenplay.questions.calls import QuestionTokens
from creditflow.screenplay.questions.money import ChargesOnceSettled, OpeningBalance, OwnBalance
from creditflow.screenplay.tasks.calls import Ask, leaving_after_the_first_words
from creditflow.screenplay.tasks.provider import slow_writing_ms
from creditflow.wording import counted, figure


@when("{name:Persona} asks {model} a question of {tokens:Count} tokens and reads the answer as it is written")
async def ask_streamed(context, name, model, tokens):
    await name.attempts_to(Ask(model, tokens, stream=True))


@when("{name:Persona} asks {model} a question of {tokens:Count} tokens on {org:Org}'s account and reads the answer as "
      "it is written")
async def ask_streamed_on_account_of(context, name, model, tokens, org):
    await name.attempts_to(Ask(model, tokens, stream=True, paid_by=org))


@when("{name:Persona} asks {model} a question of {tokens:Count} tokens as a stream, and stops reading after the "
      "first words")
async def leave_stream(context, name, model, tokens):
    await name.attempts_to(leaving_after_the_first_words(model, tokens))


@then("{name:Persona} received the answer piece by piece, and its last piece stated what the call cost")
def received_in_pieces(context, name):
    call = name.succeeded_call()
    assert call.pieces > 1, f"{name}'s answer should come in pieces as it is written, but came in {call.pieces}"
    assert call.cost is not None, f"the last piece of {name}'s streamed answer should state what the call cost"


@then("the tokens charged cover every piece of the answer {name:Persona} received")
def tokens_cover_pieces(context, name):
    call = name.succeeded_call()
    assert call.tokens is not None and call.tokens > call.pieces, (
        f"{name} received {call.pieces} pieces of the answer, so more than {call.pieces} tokens (the question "
        f"too) should be counted, but {figure(call.tokens, 'none')} {'was' if call.tokens == 1 else 'were'}")


@then("the first words reached {name:Persona} before the provider had written half of the answer")
async def first_words_early(context, name):
    call, charges = name.last_call, await name.asks(ChargesOnceSettled())
    assert call.left_early and charges, f"{name} should have left a stream that was then charged: {call.describe()}"
    half = slow_writing_ms(charges[0].tokens) / 2
    assert call.elapsed_ms < half, (
        f"the first words should reach {name} while the provider writes the answer, before it has written half "
        f"of it ({half:.0f} ms), but they came after {call.elapsed_ms:.0f} ms: the answer was held back")


@then("no part of the answer reached {name:Persona}")
def nothing_streamed(context, name):
    call = name.last_call
    assert call.pieces == 0, f"{name}'s refused call should send no part of the answer, but sent {call.pieces} pieces"


@then("{name:Persona} left before the answer was complete")
def left_early(context, name):
    call = name.last_call
    assert call.left_early, f"{name} should have stopped reading mid-stream, but the call {call.describe()}"


@then("{name:Persona} is charged once, for the whole answer the provider wrote")
async def charged_once_for_the_whole_answer(context, name):
    price, opening = context.stage.price_of(name, succeeded=False), await name.asks(OpeningBalance())
    charges = await name.asks(ChargesOnceSettled())
    assert len(charges) == 1, (f"{name} should be charged once for the stream she left, but the ledger shows "
                               f"{len(charges)} charges" + (": the stream she left was served free" if not charges
                                                            else ""))
    assert charges[0].credits == price, (f"{name} should be charged the whole answer, {price} credits, but was "
                                         f"charged {charges[0].credits}")
    balance = await name.asks(OwnBalance())
    assert balance.credits == opening.credits - price, (f"{name}'s {opening.credits} credits should be down by "
                                                        f"{price} to {opening.credits - price}, but are "
                                                        f"{balance.credits}")


@then("{name:Persona} is told that the answer broke off after {pieces:Count} pieces")
def told_it_broke_off(context, name, pieces):
    call = name.last_call
    assert call.pieces == pieces, (f"{name} should have received the {pieces} pieces the provider sent before it broke "
                                   f"off, but received {call.pieces}")
    assert not call.succeeded, f"{name} should be told that the answer broke off, but Ops-Center {call.describe()}"


@then("{name:Persona} is charged once, for the question and the {pieces:Count} pieces received, counted as the "
      "contract counts a stream")
async def charged_for_what_was_sent(context, name, pieces):
    call, opening = name.last_call, await name.asks(OpeningBalance())
    charges = await name.asks(ChargesOnceSettled())
    assert len(charges) == 1, (f"{name} should be charged once for the answer that broke off, but the ledger shows "
                               f"{counted(len(charges), 'charge')}")
    question = await name.asks(QuestionTokens())
    tokens, counted_as_sent = charges[0].tokens, question + pieces
    assert tokens == counted_as_sent, (
        f"{name} should be charged for the question ({counted(question, 'token')} at four "
        f"characters a token) and the {pieces} pieces received: {counted_as_sent} tokens, but was charged for "
        f"{figure(tokens, 'no')}")
    price = context.stage.price(call.model, tokens, name.account.plan)
    assert charges[0].credits == price, (f"{tokens} tokens of {call.model} cost {price} credits, not "
                                         f"{charges[0].credits}")
    balance = await name.asks(OwnBalance())
    assert balance.credits == opening.credits - price, (f"{name}'s {opening.credits} credits should be down by {price} "
                                                        f"to {opening.credits - price}, but are {balance.credits}")
