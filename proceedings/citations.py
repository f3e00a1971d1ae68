"""
How to cite a published position: APA 7, Chicago 17, GB/T 7714-2015, BibTeX, RIS and CSL-JSON.

What is cited is what the speaker said at a forum session, as the source report gives it, read
at its permalink on this portal. ``citation_data()`` gathers the facts once (speaker, role and
institution at the time from the position's ``Appearance``, forum, session, date, report,
paragraph, absolute permalink); each ``*_citation()`` function lays them out by one style's rules
and says which rule it follows. ``citations()`` returns all of them for the position page; the
``.bib``, ``.ris`` and ``.json`` downloads use ``FORMATS``.

Rules common to the formats:

- **Title.** A position has no title of its own. A verbatim quotation is cited by its words (the
  first ``TITLE_CHARS`` characters), as a speech is by its title. A paraphrase or a rapporteur's
  summary is not the speaker's wording, so the author-date styles describe it in square brackets
  instead, as both styles describe an untitled work: ``[Paraphrase: …]``.
- **Date.** The session's day; when the report does not give it, the forum's days (a range,
  which both APA and Chicago allow), else its year.
- **Names.** Romanised names for the English-language styles, split into family and given name:
  a ``sort_name`` with a comma ("Almeida, Daniel") says so; otherwise a name in Chinese
  characters is written family name first ("Fan Jianping"), any other family name last. Chicago
  keeps Chinese names uninverted (the family name already comes first) and adds the characters;
  GB/T 7714 gives names as the source prints them.
- **Languages.** APA and Chicago follow a title in another language with its English
  translation in square brackets (both styles' rule for works in another language) and name
  forums by their English names;
  GB/T 7714 keeps the original script.
"""

import dataclasses
import datetime
import json
import re
from dataclasses import dataclass
from functools import cached_property

from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from .models import Position

TITLE_CHARS = 80
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
BIBTEX_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
# Citations are written in English whatever the page's language: these do not follow it.
DESCRIPTIONS = {
    Position.Fidelity.VERBATIM: "Verbatim quotation",
    Position.Fidelity.PARAPHRASE: "Paraphrase",
    Position.Fidelity.SUMMARY: "Rapporteur's summary",
}
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def _one_line(text):
    return " ".join(str(text or "").split())


def _shorten(text, limit=TITLE_CHARS):
    text = _one_line(text)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _sentence_case(text):
    """Return ``text`` with its first letter capitalised (the rest is left as written)."""
    return text[:1].upper() + text[1:]


def _join(*parts, sep=", "):
    return sep.join(part for part in parts if part)


# ---------------------------------------------------------------------------------------------
# The facts
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CitationData:
    """Everything a citation of one position says, taken from its rows once."""

    key: str
    url: str
    accessed: datetime.date
    text: str
    language: str
    verbatim: bool
    fidelity: str
    translation: str
    translation_language: str
    name: str  # as printed: 樊建平
    name_en: str  # romanised: Fan Jianping
    family: str
    given: str
    family_first: bool  # the romanised name is written family name first
    role: str
    role_en: str
    as_printed: str
    institution: str
    institution_en: str
    forum: str
    forum_en: str
    session: str
    session_en: str
    place: str
    place_en: str
    starts: datetime.date | None
    ends: datetime.date | None
    year: int
    source_title: str
    source_title_en: str
    source_author: str
    source_publisher: str
    source_url: str
    source_language: str
    source_year: int | None
    paragraph: int | None

    @property
    def title(self):
        return _shorten(self.text)

    @property
    def title_en(self):
        return _sentence_case(_shorten(self.translation)) if self.translation else ""

    @property
    def description(self):
        return DESCRIPTIONS.get(self.fidelity, "")

    @property
    def event_en(self):
        """Return "session, forum" in English (the forum alone when the session is named alike)."""
        session = self.session_en or self.session
        forum = self.forum_en or self.forum
        return forum if session in ("", forum) else f"{session}, {forum}"

    @property
    def role_line(self):
        """Return "樊建平, role as printed (English role, English institution)"."""
        printed = self.as_printed or _join(self.institution, self.role, sep="")
        english = _join(self.role_en, self.institution_en)
        line = _join(self.name, printed)
        return f"{line} ({english})" if english else line


