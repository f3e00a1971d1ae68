"""
Downloads: CSV of a search, theme, speaker or forum (exact header and row, BOM, formula
injection neutralised, streamed in chunks, constant queries), the published dataset in the
import format (nothing unpublished, re-importable), and the Data page with the files' sizes.
"""

import csv
import io
import json
import os
import socket
import subprocess
import sys
from unittest import mock

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.template.defaultfilters import filesizeformat
from django.urls import reverse

from forum_portal.cache import bump_generation, current_generation
from proceedings import downloads
from proceedings.interchange import spreadsheet
from proceedings.interchange.documents import export_forums, import_forum_data, validate
from proceedings.localize import to_simplified
from proceedings.models import Position, Status, Theme
from speakers.models import Speaker
from tests.factories import (
    make_appearance,
    make_forum,
    make_institution,
    make_position,
    make_session,
    make_speaker,
    make_theme,
)

from .conftest import HIDDEN_MARKERS

pytestmark = pytest.mark.django_db

HEADER = [
    "permalink",
    "id",
    "forum",
    "session",
    "date",
    "speaker",
    "speaker (romanised)",
    "role at the time",
    "institution",
    "sector",
    "themes",
    "tags",
    "language",
    "fidelity",
    "text",
    "translation",
    "source",
    "paragraph",
]


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def download(client, url, params=None):
    response = client.get(url, params or {})
    assert response.status_code == 200, url
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return response, content


def csv_rows(client, url, params=None):
    response, content = download(client, url, params)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert content.startswith(b"\xef\xbb\xbf")  # UTF-8 byte order mark, for Excel
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def test_csv_has_the_exact_header_and_row_of_a_pujiang_position(client, pujiang):
    position = Position.objects.get(ref="liu-dongmei-enterprise-market-insight")

    rows = csv_rows(client, reverse("downloads:speaker-csv", args=["liu-dongmei"]))

    assert rows[0] == HEADER
    row = next(row for row in rows[1:] if row[1] == str(position.pk))
    assert row == [
        f"http://testserver{position.get_absolute_url()}",
        str(position.pk),
        "2025 浦江創新論壇",
        "科技政策論壇",
        "2025-09-20",
        "劉冬梅",
        "Liu Dongmei",
        "中國科學技術發展戰略研究院黨委書記",
        "中國科學技術發展戰略研究院",
        "research",
        "企業應真正成為融合創新的“第一主體”; 強化企業創新主體地位,明確“誰來融”的核心載體",
        "企業創新主體",
        "zh-Hant",
        "paraphrase",
        "企業對市場需求變化具備敏銳洞察力,在創新活動中能夠發揮連接各參與者的關鍵作用,"
        "支撐提升創新體系整體效能",
        "Enterprises have a keen insight into changes in market demand and can play a key role "
        "in connecting all the participants in innovation activities, helping to raise the "
        "overall effectiveness of the innovation system.",
        "2025浦江創新論壇科技政策論壇綜述",
        "6",
    ]


def test_theme_csv_lists_what_the_theme_page_lists(client, pujiang):
    for theme in Theme.objects.published():
        page = client.get(theme.get_absolute_url()).context["positions"]

        rows = csv_rows(client, reverse("downloads:theme-csv", args=[theme.forum.slug, theme.slug]))

        assert [int(row[1]) for row in rows[1:]] == [p.pk for p in page], theme.slug
        assert [row[14] for row in rows[1:]] == [p.text for p in page]


def test_speaker_and_forum_csv_list_their_positions(client, pujiang):
    speaker = Speaker.objects.get(slug="liu-dongmei")
    expected = Position.objects.published().filter(appearance__speaker=speaker)

    speaker_rows = csv_rows(client, reverse("downloads:speaker-csv", args=[speaker.slug]))
    forum_rows = csv_rows(client, reverse("downloads:forum-csv", args=["pujiang-2025"]))

    assert sorted(int(row[1]) for row in speaker_rows[1:]) == sorted(p.pk for p in expected)
    assert [int(row[1]) for row in forum_rows[1:]] == list(
        Position.objects.published().order_by("order", "pk").values_list("pk", flat=True)
    )


@pytest.mark.parametrize(
    "params",
    [
        {"q": "融合"},
        {"q": "融合", "sort": "date"},
        {"theme": "pujiang-2025:task-strengthen-enterprises"},
        {},
    ],
)
def test_search_csv_lists_the_search_results_in_order(client, pujiang, params):
    api = reverse("api:search", kwargs={"version": "v1"})
    searched = client.get(api, {**params, "page_size": 100}).json()

    rows = csv_rows(client, reverse("downloads:search-csv"), params)

    assert [int(row[1]) for row in rows[1:]] == [r["position"]["id"] for r in searched["results"]]
    assert len(rows) - 1 == searched["count"] > 0


