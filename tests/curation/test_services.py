import pytest
from django.core.exceptions import ValidationError

from curation import services
from curation.extraction import ExtractionError
from curation.models import Proposal, ProposedSpeaker, Report, State
from proceedings.models import Appearance, Forum, Position, Session, SourceDocument, Status, Theme
from speakers.models import Institution, Speaker
from tests.factories import (
    make_appearance,
    make_forum,
    make_institution,
    make_session,
    make_speaker,
)

from .conftest import SIMPLE_REPORT

pytestmark = pytest.mark.django_db


def new_report(text=SIMPLE_REPORT, **fields):
    return services.create_report(
        forum_name=fields.pop("forum_name", "2026数字治理论坛"),
        forum_year=2026,
        title=fields.pop("title", "数字治理论坛综述"),
        text=text,
        **fields,
    )


def test_bundled_report_proposals_match_the_curated_people(pujiang, seed_bytes):
    report = services.create_report(
        forum_name="浦江", forum_year=2025, title="綜述", content=seed_bytes, filename="r.txt"
    )
    assert report.language == "zh-Hant"
    assert report.full_text == SourceDocument.objects.get().full_text
    speakers = {s.name: s for s in report.speakers.all()}
    assert len(speakers) == 10
    liu = speakers["劉冬梅"]
    assert (liu.match, liu.speaker.slug, liu.institution.slug) == (
        "matched",
        "liu-dongmei",
        "casted",
    )
    assert liu.role == "黨委書記"
    assert liu.as_printed == "中國科學技術發展戰略研究院黨委書記"
    assert speakers["蔣嬌燕"].capacity == "rapporteur"
    assert report.proposals.count() == 17
    assert report.questions == ["誰來融合", "融合什么", "如何融合"]
    assert [t.title for t in report.themes.filter(kind="task")][0] == (
        "強化企業創新主體地位,明確“誰來融”的核心載體"
    )


def test_simplified_name_matches_a_traditional_record_and_new_people_stay_new():
    institution = make_institution(name="南方科技大學", slug="sustech")
    liu = make_speaker(name="劉冬梅", slug="liu-dongmei")
    make_appearance(session=make_session(forum=make_forum()), speaker=liu, institution=institution)
    report = new_report()
    proposed = {s.name: s for s in report.speakers.all()}
    assert proposed["刘冬梅"].match == ProposedSpeaker.Match.MATCHED
    assert proposed["刘冬梅"].speaker == liu
    assert proposed["刘冬梅"].institution == institution
    assert proposed["王明远"].match == ProposedSpeaker.Match.NEW
    assert proposed["王明远"].speaker is None


def test_same_name_at_another_institution_is_flagged_not_merged():
    other = make_institution(name="東海大學", slug="thu")
    liu = make_speaker(name="劉冬梅", slug="liu-dongmei")
    make_appearance(session=make_session(forum=make_forum()), speaker=liu, institution=other)
    report = new_report()
    flagged = report.speakers.get(name="刘冬梅")
    assert flagged.match == ProposedSpeaker.Match.FLAGGED
    assert flagged.candidate == liu
    assert flagged.speaker is None
    assert "東海大學" in flagged.match_note
    assert "南方科技大学" in flagged.match_note
    services.accept_all(flagged, user=None)
    assert Speaker.objects.filter(name="刘冬梅").count() == 1  # a new person, not merged
    assert Speaker.objects.count() == 2
    assert liu.appearances.count() == 1


def test_accept_creates_exact_draft_rows_with_history(editor):
    report = new_report(author="陈小青", publisher="数字治理研究中心")
    proposal = report.proposals.get(
        speaker__name="王明远", fidelity="paraphrase", text__startswith="公共"
    )
    position = services.accept(proposal, editor)

    forum = Forum.objects.get()
    assert (forum.name, forum.edition_year, forum.status) == (
        "2026数字治理论坛",
        2026,
        Status.DRAFT,
    )
    source = SourceDocument.objects.get()
    assert source.full_text == report.full_text
    assert (source.title, source.author, source.publisher, source.language) == (
        "数字治理论坛综述",
        "陈小青",
        "数字治理研究中心",
        "zh-Hans",
    )
    session = Session.objects.get()
    assert session.forum == forum
    assert session.source == source
    appearance = Appearance.objects.get()
    assert (appearance.role, appearance.as_printed, appearance.capacity) == (
        "院长",
        "北京数据研究院院长",
        "speaker",
    )
    assert appearance.institution.name == "北京数据研究院"
    assert appearance.speaker.status == Status.DRAFT
    assert position.text == "公共数据应当分级开放"
    assert (position.fidelity, position.paragraph, position.source) == ("paraphrase", 3, source)
    assert position.status == Status.DRAFT
    assert position.translation == ""
    assert list(position.tags.names()) == [services.TO_TRANSLATE_TAG]
    record = position.history.get()
    assert record.history_change_reason == "Accepted from report 数字治理论坛综述"
    assert record.history_user == editor
    assert forum.history.get().history_change_reason == "Accepted from report 数字治理论坛综述"
    proposal.refresh_from_db()
    assert (proposal.state, proposal.position) == (State.ACCEPTED, position)
    assert Position.objects.published().count() == 0
    assert Forum.objects.published().count() == 0


def test_verbatim_quotation_is_accepted_and_validated():
    report = new_report()
    quote = report.proposals.get(speaker__name="刘冬梅")
    assert quote.fidelity == "verbatim"
    assert quote.text == "数据不流动，价值就无从谈起"  # final full stop trimmed, as for every span
    position = services.accept(quote, None)
    assert position.fidelity == "verbatim"
    assert position.paragraph == 4