def split_name(speaker):
    """Return ``(family, given, family_first)`` of a speaker's romanised name (see above)."""
    if "," in speaker.sort_name:
        family, given = (part.strip() for part in speaker.sort_name.split(",", 1))
        return family, given, False
    words = _one_line(speaker.name_en or speaker.name).split(" ")
    if len(words) == 1:
        return words[0], "", False
    if _CJK.search(speaker.name):
        return words[0], " ".join(words[1:]), True
    return words[-1], " ".join(words[:-1]), False


def citation_data(position, *, url, accessed):
    """Return the ``CitationData`` of ``position`` (joined as ``for_listing()`` joins it).

    ``url`` is the absolute permalink, ``accessed`` the day it is read (GB/T 7714, RIS, BibTeX
    and CSL-JSON record it; APA and Chicago leave it out for a stable permalink).
    """
    appearance = position.appearance
    speaker, institution = appearance.speaker, appearance.institution
    session = appearance.session
    forum = session.forum
    source = position.source
    family, given, family_first = split_name(speaker)
    if session.held_on:
        starts = ends = session.held_on
    else:
        starts, ends = forum.starts_on, forum.ends_on or forum.starts_on
    return CitationData(
        key=re.sub(r"[^A-Za-z0-9_:.-]", "-", position.ref) or f"position-{position.pk}",
        url=url,
        accessed=accessed,
        text=position.text,
        language=position.language,
        verbatim=position.fidelity == Position.Fidelity.VERBATIM,
        fidelity=position.fidelity,
        translation=position.translation,
        translation_language=position.translation_language,
        name=speaker.name,
        name_en=speaker.name_en,
        family=family,
        given=given,
        family_first=family_first,
        role=appearance.role,
        role_en=appearance.role_en,
        as_printed=appearance.as_printed,
        institution=institution.name if institution else "",
        institution_en=institution.name_en if institution else "",
        forum=forum.name,
        forum_en=forum.name_en,
        session=session.title,
        session_en=session.title_en,
        place=forum.place,
        place_en=forum.place_en,
        starts=starts,
        ends=ends,
        year=starts.year if starts else forum.edition_year,
        source_title=source.title if source else "",
        source_title_en=source.title_en if source else "",
        source_author=source.author if source else "",
        source_publisher=source.publisher if source else "",
        source_url=source.url if source else "",
        source_language=source.language if source else "",
        source_year=source.published_on.year if source and source.published_on else None,
        paragraph=position.paragraph,
    )


# ---------------------------------------------------------------------------------------------
# Styles for reading: APA 7, Chicago 17, GB/T 7714-2015
# ---------------------------------------------------------------------------------------------


class Styled:
    """A citation as pieces of text, some in italics: ``.text`` for copying, ``.html`` to show."""

    def __init__(self, *pieces):
        self.pieces = [Italic(p, None) if isinstance(p, str) else p for p in pieces if p]

    @property
    def text(self):
        return "".join(piece.text for piece in self.pieces)

    @property
    def html(self):
        def render(piece):
            if piece.lang is None:
                return conditional_escape(piece.text)
            lang = format_html(' lang="{}"', piece.lang) if piece.lang else ""
            return format_html("<i{}>{}</i>", lang, piece.text)

        return mark_safe("".join(render(piece) for piece in self.pieces))  # noqa: S308


@dataclass(frozen=True)
class Italic:
    """A piece of a citation: in italics unless ``lang`` is None; ``lang`` "" means unknown."""

    text: str
    lang: str | None


def italic(text, lang=""):
    """Return ``text`` as the title of a work, marked with its language when it is CJK."""
    return Italic(text, lang if _CJK.search(text) else "")


def _initials(given):
    """Return APA initials: "Jianping" -> "J.", "Jian-ping" -> "J.-P.", "Mary Ann" -> "M. A."."""
    return " ".join(
        "-".join(f"{part[:1].upper()}." for part in word.split("-") if part)
        for word in given.split()
    )


def _english_date(starts, ends, *, year_first):
    """Return "2025, September 20–22" (APA) or "September 20–22, 2025" (Chicago)."""
    if starts.year != ends.year:
        first = _english_date(starts, starts, year_first=year_first)
        return f"{first}–{_english_date(ends, ends, year_first=year_first)}"
    if starts == ends:
        days = f"{MONTHS[starts.month - 1]} {starts.day}"
    elif starts.month == ends.month:
        days = f"{MONTHS[starts.month - 1]} {starts.day}–{ends.day}"
    else:
        days = f"{MONTHS[starts.month - 1]} {starts.day}–{MONTHS[ends.month - 1]} {ends.day}"
    return f"{starts.year}, {days}" if year_first else f"{days}, {starts.year}"