def test_search_page_links_its_csv_with_the_same_query_string(client, pujiang):
    response = client.get(reverse("proceedings:search"), {"q": "融合", "sector": "research"})

    expected = (
        reverse("downloads:search-csv")
        + "?q=%E8%9E%8D%E5%90%88&amp;sector=research&amp;lang=zh-hant"
    )
    assert f'<a href="{expected}" download>' in response.content.decode()


@pytest.mark.parametrize(
    ("page", "download"),
    [
        (
            ("proceedings:theme-detail", ["pujiang-2025", "enterprises-as-first-actor"]),
            "downloads:theme-csv",
        ),
        (("proceedings:speaker-detail", ["liu-dongmei"]), "downloads:speaker-csv"),
        (("proceedings:forum-detail", ["pujiang-2025"]), "downloads:forum-csv"),
    ],
)
def test_pages_link_their_csv(client, pujiang, page, download):
    name, args = page

    content = client.get(reverse(name, args=args)).content.decode()

    assert f'<a href="{reverse(download, args=args)}?lang=zh-hant" download>' in content


def test_csv_cells_cannot_run_as_formulas(client):
    forum = make_forum(slug="f", name="=cmd|' /C calc'!A0")
    session = make_session(forum=forum, title="+SUM(1,2)")
    speaker = make_speaker(slug="s", name="@evil", name_en="-2+3")
    role = make_appearance(session=session, speaker=speaker, role="\tTab", as_printed="")
    make_position(appearance=role, text='=HYPERLINK("http://example.org","x")', translation="\r\nx")

    rows = csv_rows(client, reverse("downloads:forum-csv", args=["f"]))

    row = dict(zip(HEADER, rows[1], strict=True))
    assert row["forum"] == "'=cmd|' /C calc'!A0"
    assert row["session"] == "'+SUM(1,2)"
    assert row["speaker"] == "'@evil"
    assert row["speaker (romanised)"] == "'-2+3"
    assert row["role at the time"] == "'\tTab"
    assert row["text"] == """'=HYPERLINK("http://example.org","x")"""
    assert row["translation"] == "'\r\nx"


def test_spreadsheet_safe_leaves_other_values_alone():
    assert spreadsheet.spreadsheet_safe("企業 = 主體") == "企業 = 主體"
    assert spreadsheet.spreadsheet_safe(12) == 12
    assert spreadsheet.spreadsheet_safe("") == ""


def test_csv_streams_in_chunks(client, monkeypatch):
    monkeypatch.setattr(spreadsheet, "CSV_CHUNK_ROWS", 2)
    forum = make_forum(slug="chunked")
    role = make_appearance(session=make_session(forum=forum), speaker=make_speaker())
    for _ in range(5):
        make_position(appearance=role)

    response = client.get(reverse("downloads:forum-csv", args=["chunked"]))
    chunks = list(response.streaming_content)

    assert response.streaming
    assert len(chunks) == 4  # the header, then rows 2 + 2 + 1
    assert b"".join(chunks).decode("utf-8-sig").count("\r\n") == 6


@pytest.mark.parametrize("count", [1, 3])
def test_csv_query_count_is_constant(client, django_assert_num_queries, count):
    forum = make_forum(slug="counted")
    session = make_session(forum=forum)
    theme = make_theme(forum=forum)
    for _ in range(count):
        role = make_appearance(
            session=session, speaker=make_speaker(), institution=make_institution()
        )
        make_position(appearance=role, themes=[theme], tags=["標籤"])

    # the forum; then positions with their joins, their themes, their tags, key phrases
    with django_assert_num_queries(6):
        rows = csv_rows(client, reverse("downloads:forum-csv", args=["counted"]))

    assert len(rows) == count + 1


def test_nothing_unpublished_in_any_csv(client, hidden):
    urls = [
        reverse("downloads:forum-csv", args=["pujiang-2025"]),
        reverse("downloads:speaker-csv", args=["visible-person"]),
        reverse("downloads:search-csv"),
        reverse("downloads:search-csv") + "?q=觀點",
    ]
    for url in urls:
        _response, content = download(client, url)
        text = content.decode("utf-8-sig")
        assert not [marker for marker in HIDDEN_MARKERS if marker in text], url
    assert "公開觀點VISIBLE" in text
    for name, args in [
        ("downloads:speaker-csv", ["hidden-person"]),
        ("downloads:theme-csv", ["pujiang-2025", "hidden-theme"]),
        ("downloads:forum-csv", ["hidden-forum"]),
    ]:
        assert client.get(reverse(name, args=args)).status_code == 404


