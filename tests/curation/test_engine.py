"""The proposal engine on its own (no database), and the benchmark's goals as a regression."""

import pytest

from bench.curation import file_cases, pujiang_case, score
from curation.engine import propose, sentences

from .conftest import SEED


def test_english_patterns_intro_according_to_and_quote_first():
    paragraphs = [
        "Ana Lima, director of the Rio Water Agency, argued that tariffs must rise. "
        "She added that the poorest households need a rebate.",
        "According to Ben Cole, an engineer at Acme Pumps, leaks waste a third of the water.",
        "“Nobody wants to pay for pipes,” said Ana Lima, director of the Rio Water Agency.",
        "Lima also warned that droughts are getting longer.",
    ]
    result = propose(paragraphs)
    assert [(s.name, s.role, s.institution) for s in result.speakers] == [
        ("Ana Lima", "director", "Rio Water Agency"),
        ("Ben Cole", "an engineer", "Acme Pumps"),
    ]
    assert [(s.speaker, s.paragraph, s.fidelity, s.text) for s in result.spans] == [
        ("ana lima", 1, "paraphrase", "tariffs must rise"),
        ("ana lima", 1, "paraphrase", "the poorest households need a rebate"),
        ("ben cole", 2, "paraphrase", "leaks waste a third of the water"),
        ("ana lima", 3, "verbatim", "Nobody wants to pay for pipes"),
        ("ana lima", 4, "paraphrase", "droughts are getting longer"),
    ]


def test_chinese_quotation_then_attribution_and_key_phrases():
    paragraphs = [
        "「制度要跑在技術前面。」臺北醫學大學校長吳明德說。",
        "清華大學公共管理學院院長李明認為，應推動“數據要素”市場化。他還指出，監管要“包容審慎”。",
        "來自各地的專家圍繞發展問題展開討論。",
    ]
    result = propose(paragraphs)
    assert [(s.name, s.role, s.institution) for s in result.speakers] == [
        ("吳明德", "校長", "臺北醫學大學"),
        ("李明", "公共管理學院院長", "清華大學"),
    ]
    spans = [(s.speaker, s.fidelity, s.text, s.key_phrases) for s in result.spans]
    assert spans == [
        ("吴明德", "verbatim", "制度要跑在技術前面", []),
        ("李明", "paraphrase", "應推動“數據要素”市場化", ["數據要素"]),
        ("李明", "paraphrase", "監管要“包容審慎”", ["包容審慎"]),
    ]


def test_sentences_respect_quotation_marks():
    # A full stop inside the marks does not end the sentence; 。” does (an attribution may
    # follow as a sentence of its own).
    text = "他說：“第一句。第二句”，隨後離場。“好。”Mr. Li left. Last one."
    assert [text[a:b] for a, b in sentences(text)] == [
        "他說：“第一句。第二句”，隨後離場。",
        "“好。”",
        "Mr. Li left.",
        "Last one.",
    ]


def cases():
    found = [pujiang_case(SEED)] if SEED.exists() else []
    return found + list(file_cases())


@pytest.mark.parametrize("case", cases(), ids=lambda case: case["name"])
def test_benchmark_goals_hold_for_every_report(case):
    result = score(case)
    found, total = map(int, result["speakers"].split("/"))
    exact, _ = map(int, result["roles_exact"].split("/"))
    assert found == total
    assert exact >= total - 1
    assert result["rapporteur"] is True
    positions = result["positions_found"].split()[0]
    precision = result["precision"].split()[0]
    assert eval_ratio(positions) >= 0.85
    assert eval_ratio(precision) >= 0.70


def eval_ratio(fraction):
    a, b = map(int, fraction.split("/"))
    return a / b