def apa_citation(data):
    """APA 7, reference-list entry of a conference presentation (presenter, date, *title*,
    [description], event, location, URL), the report it is given in added as APA adds the work a
    part belongs to ("In author, *title* (para. N). Publisher."). The URL ends without a period.
    The title's translation and the description go in separate brackets."""
    author = _join(data.family, _initials(data.given))
    date = _english_date(data.starts, data.ends, year_first=True) if data.starts else data.year
    if data.verbatim:
        title = [italic(data.title, data.language), f" [{data.title_en}]" if data.title_en else ""]
    else:
        title = [f"[{data.description}: {data.title}]"]
    author = author if author.endswith(".") else f"{author}."  # initials end in one already
    pieces = [f"{author} ({date}). ", *title, " [Speech]. "]
    pieces.append(f"{_join(data.event_en, data.place_en or data.place)}. ")
    if data.source_title:
        pieces += [f"In {data.source_author}, " if data.source_author else "In "]
        pieces += [italic(data.source_title, data.source_language)]
        pieces += [f" [{data.source_title_en}]" if data.source_title_en else ""]
        pieces += [f" (para. {data.paragraph})" if data.paragraph else "", ". "]
        pieces += [f"{data.source_publisher}. " if data.source_publisher else ""]
    pieces.append(data.url)
    return Styled(*pieces)


def chicago_citation(data):
    """Chicago Manual of Style, 17th edition, notes-and-bibliography style: the bibliography
    entry of a speech ("Title." Speech, event, place, date.), its report added as the work it is
    published in ("In …, *title*, para. N. Publisher."), then the URL; no access date, which
    CMOS 17 does not require for a stable URL."""
    if data.family_first:
        author = _join(data.family, data.given, sep=" ")
        if data.name and data.name != author:
            author = f"{author} {data.name}"
    else:
        author = _join(data.family, data.given)
    if data.verbatim:
        title = f"“{data.title}”" + (f" [{data.title_en}]" if data.title_en else "")
    else:
        title = f"[{data.description}: {data.title}]"
    date = _english_date(data.starts, data.ends, year_first=False) if data.starts else data.year
    pieces = [f"{author}. {title}. "]
    pieces.append(f"Speech, {_join(data.event_en, data.place_en or data.place, str(date))}. ")
    if data.source_title:
        pieces += [f"In {data.source_author}, " if data.source_author else "In "]
        pieces += [italic(data.source_title, data.source_language)]
        pieces += [f" [{data.source_title_en}]" if data.source_title_en else ""]
        pieces += [f", para. {data.paragraph}" if data.paragraph else "", ". "]
        pieces += [f"{data.source_publisher}. " if data.source_publisher else ""]
    pieces.append(f"{data.url}.")
    return Styled(*pieces)


def gbt7714_citation(data):
    """GB/T 7714-2015 (顺序编码制 entry, without its number).

    A speech has no document type code of its own in the standard. It is cited as a
    contribution to the report that gives it (专著中的析出文献, §4.2: 析出文献主要责任者.
    析出文献题名[文献类型标识/文献载体标识]//专著主要责任者. 专著题名. 出版地: 出版者, 出版年:
    页码[引用日期]. 获取和访问路径.), with the report's code R (报告) and carrier code OL: it is
    read online at its permalink, which makes the 引用日期 and the access path mandatory. The
    paragraph ¶N stands where a page number would. A report with no place or year known gets
    [出版地不详] and, as the standard's estimated year, the forum's year in square brackets.
    Without a report, the position is an online electronic resource (电子资源, §4.6: [EB/OL])
    dated by its session or forum.
    """
    accessed = f"[{data.accessed.isoformat()}]"
    if not data.source_title:
        date = f"({data.starts.isoformat()})" if data.starts else f"({data.year})"
        return Styled(f"{data.name}. {data.title}[EB/OL]. {date}{accessed}. {data.url}.")
    author = f"{data.source_author}. " if data.source_author else ""
    year = data.source_year or f"[{data.year}]"
    publisher = data.source_publisher or "[出版者不详]"
    locator = f": ¶{data.paragraph}" if data.paragraph else ""
    return Styled(
        f"{data.name}. {data.title}[R/OL]//{author}{data.source_title}. "
        f"[出版地不详]: {publisher}, {year}{locator}{accessed}. {data.url}."
    )


# ---------------------------------------------------------------------------------------------
# Formats for reference managers: BibTeX, RIS, CSL-JSON
# ---------------------------------------------------------------------------------------------

