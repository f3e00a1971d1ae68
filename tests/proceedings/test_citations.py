"""
Citations of a position in every format, written out by hand from the Pujiang data: Fan
Jianping's verbatim "突破人類自身極限" (¶17 of the report; a key phrase in the bundled file, added
here as a quotation of its own), said at the forum of 20–22 September 2025 (the report gives no
day for the session), read on 1 May 2026.
"""

import datetime
import json

import pytest
from django.urls import reverse

from proceedings.citations import (
    apa_citation,
    bibtex_citation,
    bibtex_escape,
    chicago_citation,
    citation_data,
    csl_item,
    gbt7714_citation,
    ris_citation,
)
from proceedings.models import Position, Status
from proceedings.workflow import transition
from tests.bundled import add_quote
from tests.factories import (
    make_appearance,
    make_forum,
    make_institution,
    make_position,
    make_session,
    make_speaker,
)

pytestmark = pytest.mark.django_db

URL = "https://forum.example.org/positions/7/"
ACCESSED = datetime.date(2026, 5, 1)
REF = "fan-jianping-surpass-human-limits"
NOTE = (
    "樊建平, 深圳理工大學校長、黨委副書記 (President and Deputy Party Secretary, Shenzhen "
    "University of Advanced Technology). Verbatim quotation. Translation (en): breaking through "
    "the limits of humankind itself. In 蔣嬌燕, 2025浦江創新論壇科技政策論壇綜述, "
    "網易號 (NetEase Hao), ¶17."
)


@pytest.fixture
def quote(pujiang):
    return add_quote(REF)


@pytest.fixture
def data(quote):
    position = Position.objects.for_listing().get(ref=REF)
    return citation_data(position, url=URL, accessed=ACCESSED)


def test_apa_cites_a_conference_speech_with_translated_title_and_its_report(data):
    citation = apa_citation(data)

    # Family name, initial; the forum's days (no session day); title in italics and its
    # translation in sentence case; [Speech]; event and place; the report as the work it is in.
    assert citation.text == (
        "Fan, J. (2025, September 20–22). 突破人類自身極限 [Breaking through the limits of "
        "humankind itself] [Speech]. Science and Technology Policy Forum, 2025 Pujiang "
        "Innovation Forum, Shanghai. In 蔣嬌燕, 2025浦江創新論壇科技政策論壇綜述 [Report on the "
        "Science and Technology Policy Forum of the 2025 Pujiang Innovation Forum] (para. 17). "
        "網易號 (NetEase Hao). https://forum.example.org/positions/7/"
    )
    assert citation.html == (
        'Fan, J. (2025, September 20–22). <i lang="zh-Hant">突破人類自身極限</i> [Breaking '
        "through the limits of humankind itself] [Speech]. Science and Technology Policy Forum, "
        '2025 Pujiang Innovation Forum, Shanghai. In 蔣嬌燕, <i lang="zh-Hant">'
        "2025浦江創新論壇科技政策論壇綜述</i> [Report on the Science and Technology Policy Forum "
        "of the 2025 Pujiang Innovation Forum] (para. 17). 網易號 (NetEase Hao). "
        "https://forum.example.org/positions/7/"
    )


def test_chicago_bibliography_keeps_the_chinese_name_order_and_adds_the_characters(data):
    citation = chicago_citation(data)

    assert citation.text == (
        "Fan Jianping 樊建平. “突破人類自身極限” [Breaking through the limits of humankind "
        "itself]. Speech, Science and Technology Policy Forum, 2025 Pujiang Innovation Forum, "
        "Shanghai, September 20–22, 2025. In 蔣嬌燕, 2025浦江創新論壇科技政策論壇綜述 [Report "
        "on the Science and Technology Policy Forum of the 2025 Pujiang Innovation Forum], para. "
        "17. 網易號 (NetEase Hao). https://forum.example.org/positions/7/."
    )


