"""
Text out of an uploaded report: plain text, Markdown, HTML, DOCX or PDF, into paragraphs.

The paragraphs are the ones locators count: ``full_text`` joins them with one blank line, which is
how ``SourceDocument.paragraphs`` splits them again, so ¶N here is ¶N on ``/sources/<slug>/``.
Headings stay paragraphs (flagged as headings); page furniture (image placeholders, banners,
editors' e-mail lines, platform disclaimers) is set aside in ``furniture`` rather than dropped.

Every refusal is an ``ExtractionError`` with a message for the editor; nothing is created.
"""

import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
# A DOCX is a zip: refuse one whose members declare more than this uncompressed, or that
# expand more than MAX_ZIP_RATIO times, before reading any of them.
MAX_UNZIPPED_BYTES = 100 * 1024 * 1024
MAX_ZIP_RATIO = 200
MAX_PDF_PAGES = 500

FORMATS = ("text", "markdown", "html", "docx", "pdf")


class ExtractionError(Exception):
    """The upload cannot be read; ``str(error)`` says why, for the editor."""


@dataclass
class Extracted:
    paragraphs: list
    headings: list = field(default_factory=list)  # 0-based indices into ``paragraphs``
    furniture: list = field(default_factory=list)
    format: str = "text"
    encoding: str = ""

    @property
    def full_text(self):
        return "\n\n".join(self.paragraphs)


# ---------------------------------------------------------------------------------------------
# Line classification, shared by every format
# ---------------------------------------------------------------------------------------------

CJK = r"\u3400-\u9fff\uf900-\ufaff"
NUMERALS = "一二三四五六七八九十"
HEADING_PATTERNS = [
    re.compile(rf"^[{NUMERALS}]+[、．.]\s*\S"),  # 一、
    re.compile(rf"^[（(][{NUMERALS}\d]+[）)]\s*\S"),  # (一) （1）
    re.compile(r"^\d{1,2}(?:\.\d{1,2})*\s*[.、．]\s*\S"),  # 1. / 1、/ 2.1.
    re.compile(rf"^第[{NUMERALS}\d]+[部分章節节篇]"),  # 第一部分
]
MARKDOWN_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*$")
SENTENCE_END = tuple("。！？!?.:：;；…」』”\"')）")

FURNITURE_PATTERNS = [
    re.compile(r"^!\[[^\]]*\]\([^)]*\)$"),  # Markdown image placeholder
    re.compile(r"^\[(?:圖片|图片|image|img|photo|圖|图)\]$", re.I),
    re.compile(r"^[\W_]+$"),  # ◆ ◆ ◆, ***, ---
    re.compile(r"^\d{1,4}$|^[-–—]\s*\d{1,4}\s*[-–—]$|^page \d+( of \d+)?$", re.I),  # page numbers
    re.compile(
        r"^(?:特別聲明|特别声明|免責聲明|免责声明|版權聲明|版权声明|聲明|声明|Notice|Disclaimer|"
        r"Copyright|©|\(?責任編輯|\(?责任编辑|編輯|编辑|原標題|原标题|來源|来源|點擊|点击|掃碼|扫码|"
        r"長按|长按|關注|关注)\s*[:：]?",
        re.I,
    ),
    re.compile(r"^[^。.]{0,40}(?:郵箱|邮箱|e-?mail)\s*[:：]?\s*\S+@\S+$", re.I),
]
BANNER = re.compile(r"^[A-Z0-9][A-Z0-9 &.,'’-]{3,}$")


def _han_share(text):
    han = sum(1 for ch in text if "\u3400" <= ch <= "\u9fff")
    letters = sum(1 for ch in text if ch.isalpha())
    return han / letters if letters else 0.0


def is_heading(line):
    if len(line) > 60 or line.endswith(("。", "；", ";")):
        return False
    return any(p.match(line) for p in HEADING_PATTERNS)


def is_furniture(line, *, cjk_document):
    if any(p.match(line) for p in FURNITURE_PATTERNS):
        return True
    # An all-capitals Latin line in a Chinese document is a banner (PUJIANG INNOVATION FORUM).
    return cjk_document and bool(BANNER.match(line)) and " " in line