_BIBTEX_ESCAPES = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def bibtex_escape(text):
    """Return ``text`` on one line with the characters TeX treats specially escaped."""
    return "".join(_BIBTEX_ESCAPES.get(char, char) for char in _one_line(text))


def _bibtex_url(url):
    # url and urldate are read verbatim (url package, biblatex): braces and backslashes, which
    # would end or escape the field, are percent-encoded instead.
    return url.replace("\\", "%5C").replace("{", "%7B").replace("}", "%7D")


def _note(data):
    """Return the note BibTeX, RIS and CSL-JSON carry: role then, fidelity, translation, report."""
    parts = [data.role_line, DESCRIPTIONS.get(data.fidelity, "")]
    if data.translation:
        parts.append(f"Translation ({data.translation_language}): {_one_line(data.translation)}")
    if data.source_title:
        report = _join(
            data.source_author,
            data.source_title,
            data.source_publisher,
            f"¶{data.paragraph}" if data.paragraph else "",
            data.source_url,
        )
        parts.append(f"In {report}")
    return ". ".join(part.rstrip(".") for part in parts if part) + "."


def bibtex_citation(data):
    """A BibTeX ``@misc`` entry (the standard types have none for a speech), readable by BibTeX
    and biblatex: ``date`` holds the day or the range, ``year``/``month`` repeat it for BibTeX.
    The key is the position's stable reference. The title is braced so styles keep its case."""
    fields = [("author", bibtex_escape(_join(data.family, data.given)))]
    fields.append(("title", "{" + bibtex_escape(data.title) + "}"))
    howpublished = _join("Speech", data.event_en, data.place_en or data.place)
    fields.append(("howpublished", bibtex_escape(howpublished)))
    fields.append(("year", str(data.year)))
    month = None
    if data.starts:
        month = BIBTEX_MONTHS[data.starts.month - 1]
        same = data.starts == data.ends
        date = data.starts.isoformat() + ("" if same else f"/{data.ends.isoformat()}")
        fields.append(("date", date))
    fields.append(("language", bibtex_escape(data.language)))
    fields.append(("note", bibtex_escape(_note(data))))
    fields.append(("url", _bibtex_url(data.url)))
    fields.append(("urldate", data.accessed.isoformat()))
    lines = [f"@misc{{{data.key},"]
    for name, value in fields:
        lines.append(f"  {name} = {{{value}}},")
        if name == "year" and month:
            lines.append(f"  month = {month},")  # the month macro, unbraced
    lines.append("}")
    return "\n".join(lines) + "\n"


def _ris_value(text):
    # RIS has no escapes: a record is lines of "TAG  - value", so a value must stay on one line.
    return _one_line(text)


def ris_citation(data):
    """An RIS record. RIS has no type for a speech: ``CPAPER`` (conference paper) is the one
    for something presented at a meeting, with the event in T2 and its place in CY. The
    translation is the translated title (TT); the affiliation then goes in AD; Y2 is the access
    date. Lines end in CRLF, as the RIS specification writes them."""
    rows = [
        ("TY", "CPAPER"),
        ("AU", _join(data.family, data.given)),
        ("TI", data.title),
        ("TT", data.title_en),
        ("T2", data.event_en),
        ("CY", data.place_en or data.place),
        ("PY", str(data.year)),
        ("DA", data.starts.strftime("%Y/%m/%d/") if data.starts else ""),
        ("LA", data.language),
        ("AD", _join(data.role_en, data.institution_en)),
        ("N1", _note(data)),
        ("UR", data.url),
        ("Y2", data.accessed.strftime("%Y/%m/%d/")),
    ]
    lines = [f"{tag}  - {_ris_value(value)}" for tag, value in rows if value]
    lines.append("ER  - ")
    return "\r\n".join(lines) + "\r\n"


def _csl_date(*days):
    return {"date-parts": [[day.year, day.month, day.day] for day in days]}


