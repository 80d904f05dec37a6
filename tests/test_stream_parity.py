"""Parity for streams: a Rule about a plain call holds for a streamed one too, unless said otherwise.

Every Rule with a scenario whose call is read whole, and none whose call is read as it is written, is listed here:
either its streamed example lives under another Rule (named, and checked to have one), or the Rule does not apply to
a stream, with the reason. A new such Rule fails this test until it gets a streamed example or is listed.
"""

import re
from pathlib import Path

from behave.parser import parse_file

FEATURES = sorted((Path(__file__).resolve().parent.parent / "features").glob("*.feature"))
# A call the caller reads whole: the When steps of steps/call_steps.py and steps/quota_steps.py that send one or many.
PLAIN_CALL = re.compile(r"\basks \S+ a question of [\d,]+ tokens(?! (?:on \S+ account )?and reads)|"
                        r"\bmakes [\d,]+ \S+ calls\b|\bsends (?:the same|a) \S+ call\b")
STREAMED_CALL = re.compile(r"\breads the answer as it is written\b|\bstops reading\b")

STREAMED_ELSEWHERE = {
    "The cost of a call leaves the caller's own balance":
        "A streamed call is charged once, for the usage reported at its end",
    "A call is charged for the tokens it used, and the rest of its reservation comes back":
        "A streamed call is charged once, for the usage reported at its end",
    "A call the payer cannot afford is refused with 402 and an upgrade prompt":
        "A stream the payer cannot afford is refused with 402 before any of it is sent",
    "Lago has every customer on the right plan and receives the usage":
        "Billing receives the usage the ledger charged, not what the call reserved",
    "A member's call is paid from the pool and from that member's allocation":
        "A member's streamed call is charged once, to the allocation and the pool",
}
# Each reason says why reading the answer as it is written changes nothing the Rule is about.
NOT_APPLYING = {
    "A call costs the model's price times the tokens the provider reported":
        "the price table is the Rule; a stream's charge is priced by the same table, which the Rule of streamed "
        "charges holds it to",
    "A model may be named with its provider's prefix, at the same price":
        "the model's name is read from the body before the answer's form is chosen",
    "A BYOK call is routed with the user's own key and costs no credits":
        "the payer is chosen, and the key routed, before the first byte (docs/contract.md, Streaming: steps 1 to 4 "
        "come first)",
    "BYOK calls still count against the API-call quota":
        "the quota is taken at step 2, before the answer's form matters; a stream's count is shown in "
        "individual.feature",
    "A user may opt out of BYOK for a call, or demand it":
        "the payer is chosen before the first byte",
    "The API-call quota is enforced with 429 and the time it resets":
        "a refusal comes before the first byte as a plain answer, stream or not (docs/contract.md, Streaming); the "
        "700 calls that use up the quota are not about how an answer is read",
    "Without an organization, a user pays from their own credits":
        "the payer is chosen before the first byte; a stream paid from own credits is the Rule of streamed charges",
    "A member without an allocation is refused clearly, never with a server error":
        "the refusal comes at step 4, before the first byte, as a plain answer",
    "Simultaneous calls are each charged exactly once, and no balance goes below zero":
        "the reservation that keeps simultaneous calls apart is taken before the first byte",
    "A retried call is never charged twice":
        "a request id is claimed before the first byte; a stream left and retried is the Rule of left streams",
    "A request id is at most 128 characters":
        "the id is refused before anything is sent",
    "A call within the chat body's limits is served, and one just past a limit is refused as invalid at no cost":
        "the body is checked before the answer's form is chosen",
    "The ledger in PostgreSQL and the cache in Redis agree":
        "the cache is written at settlement, one step for both forms of answer",
    "LiteLLM routes platform calls with the platform's key":
        "the key is chosen at step 5, before the answer's form matters",
    "Only a current sign-in of Ops-Center's realm is accepted":
        "the sign-in is refused at step 1, before anything is streamed",
    "An allocation can be changed, but never below what the member has already used":
        "the Rule is about the allocation; the call only spends it",
}


def rules() -> dict[str, tuple[bool, bool]]:
    """Each Rule's name: whether it has a scenario with a plain call, and one with a streamed call."""
    found = {}
    for path in FEATURES:
        for rule in parse_file(str(path)).iter_rules():
            steps = [step.name for scenario in rule.walk_scenarios() for step in scenario.steps]
            found[rule.name] = (any(PLAIN_CALL.search(step) for step in steps),
                                any(STREAMED_CALL.search(step) for step in steps))
    return found


def test_every_rule_about_a_plain_call_has_a_streamed_example_or_says_why_not():
    unstreamed = {name for name, (plain, streamed) in rules().items() if plain and not streamed}
    undeclared = unstreamed - STREAMED_ELSEWHERE.keys() - NOT_APPLYING.keys()
    assert not undeclared, f"give these Rules a streamed example, or list them here with the reason: {undeclared}"


def test_every_listed_rule_still_lacks_a_streamed_example_and_its_stream_lives_where_it_says():
    found = rules()
    for name in STREAMED_ELSEWHERE.keys() | NOT_APPLYING.keys():
        assert name in found, f"no Rule is named {name!r}: take it off the list"
        assert found[name] == (True, False), f"{name!r} now has a streamed example, or no plain call: take it off"
    for name, elsewhere in STREAMED_ELSEWHERE.items():
        assert found.get(elsewhere, (False, False))[1], f"{name!r} is said to stream in {elsewhere!r}, which does not"


def test_the_patterns_tell_a_plain_call_from_a_streamed_one():
    assert PLAIN_CALL.search("Ivy asks gpt-4 a question of 100 tokens")
    assert PLAIN_CALL.search("Olivia asks gpt-4 a question of 100 tokens on Globex's account")
    assert not PLAIN_CALL.search("Ivy asks gpt-4 a question of 100 tokens and reads the answer as it is written")
    assert not PLAIN_CALL.search("Olivia asks gpt-4 a question of 100 tokens on Globex's account and reads the answer "
                                 "as it is written")
    assert STREAMED_CALL.search("Ivy asks gpt-4 a question of 100 tokens and reads the answer as it is written")