def _join(a, b):
    """Join a wrapped line to the next: no space between Chinese characters."""
    if re.match(rf"[{CJK}，。、]", a[-1:]) or re.match(rf"[{CJK}]", b[:1]):
        return a + b
    return f"{a} {b}"


def paragraphs_from_lines(lines, *, heading_lines=(), fmt="text", encoding="", wrap=True):
    """Build an ``Extracted`` from lines of text.

    Blank lines always end a paragraph. Within a block, a line ends its paragraph when it ends a
    sentence, is short (a title) or is a heading; otherwise it was wrapped and the next line
    continues it (``wrap=False`` makes each line a paragraph, as DOCX paragraphs are).
    """
    lines = [unicodedata.normalize("NFC", line).replace("\u3000", " ").strip() for line in lines]
    text = "".join(lines)
    cjk_document = _han_share(text) > 0.3
    forced = set(heading_lines)
    paragraphs, headings, furniture = [], [], []
    current = ""

    def flush():
        nonlocal current
        if current:
            paragraphs.append(current)
            current = ""

    for number, line in enumerate(lines):
        if not line:
            flush()
            continue
        markdown = MARKDOWN_HEADING.match(line) if fmt in ("markdown", "html", "text") else None
        if is_furniture(line, cjk_document=cjk_document):
            flush()
            furniture.append(line)
            continue
        if markdown or number in forced or is_heading(line):
            flush()
            headings.append(len(paragraphs))
            paragraphs.append(markdown.group(1) if markdown else line)
            continue
        current = _join(current, line) if current else line
        short = len(line) < (30 if cjk_document else 60)
        if not wrap or line.endswith(SENTENCE_END) or short:
            flush()
    flush()
    if not paragraphs:
        raise ExtractionError(_("The file holds no text to curate (it is empty)."))
    return Extracted(paragraphs, headings, furniture, fmt, encoding)


# ---------------------------------------------------------------------------------------------
# Formats
# ---------------------------------------------------------------------------------------------


def decode_text(content):
    """Return ``(text, encoding)``: UTF-8 when it is, else what charset-normalizer finds."""
    if content.startswith(b"\xef\xbb\xbf"):
        content = content[3:]
    try:
        return content.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        return content.decode("utf-16"), "utf-16"
    from charset_normalizer import from_bytes

    # Chinese legacy encodings first: charset-normalizer ranks the candidates it is given.
    best = from_bytes(content, cp_isolation=["gb18030", "big5", "big5hkscs", "cp1252"]).best()
    if best is None or best.chaos > 0.3:
        raise ExtractionError(
            _(
                "The text could not be decoded: it is not UTF-8, GB18030/GBK or Big5. Save it "
                "as UTF-8 and upload it again."
            )
        )
    encoding = {"big5hkscs": "big5"}.get(best.encoding, best.encoding)
    return str(best), encoding


def _text(content, fmt):
    text, encoding = decode_text(content)
    if "\x00" in text:
        raise ExtractionError(_("This is not a text file; upload it as DOCX, PDF or HTML."))
    return paragraphs_from_lines(text.splitlines(), fmt=fmt, encoding=encoding)


def _html(content):
    import trafilatura

    text, encoding = decode_text(content)
    body = trafilatura.extract(
        text,
        output_format="markdown",
        include_comments=False,
        include_tables=False,
        include_images=False,
        include_links=False,
        favor_recall=True,
    )
    if not body:
        # No article body found: every block element's text, in order (lxml is trafilatura's).
        from lxml import html as lxml_html

        try:
            tree = lxml_html.fromstring(text)
        except Exception as error:  # lxml raises several types for unparsable markup
            raise ExtractionError(_("The HTML page could not be read.")) from error
        for bad in tree.xpath("//script|//style|//nav|//header|//footer"):
            bad.drop_tree()
        blocks = tree.xpath("//h1|//h2|//h3|//h4|//p|//li")
        lines = []
        for block in blocks:
            words = " ".join(block.text_content().split())
            if words:
                level = block.tag[1] if block.tag.startswith("h") and len(block.tag) == 2 else ""
                lines += [f"{'#' * int(level)} {words}" if level else words, ""]
        body = "\n".join(lines)
    # trafilatura writes lists as "- item" and emphasis as **…**: plain text for locators.
    lines = [re.sub(r"\*\*(.+?)\*\*|__(.+?)__", r"\1\2", line) for line in body.splitlines()]
    return paragraphs_from_lines(lines, fmt="html", encoding=encoding, wrap=False)