# ---------------------------------------------------------------------------------------------
# The dataset
# ---------------------------------------------------------------------------------------------


def test_dataset_of_the_all_published_pujiang_forum_is_its_full_export(client, pujiang):
    response, content = download(client, reverse("downloads:dataset-all"))

    assert response["Content-Disposition"] == 'attachment; filename="forum-portal-all.json"'
    assert json.loads(content) == export_forums(slugs=["pujiang-2025"])


def test_dataset_never_contains_unpublished_content_and_imports_as_it_is(client, hidden):
    for url in [
        reverse("downloads:dataset-all"),
        reverse("downloads:dataset-forum", args=["pujiang-2025"]),
    ]:
        _response, content = download(client, url)
        text = content.decode()
        assert not [marker for marker in HIDDEN_MARKERS if marker in text], url
        document = json.loads(content)
        validate(document, source_name="dataset")  # raises ImportFailed on any problem
        import_forum_data(data=document, source_name="dataset", dry_run=True)
        forum = document["forums"][0]
        refs = [p["ref"] for p in forum["positions"]]
        assert "visible-1" in refs
        assert {p["status"] for p in forum["positions"]} == {"published"}
        visible = next(p for p in forum["positions"] if p["ref"] == "visible-1")
        assert visible["themes"] == []  # its only theme is a draft
        assert "visible-person" in [person["slug"] for person in document["people"]]
    assert client.get(reverse("downloads:dataset-forum", args=["hidden-forum"])).status_code == 404


def _files(root):
    return sorted(path.name.split(".")[0] for path in root.iterdir())


def test_a_dataset_is_built_once_a_generation_and_again_after_an_edit(
    client, pujiang, datasets_root
):
    url = reverse("downloads:dataset-forum", args=["pujiang-2025"])
    position = Position.objects.get(ref="liu-dongmei-enterprise-market-insight")
    before_the_edit = export_forums(slugs=["pujiang-2025"])
    with mock.patch(
        "proceedings.downloads.dataset_bytes", wraps=downloads.dataset_bytes
    ) as building:
        first, first_content = download(client, url)
        second, second_content = download(client, url)
        assert building.call_count == 1
        # An edit (a pending bump of the fixture's import otherwise swallows this one's).
        Position.objects.filter(pk=position.pk).update(status=Status.DRAFT)
        bump_generation()
        _third, third_content = download(client, url)
        assert building.call_count == 2

    assert first.streaming
    assert first["Content-Type"] == "application/json; charset=utf-8"
    assert first["Content-Disposition"] == 'attachment; filename="forum-portal-pujiang-2025.json"'
    assert first["Content-Length"] == str(len(first_content))
    assert second_content == first_content
    assert json.loads(first_content) == before_the_edit
    refs = [p["ref"] for p in json.loads(third_content)["forums"][0]["positions"]]
    assert position.ref not in refs
    assert len(refs) == Position.objects.published().count()
    # The first generation's file, which holds the position, is gone.
    assert _files(datasets_root) == ["forum-pujiang-2025"]


def test_a_forum_slugged_all_has_its_own_dataset_file(client, pujiang, datasets_root):
    make_forum(slug="all", name="全部論壇")

    _response, everything = download(client, reverse("downloads:dataset-all"))
    _response, one = download(client, reverse("downloads:dataset-forum", args=["all"]))

    assert [f["slug"] for f in json.loads(everything)["forums"]] == ["all", "pujiang-2025"]
    assert [f["slug"] for f in json.loads(one)["forums"]] == ["all"]
    assert _files(datasets_root) == ["all", "forum-all"]


def test_a_dataset_being_built_elsewhere_is_waited_for_then_retried_later(
    client, pujiang, datasets_root, settings
):
    generation, _lsn = current_generation()
    datasets_root.mkdir()
    lock = datasets_root / f"all.{generation}.building"
    lock.write_text(f"{socket.gethostname()}:{os.getpid()}")  # a live process: this one

    with mock.patch("proceedings.downloads.DATASET_BUILD_WAIT", 0):
        response = client.get(reverse("downloads:dataset-all"))

    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    assert response.content.decode() == "資料集正在準備中，請稍候一分鐘再試。"
    assert lock.exists()