def csl_item(data):
    """Return the CSL-JSON item (type ``speech``): the event (``event-title``, and ``event``
    for processors older than CSL 1.0.2), its date as ``issued`` (a range over the forum's days),
    the report as ``container-title``, access date, note."""
    item = {
        "id": data.key,
        "type": "speech",
        "genre": "Speech",
        "title": data.title,
        "author": [{"family": data.family, "given": data.given}]
        if data.given
        else [{"literal": data.family}],
        "event-title": data.event_en,
        "event": data.event_en,
        "event-place": data.place_en or data.place,
        "language": data.language,
    }
    if data.starts:
        days = [data.starts] if data.starts == data.ends else [data.starts, data.ends]
        item["issued"] = item["event-date"] = _csl_date(*days)
    else:
        item["issued"] = {"date-parts": [[data.year]]}
    if data.source_title:
        item["container-title"] = data.source_title
        if data.source_author:
            item["container-author"] = [{"literal": data.source_author}]
        if data.source_publisher:
            item["publisher"] = data.source_publisher
    item["note"] = _note(data)
    item["URL"] = data.url
    item["accessed"] = _csl_date(data.accessed)
    return item


def csl_json_citation(data):
    """A CSL-JSON file: an array of items, here one."""
    return json.dumps([csl_item(data)], ensure_ascii=False, indent=2) + "\n"


# ---------------------------------------------------------------------------------------------
# What the page and the downloads use
# ---------------------------------------------------------------------------------------------


ORIGINAL = "original"


@dataclass(frozen=True)
class Format:
    """A citation format: how to build it, and, for files, the extension and content type."""

    slug: str
    label: str
    build: object
    extension: str = ""
    content_type: str = ""
    styled: bool = False  # True: built as ``Styled`` (text and HTML), else plain text
    # The language the citation is written in: "en", ORIGINAL (the position's own language) or
    # "" for the reference-manager formats, which are data rather than prose.
    written_in: str = ""


FORMATS = {
    f.slug: f
    for f in (
        Format("apa", _("APA (7th edition)"), apa_citation, styled=True, written_in="en"),
        Format(
            "chicago",
            _("Chicago (17th edition, bibliography)"),
            chicago_citation,
            styled=True,
            written_in="en",
        ),
        Format("gbt7714", _("GB/T 7714-2015"), gbt7714_citation, styled=True, written_in=ORIGINAL),
        Format(
            "bibtex",
            _("BibTeX"),
            bibtex_citation,
            extension="bib",
            content_type="application/x-bibtex; charset=utf-8",
        ),
        Format(
            "ris",
            _("RIS"),
            ris_citation,
            extension="ris",
            content_type="application/x-research-info-systems; charset=utf-8",
        ),
        Format(
            "csl-json",
            _("CSL-JSON"),
            csl_json_citation,
            extension="json",
            # The media type registered with IANA for CSL-JSON.
            content_type="application/vnd.citationstyles.csl+json; charset=utf-8",
        ),
    )
}
FORMATS_BY_EXTENSION = {f.extension: f for f in FORMATS.values() if f.extension}


@dataclass(frozen=True)
class Citation:
    """One format's citation of one position, as the page lists it."""

    format: Format
    data: CitationData

    @cached_property
    def built(self):
        return self.format.build(self.data)

    @property
    def text(self):
        return self.built.text if self.format.styled else self.built

    @property
    def html(self):
        return self.built.html if self.format.styled else conditional_escape(self.built)

    @property
    def slug(self):
        return self.format.slug

    @property
    def label(self):
        return self.format.label

    @property
    def extension(self):
        return self.format.extension

    @property
    def lang(self):
        """Return the BCP 47 tag of the citation's text for its ``lang`` attribute, or ""."""
        if self.format.written_in == ORIGINAL:
            return self.data.language
        return self.format.written_in


def citations(data):
    """Return a ``Citation`` of ``data`` in every format, in ``FORMATS`` order."""
    return [Citation(fmt, data) for fmt in FORMATS.values()]


def key_phrase_citations(data, phrases, style="apa"):
    """Return ``[("kp-1", Citation), …]``: each of ``phrases`` cited in ``style`` on its own.

    A key phrase is a verbatim quotation inside a paraphrase or summary (the ``KeyPhrase``
    rows of the position ``data`` describes, in order), so it is cited as one: by its own
    words, with its own paragraph, at the permalink's ``#kp-N``; every other fact is the
    position's. Each format escapes for its own syntax, as for the position.
    """
    cited = []
    for number, phrase in enumerate(phrases, start=1):
        anchor = f"kp-{number}"
        phrase_data = dataclasses.replace(
            data,
            key=f"{data.key}-{anchor}",
            url=f"{data.url}#{anchor}",
            text=phrase.text,
            translation=phrase.translation,
            verbatim=True,
            fidelity=Position.Fidelity.VERBATIM,
            paragraph=phrase.locator_paragraph,
        )
        cited.append((anchor, Citation(FORMATS[style], phrase_data)))
    return cited