def check_zip(content):
    """Refuse an archive that declares too much uncompressed data (a zip bomb) before reading."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile as error:
        raise ExtractionError(_("This DOCX file is damaged (it is not a valid zip).")) from error
    infos = archive.infolist()
    total = sum(info.file_size for info in infos)
    packed = sum(info.compress_size for info in infos) or 1
    if total > MAX_UNZIPPED_BYTES or total / packed > MAX_ZIP_RATIO:
        raise ExtractionError(
            _(
                "This DOCX file expands to %(size)s MB when unpacked, which is not a normal "
                "document (a zip bomb?); it was not read."
            )
            % {"size": total // (1024 * 1024)}
        )
    return archive


def _docx(content):
    check_zip(content)
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(content))
    except (PackageNotFoundError, KeyError, ValueError) as error:
        raise ExtractionError(_("This file is not a readable DOCX document.")) from error
    lines, headings = [], []
    for paragraph in document.paragraphs:
        style = (paragraph.style.name if paragraph.style is not None else "") or ""
        if style.lower().startswith(("heading", "title")) and paragraph.text.strip():
            headings.append(len(lines))
        lines.append(paragraph.text)
    return paragraphs_from_lines(lines, heading_lines=headings, fmt="docx", wrap=False)


def _pdf(content):
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(content))
        if reader.is_encrypted:
            raise ExtractionError(_("This PDF is password-protected; upload an unlocked copy."))
        if len(reader.pages) > MAX_PDF_PAGES:
            raise ExtractionError(
                _("This PDF has more than %(count)s pages.") % {"count": MAX_PDF_PAGES}
            )
        pages = [page.extract_text() or "" for page in reader.pages]
    except ExtractionError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as error:
        raise ExtractionError(_("This PDF file is damaged and could not be read.")) from error
    if not "".join(pages).strip():
        raise ExtractionError(
            _(
                "This PDF has no text layer (a scanned document?). Run it through OCR first, or "
                "paste the text."
            )
        )
    lines = []
    for page in pages:
        lines += page.splitlines()
    return paragraphs_from_lines(lines, fmt="pdf")


def detect_format(content, filename=""):
    name = (filename or "").lower()
    if content.startswith(b"%PDF-"):
        return "pdf"
    if content.startswith(b"PK\x03\x04") or name.endswith(".docx"):
        return "docx"
    if name.endswith((".html", ".htm", ".xhtml")):
        return "html"
    if name.endswith((".md", ".markdown")):
        return "markdown"
    head = content[:2048].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")) or b"<body" in head:
        return "html"
    return "text"


def extract(content=b"", filename="", *, text=None):
    """Return the paragraphs of an uploaded file (bytes) or of pasted ``text``."""
    if text is not None:
        if not text.strip():
            raise ExtractionError(_("The pasted text is empty."))
        return paragraphs_from_lines(text.splitlines(), fmt="text", encoding="utf-8")
    if len(content) > MAX_UPLOAD_BYTES:
        raise ExtractionError(
            _("The file is %(size)s MB; the limit is %(limit)s MB.")
            % {
                "size": round(len(content) / (1024 * 1024)),
                "limit": MAX_UPLOAD_BYTES // (1024 * 1024),
            }
        )
    if not content.strip():
        raise ExtractionError(_("The file is empty."))
    fmt = detect_format(content, filename)
    if fmt == "pdf":
        return _pdf(content)
    if fmt == "docx":
        return _docx(content)
    if fmt == "html":
        return _html(content)
    return _text(content, fmt)