def test_gbt7714_cites_the_speech_as_part_of_the_report_with_the_access_date(data):
    citation = gbt7714_citation(data)

    # 析出文献 of a report read online: [R/OL], "//" before the report; no place known:
    # [出版地不详]; no publication year: the forum's, estimated, in brackets; ¶ for the page;
    # 引用日期 right after it; the access path last.
    assert citation.text == (
        "樊建平. 突破人類自身極限[R/OL]//蔣嬌燕. 2025浦江創新論壇科技政策論壇綜述. "
        "[出版地不详]: 網易號 (NetEase Hao), [2025]: ¶17[2026-05-01]. "
        "https://forum.example.org/positions/7/."
    )


def test_bibtex_entry_has_a_stable_key_and_escaped_fields(data):
    assert bibtex_citation(data) == (
        "@misc{fan-jianping-surpass-human-limits,\n"
        "  author = {Fan, Jianping},\n"
        "  title = {{突破人類自身極限}},\n"
        "  howpublished = {Speech, Science and Technology Policy Forum, 2025 Pujiang Innovation "
        "Forum, Shanghai},\n"
        "  year = {2025},\n"
        "  month = sep,\n"
        "  date = {2025-09-20/2025-09-22},\n"
        "  language = {zh-Hant},\n"
        f"  note = {{{NOTE}}},\n"
        "  url = {https://forum.example.org/positions/7/},\n"
        "  urldate = {2026-05-01},\n"
        "}\n"
    )


def test_ris_record(data):
    assert ris_citation(data) == (
        "TY  - CPAPER\r\n"
        "AU  - Fan, Jianping\r\n"
        "TI  - 突破人類自身極限\r\n"
        "TT  - Breaking through the limits of humankind itself\r\n"
        "T2  - Science and Technology Policy Forum, 2025 Pujiang Innovation Forum\r\n"
        "CY  - Shanghai\r\n"
        "PY  - 2025\r\n"
        "DA  - 2025/09/20/\r\n"
        "LA  - zh-Hant\r\n"
        "AD  - President and Deputy Party Secretary, Shenzhen University of Advanced Technology\r\n"
        f"N1  - {NOTE}\r\n"
        "UR  - https://forum.example.org/positions/7/\r\n"
        "Y2  - 2026/05/01/\r\n"
        "ER  - \r\n"
    )


def test_csl_json_item_is_a_speech(data):
    assert csl_item(data) == {
        "id": REF,
        "type": "speech",
        "genre": "Speech",
        "title": "突破人類自身極限",
        "author": [{"family": "Fan", "given": "Jianping"}],
        "event-title": "Science and Technology Policy Forum, 2025 Pujiang Innovation Forum",
        "event": "Science and Technology Policy Forum, 2025 Pujiang Innovation Forum",
        "event-place": "Shanghai",
        "language": "zh-Hant",
        "issued": {"date-parts": [[2025, 9, 20], [2025, 9, 22]]},
        "event-date": {"date-parts": [[2025, 9, 20], [2025, 9, 22]]},
        "container-title": "2025浦江創新論壇科技政策論壇綜述",
        "container-author": [{"literal": "蔣嬌燕"}],
        "publisher": "網易號 (NetEase Hao)",
        "note": NOTE,
        "URL": URL,
        "accessed": {"date-parts": [[2026, 5, 1]]},
    }


# ---------------------------------------------------------------------------------------------
# Other names, dates and awkward characters
# ---------------------------------------------------------------------------------------------


def test_bibtex_escape_escapes_every_special_character_and_joins_lines():
    assert bibtex_escape("50% & $5 #1 a_b {x} ~ ^ \\ end\nnext") == (
        r"50\% \& \$5 \#1 a\_b \{x\} \textasciitilde{} \textasciicircum{} \textbackslash{} "
        "end next"
    )


def make_awkward_position(**fields):
    forum = make_forum(name="論壇", name_en="R&D Forum", starts_on=datetime.date(2025, 9, 30))
    forum.ends_on = datetime.date(2025, 10, 2)
    forum.save()
    session = make_session(
        forum=forum, title="分論壇", title_en="Panel {A}", held_on=datetime.date(2025, 10, 1)
    )
    speaker = make_speaker(
        name="Daniel Almeida", name_en="Daniel Almeida", sort_name="Almeida, Daniel"
    )
    appearance = make_appearance(
        session=session, speaker=speaker, institution=make_institution(name_en="Lab_1 & Co")
    )
    return make_position(
        appearance=appearance,
        ref="almeida-100-percent",
        text="We need 100% {more}\nfunding_now",
        language="en",
        translation="",
        **fields,
    )