def test_a_build_left_by_a_killed_process_is_taken_over(client, pujiang, datasets_root):
    generation, _lsn = current_generation()
    datasets_root.mkdir()
    lock = datasets_root / f"all.{generation}.building"
    # A process id no longer running once it has exited.
    dead = subprocess.Popen([sys.executable, "-c", ""])  # noqa: S603 (no input of ours)
    dead.wait()
    lock.write_text(f"{socket.gethostname()}:{dead.pid}")
    # What a build of an earlier generation left when it was killed mid-way.
    (datasets_root / f"all.{generation - 1}.part").write_text("{")

    _response, content = download(client, reverse("downloads:dataset-all"))

    assert json.loads(content) == export_forums(slugs=["pujiang-2025"])
    assert not lock.exists()
    assert _files(datasets_root) == ["all"]


def test_a_dataset_is_built_for_the_request_when_its_directory_cannot_be_written(
    client, pujiang, settings, tmp_path, caplog
):
    (tmp_path / "a-file").write_text("")
    settings.DATASETS_ROOT = tmp_path / "a-file" / "datasets"

    _response, content = download(client, reverse("downloads:dataset-all"))

    assert json.loads(content) == export_forums(slugs=["pujiang-2025"])
    assert "Datasets cannot be kept in" in caplog.text


def test_build_datasets_builds_every_download_so_no_reader_waits(client, pujiang, datasets_root):
    out = io.StringIO()
    call_command("build_datasets", stdout=out)

    assert _files(datasets_root) == ["all", "forum-pujiang-2025"]
    assert out.getvalue().count("\n") == 2
    with mock.patch("proceedings.downloads.dataset_bytes") as building:
        download(client, reverse("downloads:dataset-all"))
        response = client.get(reverse("proceedings:data"))
    assert not building.called
    size = filesizeformat(next(datasets_root.glob("all.*")).stat().st_size)
    assert f'<td class="data-table__size">{size}</td>' in response.content.decode()


def test_data_page_lists_the_downloads_with_their_sizes(client, pujiang):
    _response, everything = download(client, reverse("downloads:dataset-all"))
    _response, one = download(client, reverse("downloads:dataset-forum", args=["pujiang-2025"]))

    response = client.get(reverse("proceedings:data"))

    content = response.content.decode()
    assert response.status_code == 200
    assert f'<a href="{reverse("downloads:dataset-all")}" download>' in content
    assert f'<a href="{reverse("downloads:forum-csv", args=["pujiang-2025"])}" download>' in content
    sizes = [
        f'<td class="data-table__size">{filesizeformat(len(f))}</td>' for f in (everything, one)
    ]
    assert [size in content for size in sizes] == [True, True]
    assert "CC BY 4.0" in content
    assert 'href="/api/v1/"' in content


def test_data_page_never_builds_a_dataset_to_size_it(client, pujiang):
    with mock.patch("proceedings.downloads.dataset_bytes") as building:
        response = client.get(reverse("proceedings:data"))

    assert not building.called
    # Nothing downloaded in this content generation: no size known yet, for either dataset.
    assert response.content.decode().count('<td class="data-table__size">下載時產生</td>') == 2


def test_footer_links_data_and_api(client, pujiang):
    content = client.get(reverse("proceedings:home")).content.decode()

    assert f'<li><a href="{reverse("proceedings:data")}">' in content
    assert f'<li><a href="{reverse("api-docs")}">' in content


def test_simplified_page_csv_is_in_simplified_whatever_the_cookie(client, pujiang):
    """The CSV follows the page it is linked from (``?lang=``), not the language cookie."""
    position = Position.objects.get(ref="liu-dongmei-enterprise-market-insight")
    client.cookies["django_language"] = "zh-hant"
    url = reverse("downloads:speaker-csv", args=["liu-dongmei"])

    simplified = csv_rows(client, url, {"lang": "zh-hans"})
    as_published = csv_rows(client, url)

    row = next(row for row in simplified[1:] if row[1] == str(position.pk))
    assert row[2:4] == ["2025 浦江创新论坛", "科技政策论坛"]
    assert row[5] == "刘冬梅"
    assert row[12] == "zh-Hans"
    assert row[14] == to_simplified(position.text) != position.text
    original = next(row for row in as_published[1:] if row[1] == str(position.pk))
    assert (original[5], original[12], original[14]) == ("劉冬梅", "zh-Hant", position.text)
