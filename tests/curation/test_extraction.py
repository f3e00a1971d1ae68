import io
import json
import zipfile

import docx
import pytest
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from curation.extraction import ExtractionError, extract
from tests.conftest import PUJIANG_FILE

from .conftest import BENCH

LINES = ["一、數據共享", "中國科學院院長王小明認為，數據應當分級開放。", "二、結語"]


def curated_paragraphs():
    text = json.loads(PUJIANG_FILE.read_text())["sources"][0]["full_text"]
    return [p.strip() for p in text.split("\n\n") if p.strip()]


def test_bundled_report_splits_into_the_curated_paragraphs(seed_bytes):
    extracted = extract(seed_bytes, "report.txt")
    assert extracted.paragraphs == curated_paragraphs()
    assert extracted.full_text.split("\n\n") == curated_paragraphs()
    assert extracted.headings == [4, 7, 12, 15, 17]
    assert "PUJIANG INNOVATION FORUM" in extracted.furniture
    assert "編輯郵箱:sciencepie@126.com" in extracted.furniture
    assert extracted.furniture.count("![]()") == 5
    assert extracted.furniture[-1].startswith("Notice: The content above")


def test_markdown_headings_lose_their_marks_and_images_are_set_aside():
    extracted = extract((BENCH / "digital-economy-2024.md").read_bytes(), "r.md")
    assert extracted.format == "markdown"
    assert extracted.paragraphs[0] == "2024长三角数字经济论坛综述"
    assert extracted.paragraphs[2] == "一、数据要素市场仍处在起步阶段"
    assert 0 in extracted.headings
    assert 2 in extracted.headings
    assert extracted.furniture == ["![](banner.png)", "责任编辑：王芳"]


@pytest.mark.parametrize("encoding", ["gb18030", "gbk", "big5"])
def test_legacy_chinese_encodings_are_detected(encoding):
    text = "\n\n".join(LINES) * 1
    extracted = extract(text.encode(encoding), "r.txt")
    assert extracted.paragraphs == LINES
    assert extracted.encoding.replace("_", "").lower() in {encoding, "gb18030", "big5", "cp950"}


def test_html_article_body_without_navigation_or_footer():
    extracted = extract((BENCH / "coastal-resilience-2025.html").read_bytes(), "page.html")
    assert extracted.format == "html"
    text = extracted.full_text
    assert "Subscribe" not in text
    assert "All rights reserved" not in text
    assert "1. Paying for adaptation" in extracted.paragraphs
    assert extracted.paragraphs.index("1. Paying for adaptation") in extracted.headings
    assert any(
        p.startswith("Maria Jansen, director of the Delta Finance Lab")
        for p in extracted.paragraphs
    )


def make_docx(lines, heading_index=0):
    document = docx.Document()
    for i, line in enumerate(lines):
        if i == heading_index:
            document.add_heading(line, level=1)
        else:
            document.add_paragraph(line)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_docx_paragraphs_and_heading_styles():
    extracted = extract(make_docx(["數據共享", LINES[1], "結語"]), "r.docx")
    assert extracted.format == "docx"
    assert extracted.paragraphs == ["數據共享", LINES[1], "結語"]
    assert extracted.headings == [0]  # the Heading style; a short line alone is not one


def make_pdf(lines):
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=A4)
    page.setFont("STSong-Light", 12)
    y = 800
    for line in lines:
        page.drawString(50, y, line)
        y -= 40
    page.save()
    return out.getvalue()


def test_pdf_text_layer_in_chinese():
    extracted = extract(make_pdf(LINES[:2]), "r.pdf")
    assert extracted.paragraphs == LINES[:2]
    assert extracted.headings == [0]


def test_pdf_text_layer():
    extracted = extract(
        make_pdf(["Delta Finance Lab", "Maria Jansen, director of the Lab, said that bonds help."]),
        "r.pdf",
    )
    assert extracted.format == "pdf"
    assert extracted.paragraphs == [
        "Delta Finance Lab",
        "Maria Jansen, director of the Lab, said that bonds help.",
    ]


def test_scanned_pdf_without_text_is_refused():
    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=A4)
    page.rect(50, 50, 300, 300, fill=1)
    page.save()
    with pytest.raises(ExtractionError, match="no text layer"):
        extract(out.getvalue(), "scan.pdf")


def test_empty_and_oversized_files_are_refused():
    with pytest.raises(ExtractionError, match="The file is empty"):
        extract(b"  \n", "r.txt")
    with pytest.raises(ExtractionError, match="The file is 50 MB; the limit is 20 MB"):
        extract(b"x" * (50 * 1024 * 1024), "r.txt")
    with pytest.raises(ExtractionError, match="pasted text is empty"):
        extract(text="   ")


def test_zip_bomb_docx_is_refused_before_reading():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"\0" * (30 * 1024 * 1024))
    with pytest.raises(ExtractionError, match="expands to 30 MB"):
        extract(out.getvalue(), "bomb.docx")


def test_damaged_docx_and_pdf_are_refused():
    with pytest.raises(ExtractionError, match="not a valid zip"):
        extract(b"PK\x03\x04 broken", "r.docx")
    with pytest.raises(ExtractionError, match="damaged"):
        extract(b"%PDF-1.4 broken", "r.pdf")


def test_undecodable_text_is_refused():
    with pytest.raises(ExtractionError, match="could not be decoded"):
        extract(bytes(range(128, 256)) * 40 + b"\x81\x00\xff", "r.txt")