def test_accept_all_of_one_speaker_and_reject():
    report = new_report()
    wang = report.speakers.get(name="王明远")
    assert services.accept_all(wang, None) == 2
    assert list(Position.objects.values_list("text", flat=True).order_by("order")) == [
        "公共数据应当分级开放",
        "开放要有安全底线",
    ]
    liu_quote = report.proposals.get(speaker__name="刘冬梅")
    services.reject(liu_quote)
    liu_quote.refresh_from_db()
    assert liu_quote.state == State.REJECTED
    assert Position.objects.count() == 2
    assert Appearance.objects.count() == 1


def test_edit_span_by_selection_keeps_which_occurrence_was_selected():
    report = new_report()
    proposal = report.proposals.get(text="开放要有安全底线")

    # 开放 occurs twice in the paragraph (分级开放, 开放要有): bounds holding the text say which.
    services.edit(proposal, text="开放", start=30, end=32)
    assert (proposal.text, proposal.start, proposal.end) == ("开放", 30, 32)
    # Typed text without matching bounds is its first occurrence.
    services.edit(proposal, text="开放要有", start=30, end=32)
    services.edit(proposal, text="开放", start=0, end=2)
    assert (proposal.text, proposal.start, proposal.end) == ("开放", 23, 25)


def test_edit_span_by_text_by_bounds_speaker_and_fidelity():
    report = new_report()
    proposal = report.proposals.get(text="开放要有安全底线")
    liu = report.speakers.get(name="刘冬梅")
    services.edit(proposal, text="安全底线")
    assert (proposal.text, proposal.start, proposal.end) == ("安全底线", 34, 38)
    services.edit(proposal, start=30, end=38, speaker=liu, fidelity="summary")
    proposal.refresh_from_db()
    assert (proposal.text, proposal.speaker, proposal.fidelity) == (
        "开放要有安全底线",
        liu,
        "summary",
    )
    with pytest.raises(ValidationError, match="not in paragraph 3"):
        services.edit(proposal, text="不在这里的话")
    with pytest.raises(ValidationError, match="within paragraph 3"):
        services.edit(proposal, start=10, end=999)
    position = services.accept(proposal, None)
    assert (position.text, position.fidelity, position.speaker.name) == (
        "开放要有安全底线",
        "summary",
        "刘冬梅",
    )
    with pytest.raises(ValidationError, match="already a draft position"):
        services.edit(proposal, fidelity="paraphrase")


def test_verbatim_edit_outside_its_paragraph_fails_model_validation():
    report = new_report()
    proposal = report.proposals.get(text="公共数据应当分级开放")
    proposal.paragraph = 4  # as if the locator were wrong: full_clean refuses the verbatim
    proposal.fidelity = "verbatim"
    proposal.save()
    with pytest.raises(ValidationError, match="not in paragraph 4 of the source"):
        services.accept(proposal, None)
    assert Position.objects.count() == 0
    assert Forum.objects.count() == 0


def test_themes_and_questions_become_drafts():
    report = new_report()
    assert [(t.title, t.kind) for t in report.themes.all()] == [
        ("数据共享", "finding"),
        ("结语", "outlook"),
    ]
    assert services.accept_themes(report, None) == 2
    assert list(Theme.objects.values_list("title", "status")) == [
        ("数据共享", "draft"),
        ("结语", "draft"),
    ]


def test_report_without_speakers_creates_nothing():
    with pytest.raises(ExtractionError, match="No speaker could be recognised"):
        new_report(text="这是一段没有任何发言人的文字。\n\n第二段也没有。")
    assert Report.objects.count() == 0
    assert Proposal.objects.count() == 0
    assert Institution.objects.count() == 0


def test_key_phrase_becomes_a_key_phrase_of_the_draft_position():
    report = new_report(text="北京数据研究院院长王明远认为，应当建立“数据银行”，让数据“活起来”。\n")
    proposal = report.proposals.get()
    assert proposal.key_phrases == ["数据银行", "活起来"]
    key_phrase = services.accept_phrase(proposal, "活起来", None)
    proposal.refresh_from_db()
    # The statement is accepted as its draft position; the phrase is part of it.
    assert proposal.state == State.ACCEPTED
    [position] = Position.objects.all()
    assert proposal.position == position
    assert (position.text, position.status) == (proposal.text, "draft")
    assert (key_phrase.position, key_phrase.text, key_phrase.order) == (position, "活起来", 1)
    assert key_phrase.locator == "¶1"
    again = services.accept_phrase(proposal, "活起来", None)
    assert again == key_phrase
    services.accept_phrase(proposal, "数据银行", None)
    assert list(position.key_phrases.values_list("text", flat=True)) == ["数据银行", "活起来"]
    assert Position.objects.count() == 1
    assert report.proposals.count() == 1
    with pytest.raises(ValidationError, match="not one of this proposal's key phrases"):
        services.accept_phrase(proposal, "数据", None)


def test_rapporteur_becomes_a_draft_role_without_positions(editor):
    report = new_report()
    rapporteur = report.speakers.get(capacity="rapporteur")
    assert (rapporteur.name, rapporteur.role, rapporteur.institution_name) == (
        "陈小青",
        "研究员",
        "数字治理研究中心",
    )
    appearance = services.accept_person(rapporteur, editor)
    assert (appearance.capacity, appearance.role, appearance.speaker.name) == (
        "rapporteur",
        "研究员",
        "陈小青",
    )
    assert appearance.institution.name == "数字治理研究中心"
    assert Position.objects.count() == 0
    assert services.accept_person(rapporteur, editor) == appearance