def test_bibtex_and_ris_of_awkward_text_stay_valid():
    position = make_awkward_position()
    data = citation_data(position, url="https://forum.example.org/positions/9/", accessed=ACCESSED)

    bibtex = bibtex_citation(data)
    ris = ris_citation(data)

    assert bibtex.splitlines()[:6] == [
        "@misc{almeida-100-percent,",
        "  author = {Almeida, Daniel},",
        r"  title = {{We need 100\% \{more\} funding\_now}},",
        r"  howpublished = {Speech, Panel \{A\}, R\&D Forum},",
        "  year = {2025},",
        "  month = oct,",
    ]
    assert "  date = {2025-10-01},\n" in bibtex
    assert ris.split("\r\n")[:3] == [
        "TY  - CPAPER",
        "AU  - Almeida, Daniel",
        "TI  - We need 100% {more} funding_now",
    ]
    # One line per field: the newline in the text did not start a line of its own.
    assert all(line[:2].isupper() and line[2:6] == "  - " for line in ris.split("\r\n")[:-1])


def test_paraphrase_is_described_not_titled_and_dates_span_months():
    position = make_awkward_position()
    position.appearance.session.held_on = None
    data = citation_data(position, url="https://forum.example.org/positions/9/", accessed=ACCESSED)

    assert apa_citation(data).text == (
        "Almeida, D. (2025, September 30–October 2). [Paraphrase: We need 100% {more} "
        "funding_now] [Speech]. Panel {A}, R&D Forum. https://forum.example.org/positions/9/"
    )
    assert gbt7714_citation(data).text == (
        "Daniel Almeida. We need 100% {more} funding_now[EB/OL]. (2025-09-30)[2026-05-01]. "
        "https://forum.example.org/positions/9/."
    )


# ---------------------------------------------------------------------------------------------
# Downloads
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extension", "content_type"),
    [
        ("bib", "application/x-bibtex; charset=utf-8"),
        ("ris", "application/x-research-info-systems; charset=utf-8"),
        ("json", "application/vnd.citationstyles.csl+json; charset=utf-8"),
    ],
)
def test_downloads_have_their_content_type_and_file_name(
    client, quote, settings, extension, content_type, django_assert_num_queries
):
    settings.SITE_URL = "https://forum.example.org"
    position = Position.objects.get(ref=REF)
    url = reverse("proceedings:position-citation", args=[position.pk, extension])

    with django_assert_num_queries(1):  # the position with speaker, role, forum and source
        response = client.get(url)

    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"] == f'attachment; filename="{REF}.{extension}"'
    body = response.content.decode()
    permalink = f"https://forum.example.org{position.get_absolute_url()}"
    if extension == "json":
        assert [item["URL"] for item in json.loads(body)] == [permalink]
    elif extension == "bib":
        assert f"  url = {{{permalink}}},\n" in body
    else:
        assert f"UR  - {permalink}\r\n" in body


def test_unknown_download_format_is_404(client, quote):
    position = Position.objects.get(ref=REF)

    response = client.get(reverse("proceedings:position-citation", args=[position.pk, "doc"]))

    assert response.status_code == 404


def test_draft_position_has_no_downloads_even_for_staff(admin_client, quote):
    position = Position.objects.get(ref=REF)
    transition(objects=[position], to=Status.DRAFT)

    response = admin_client.get(reverse("proceedings:position-citation", args=[position.pk, "bib"]))

    assert response.status_code == 404


def test_withdrawn_position_download_is_410(client, quote):
    position = Position.objects.get(ref=REF)
    transition(objects=[position], to=Status.WITHDRAWN)

    response = client.get(reverse("proceedings:position-citation", args=[position.pk, "ris"]))

    assert response.status_code == 410
    assert response.content.decode() == "此觀點已由編輯撤回，無法再引用。"
