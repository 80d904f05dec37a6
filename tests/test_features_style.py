"""The Gherkin stays business language: no plumbing, every scenario under a Rule with a named actor."""

import re
from pathlib import Path

import pytest
from behave.parser import parse_file

from creditflow.flows import FLOWS
from creditflow.verdicts import Claim, Source

FEATURES = sorted((Path(__file__).resolve().parent.parent / "features").glob("*.feature"))
FLOW_TAGS = {flow.tag for flow in FLOWS}
PLUMBING = {
    "a URL": re.compile(r"https?://|/api/|localhost|127\.0\.0\.1"),
    "JSON": re.compile(r"[{}]|\"\w+\"\s*:"),
    "SQL": re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE FROM|WHERE)\b"),
    # named as business facts: when a quota comes back, and where a client claims to come from
    "a header name": re.compile(r"\b(?!X-RateLimit-Reset\b|X-Forwarded-For\b|X-Real-IP\b)X-[A-Za-z-]+|Authorization|"
                                r"Bearer|Content-Type"),
    "a password": re.compile(r"password|TestPassword", re.IGNORECASE),
    "status-code plumbing": re.compile(r"\b(status|HTTP)\b|\b\d{3} (OK|Created|No Content|Unauthorized|Forbidden|"
                                       r"Not Found|Conflict|Unprocessable|Bad Gateway|Internal Server Error)",
                                       re.IGNORECASE),
}


@pytest.mark.parametrize("path", FEATURES, ids=lambda p: p.name)
def test_features_contain_no_plumbing(path):
    for number, line in enumerate(path.read_text().splitlines(), 1):
        for what, pattern in PLUMBING.items():
            assert not pattern.search(line), f"{path.name}:{number} contains {what}: {line.strip()}"


@pytest.mark.parametrize("path", FEATURES, ids=lambda p: p.name)
def test_every_scenario_sits_under_a_rule_with_a_flow_tag_and_a_named_actor(path):
    feature = parse_file(str(path))
    assert set(feature.tags) & FLOW_TAGS, f"{path.name} names no flow tag"
    assert not feature.scenarios, f"{path.name} has scenarios outside any Rule"
    rules = list(feature.iter_rules())
    assert rules
    for rule in rules:
        for scenario in rule.walk_scenarios():
            title = scenario.name
            actor_named = re.search(r"\b(Ivy|Alice|Olivia|Oscar|Bea|Tess|Nora|Max|Cody|Mallory|Ops-Center)\b", title)
            assert actor_named, f"{path.name}: scenario '{title}' names no actor"


def test_the_guides_edge_cases_are_all_automated():
    text = "\n".join(path.read_text() for path in FEATURES).lower()
    assert "manual" not in text
    for case in ("402 payment required", "429 too many requests", "x-ratelimit-reset", "member of no organization",
                 "without allocated credits", "simultaneous"):
        assert case in text, f"no scenario covers: {case}"


@pytest.mark.parametrize("path", FEATURES, ids=lambda p: p.name)
def test_every_rule_cites_where_its_claim_comes_from(path):
    for rule in parse_file(str(path)).iter_rules():
        cited = [tag for tag in rule.tags if tag.partition(".")[0] in {source.value for source in Source}]
        assert len(cited) == 1, f"{path.name}: Rule '{rule.name}' cites {len(cited)} claims: {cited}"
        Claim.parse(cited[0])  # a section the guide, the contract or the invariants have


@pytest.mark.parametrize("path", FEATURES, ids=lambda p: p.name)
def test_an_outlines_title_names_the_values_of_each_example(path):
    """behave.ini names an outline's scenarios by their titles alone: each must differ."""
    for rule in parse_file(str(path)).iter_rules():
        for outline in (s for s in rule.scenarios if s.type == "scenario_outline"):
            assert re.search(r"<[^>]+>", outline.name), f"{path.name}: the outline '{outline.name}' names no value"
