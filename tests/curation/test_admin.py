import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from curation.models import Proposal, Report, State
from proceedings.models import Forum, Position, Status

from .conftest import SIMPLE_REPORT

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(client):
    """The admin in English (it follows the browser's language): messages asserted in English."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


NEW = "admin:curation_report_new"


def upload(client, content, name="report.txt", **fields):
    data = {
        "forum_name": "2026数字治理论坛",
        "forum_year": 2026,
        "title": "数字治理论坛综述",
        "author": "陈小青",
        "publisher": "",
        **fields,
    }
    if content is not None:
        data["file"] = SimpleUploadedFile(name, content)
    return client.post(reverse(NEW), data)


def test_editor_uploads_reviews_and_accepts(client, editor):
    client.force_login(editor)
    assert client.get(reverse("admin:curation_report_add")).status_code == 200
    response = upload(client, SIMPLE_REPORT.encode("gb18030"))
    report = Report.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:curation_report_review", args=[report.pk])
    assert report.encoding == "gb18030"

    page = client.get(response["Location"])
    html = page.content.decode()
    assert "2 speakers" not in html  # three: two speakers and the rapporteur
    assert [s.name for s in page.context["speakers"]] == ["王明远", "刘冬梅", "陈小青"]
    assert 'class="cur-mark cur-c0 cur-pending"' in html
    assert ">公共数据应当分级开放</a>" in html
    assert ">数据不流动，价值就无从谈起</a>" in html
    assert "Accept all of 王明远's" in html

    proposal = report.proposals.get(text="公共数据应当分级开放")
    act = reverse("admin:curation_report_act", args=[report.pk])
    response = client.post(act, {"action": "accept", "proposal": proposal.pk})
    assert response.status_code == 302
    position = Position.objects.get()
    assert (position.text, position.status, position.paragraph) == (
        "公共数据应当分级开放",
        Status.DRAFT,
        3,
    )
    assert Forum.objects.get().status == Status.DRAFT

    other = report.proposals.get(text="开放要有安全底线")
    client.post(act, {"action": "reject", "proposal": other.pk})
    quote = report.proposals.get(speaker__name="刘冬梅")
    client.post(
        act,
        {
            "action": "edit",
            "proposal": quote.pk,
            f"p{quote.pk}-text": "价值就无从谈起",
            f"p{quote.pk}-start": quote.start,
            f"p{quote.pk}-end": quote.end,
            f"p{quote.pk}-speaker": quote.speaker_id,
            f"p{quote.pk}-fidelity": "verbatim",
        },
    )
    quote.refresh_from_db()
    assert quote.text == "价值就无从谈起"
    other.refresh_from_db()
    assert other.state == State.REJECTED
    response = client.post(act, {"action": "accept-speaker", "speaker": quote.speaker_id})
    assert Position.objects.count() == 2
    assert Position.objects.published().count() == 0

    assert (
        "Add as the report's rapporteur" in client.get(page.request["PATH_INFO"]).content.decode()
    )
    rapporteur = report.speakers.get(capacity="rapporteur")
    response = client.post(act, {"action": "accept-person", "speaker": rapporteur.pk}, follow=True)
    assert "陈小青 added to the draft session as Rapporteur." in response.content.decode()
    assert "Add as the report&#x27;s rapporteur" not in response.content.decode()
    assert "Add as the report's rapporteur" not in response.content.decode()


def test_nothing_is_public_after_acceptance(client, editor):
    client.force_login(editor)
    upload(client, SIMPLE_REPORT.encode())
    report = Report.objects.get()
    for proposal in report.proposals.all():
        client.post(
            reverse("admin:curation_report_act", args=[report.pk]),
            {"action": "accept", "proposal": proposal.pk},
        )
    position = Position.objects.first()
    forum = Forum.objects.get()
    client.logout()
    assert client.get(forum.get_absolute_url()).status_code == 404
    assert client.get(position.get_absolute_url()).status_code == 404


def test_publisher_may_curate_and_others_may_not(client, publisher, django_user_model):
    client.force_login(publisher)
    assert client.get(reverse(NEW)).status_code == 200
    staff = django_user_model.objects.create_user("staff", "s@example.org", "pw", is_staff=True)
    client.force_login(staff)
    assert client.get(reverse(NEW)).status_code == 403
    assert upload(client, SIMPLE_REPORT.encode()).status_code == 403
    assert Report.objects.count() == 0


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "empty.txt", "The submitted file is empty."),
        (b"\n  \n", "blank.txt", "The file is empty."),
        (b"%PDF-1.4 broken", "r.pdf", "This PDF file is damaged and could not be read."),
        ("没有任何发言人。".encode(), "r.txt", "No speaker could be recognised"),
        (None, "", "Upload the report or paste its text."),
    ],
)
def test_bad_uploads_get_a_message_and_create_nothing(client, editor, content, name, message):
    client.force_login(editor)
    response = upload(client, content, name)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert Report.objects.count() == 0
    assert Proposal.objects.count() == 0


def test_pasted_text_works_like_a_file(client, editor):
    client.force_login(editor)
    response = client.post(
        reverse(NEW),
        {"forum_name": "F", "forum_year": 2026, "title": "T", "text": SIMPLE_REPORT},
    )
    assert response.status_code == 302
    assert Report.objects.get().format == "text"


def test_review_page_query_count(client, editor, django_assert_num_queries):
    client.force_login(editor)
    upload(client, SIMPLE_REPORT.encode())
    report = Report.objects.get()
    url = reverse("admin:curation_report_review", args=[report.pk])
    client.get(url)
    # session, user, permissions (2), report, speakers, proposals, themes
    with django_assert_num_queries(8):
        client.get(url)


def test_key_phrase_button_adds_a_key_phrase_to_the_draft(client, editor):
    client.force_login(editor)
    client.post(
        reverse(NEW),
        {
            "forum_name": "F",
            "forum_year": 2026,
            "title": "T",
            "text": "北京数据研究院院长王明远认为，应当建立“数据银行”。",
        },
    )
    report = Report.objects.get()
    proposal = report.proposals.get()
    page = client.get(reverse("admin:curation_report_review", args=[report.pk])).content.decode()
    assert '<button name="phrase" value="数据银行">“数据银行”</button>' in page
    response = client.post(
        reverse("admin:curation_report_act", args=[report.pk]),
        {"action": "accept-phrase", "proposal": proposal.pk, "phrase": "数据银行"},
        follow=True,
    )
    assert "Key phrase added to the draft position: 数据银行" in response.content.decode()
    position = Position.objects.get()
    assert (position.text, position.status) == ("应当建立“数据银行”", "draft")
    assert list(position.key_phrases.values_list("text", flat=True)) == ["数据银行"]
