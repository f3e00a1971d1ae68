"""
Spreadsheets of positions (CSV or XLSX, one row per position) to and from the import format.

An uploaded spreadsheet is turned into a ``forum-portal/1`` document that refers to the forums,
sessions, themes and sources already in the database, and then goes through the same import
service as a JSON file (``services.import_forum_data``): the same validation (a verbatim quote
must occur in its source paragraph, a speaker needs a role in the session…), the same
all-or-nothing write and the same history entries. This module only translates: cells to
records on the way in, the service's errors back to rows and columns, and positions to rows on
the way out. The columns are documented in docs/data-format.md ("Spreadsheets of positions").

Why not django-import-export: it imports one model per resource, row by row, with per-row
validation. Our rows become records of five models (institutions, people, roles, positions and
their themes and tags) whose checks span records (the quote must occur in the session's source,
the speaker must have a role in that session) and that must be written all or nothing with one
history reason. The import service already does exactly that for JSON; converting rows into its
document keeps one import path for every format, so CSV and JSON cannot drift apart.
"""

import csv
import datetime
import hashlib
import io
import json
import re
import zipfile
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from django.db.models import Q
from django.utils.text import slugify
from django.utils.translation import gettext as _

from forum_portal.validators import field_problems
from speakers.models import Sector

from ..models import Appearance, Forum, Position, Session, SourceDocument, Status, Theme
from .documents import (
    FORMAT,
    IMPORT_MODELS,
    SLUG_RE,
    ImportFailed,
    ImportReport,
    changed_meanwhile,
    export_record,
    import_forum_data,
    import_permission_errors,
    import_workflow_errors,
    too_deeply_nested,
    validate,
)
from .merging import How, NameIndex, NameMatch, english_key, name_key

COLUMNS = (
    "forum",
    "session",
    "ref",
    "speaker",
    "speaker_en",
    "institution",
    "institution_en",
    "sector",
    "role_as_printed",
    "role",
    "role_en",
    "themes",
    "text",
    "language",
    "fidelity",
    "translation",
    "translation_provenance",
    "source",
    "paragraph",
    "tags",
    "status",
)
REQUIRED_COLUMNS = ("forum", "session", "speaker", "text", "fidelity")
# Fields of an existing position that no column holds: a row that updates it keeps them.
KEPT_POSITION_FIELDS = (
    "attribution",
    "attribution_note",
    "attribution_note_en",
    "translation_reviewed_by",
)
# Other spellings of column names that people write in a header row.
COLUMN_ALIASES = {
    "theme": "themes",
    "tag": "tags",
    "locator": "paragraph",
    "as_printed": "role_as_printed",
    "role_printed": "role_as_printed",
}
LIST_SEPARATORS = re.compile(r"[;；]")
# Upload limits (docs/deploy.md, docs/data-format.md). A 10,000-row spreadsheet of positions
# with translations is about 6.5 MB as CSV; the XLSX limits stop a small zip ("zip bomb")
# from unpacking into gigabytes of XML before a byte of it is parsed.
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_ROWS = 20_000  # data rows, not counting the header
MAX_XLSX_UNPACKED_BYTES = 50 * 1024 * 1024  # all the workbook's parts, as declared in the zip
MAX_XLSX_RATIO = 100  # unpacked / packed size of any part over 1 MB
# simple-history keeps 100 characters of "Import of <file name>".
MAX_SOURCE_NAME = 80
MAX_ENCODING_PROBLEMS = 20

# Model fields of the service's error messages, and the column they come from, by record list.
ERROR_COLUMNS = {
    "positions": {"appearance": "speaker", "translation_language": "translation"},
    "appearances": {"person": "speaker", "as_printed": "role_as_printed", "capacity": "role"},
    "people": {"slug": "speaker_en", "name": "speaker", "name_en": "speaker_en"},
    "institutions": {"slug": "institution_en", "name": "institution", "name_en": "institution_en"},
}
ERROR_RE = re.compile(
    r"^(?:forums\[(?P<forum>\d+)\]\.)?(?P<list>[a-z]+)\[(?P<index>\d+)\]"
    r'(?: \("[^"]*"\))?: (?:(?P<field>[a-z_]+): )?(?P<message>.*)$',
    re.DOTALL,
)


@dataclass(frozen=True)
class Problem:
    """Something wrong with an upload, where the editor can find it (row 1 is the header)."""

    message: str
    row: int | None = None
    column: str = ""

    def __str__(self):
        place = {"row": self.row, "column": self.column, "message": self.message}
        if self.row and self.column:
            return _("row %(row)s, column %(column)s: %(message)s") % place
        if self.row:
            return _("row %(row)s: %(message)s") % place
        if self.column:
            return _("column %(column)s: %(message)s") % place
        return self.message


class UploadFailed(Exception):
    """The file could not be read at all; ``problems`` says why."""

    def __init__(self, problems):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


# ---------------------------------------------------------------------------------------------
# Reading files
# ---------------------------------------------------------------------------------------------


def file_kind(name, content):
    """Return "json", "xlsx" or "csv" for an upload, from its name (or its first bytes)."""
    suffix = Path(name).suffix.lower()
    if suffix in (".json", ".xlsx", ".csv"):
        return suffix[1:]
    if suffix == ".xls":
        raise UploadFailed(
            [Problem(_("old Excel files (.xls) cannot be read: save it as .xlsx or CSV UTF-8"))]
        )
    if content.startswith(b"PK\x03\x04"):
        return "xlsx"
    return "json" if content.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{") else "csv"


def read_json(content, name):
    """Return the parsed JSON document of an upload; raise UploadFailed saying why it is not."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UploadFailed([_not_utf8(name, exc)]) from exc
    try:
        return json.loads(text)
    except RecursionError as exc:
        raise UploadFailed([Problem(too_deeply_nested())]) from exc
    except json.JSONDecodeError as exc:
        raise UploadFailed(
            [
                Problem(
                    _("line %(line)s, column %(col)s: invalid JSON: %(error)s")
                    % {"line": exc.lineno, "col": exc.colno, "error": exc.msg}
                )
            ]
        ) from exc


def read_rows(content, name):
    """
    Return the data rows of a CSV or XLSX upload as dicts of column name → text.

    Each row also has "_row", its number as a spreadsheet shows it (the header is row 1).
    Column names are normalised ("Role as printed" → role_as_printed); cells are stripped;
    empty rows are skipped. Raise UploadFailed when the file or its header row is unusable.
    """
    if file_kind(name, content) == "xlsx":
        records = _xlsx_records(content)
    else:
        records = _csv_records(content, name)
    if not records:
        raise UploadFailed([Problem(_("the file is empty"))])
    header_row, header = records[0]
    columns, problems = _header(header, header_row)
    if problems:
        raise UploadFailed(problems)
    rows = []
    for number, cells in records[1:]:
        if not any(cells):
            continue
        extra = [c for c in cells[len(columns) :] if c]
        if extra:
            problems.append(
                Problem(_("has more cells than the header row has columns"), row=number)
            )
        row = dict.fromkeys(COLUMNS, "")
        row.update({column: cell for column, cell in zip(columns, cells, strict=False) if column})
        # Refused before anything looks the cells up (PostgreSQL cannot store or compare them).
        problems += [
            Problem(message, row=number, column=column)
            for column in COLUMNS
            for message in field_problems(None, row[column])
        ]
        row["_row"] = number
        rows.append(row)
    if problems:
        raise UploadFailed(problems)
    return rows


def _not_utf8(name, exc):
    return Problem(
        _(
            "%(name)s is not UTF-8 text (byte %(byte)s cannot be decoded). The portal does not "
            "guess encodings: save the file as “CSV UTF-8” (or JSON in UTF-8) and upload it again."
        )
        % {"name": name, "byte": exc.start}
    )


def _csv_records(content, name):
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UploadFailed([_not_utf8(name, exc), *_undecodable_cells(content)]) from exc
    return _parse_csv(text)


def _parse_csv(text):
    first_line = text.split("\n", 1)[0]
    # Spreadsheets in some locales save "CSV" with semicolons or tabs between cells.
    delimiter = ","
    if "," not in first_line:
        delimiter = "\t" if "\t" in first_line else ";" if ";" in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return _limited(
            (number, [cell.strip() for cell in cells])
            for number, cells in enumerate(reader, start=1)
        )
    except csv.Error as exc:
        raise UploadFailed(
            [Problem(_("not a readable CSV file: %(error)s") % {"error": exc})]
        ) from exc


def _undecodable_cells(content):
    """Return a problem for each cell holding bytes that are not UTF-8 (the first few)."""
    text = content.removeprefix(b"\xef\xbb\xbf").decode("utf-8", errors="replace")
    try:
        records = _parse_csv(text)
    except UploadFailed:
        return []
    header = records[0][1] if records else []
    problems = []
    for number, cells in records:
        for i, cell in enumerate(cells):
            if "\ufffd" in cell:
                column = header[i] if i < len(header) and "\ufffd" not in header[i] else i + 1
                problems.append(
                    Problem(_("this cell is not UTF-8 text"), row=number, column=str(column))
                )
    return problems[:MAX_ENCODING_PROBLEMS]


def _limited(records):
    """Return the (number, cells) records as a list; raise UploadFailed past MAX_ROWS rows."""
    out = []
    for record in records:
        if len(out) > MAX_ROWS:  # the header and MAX_ROWS data rows are allowed
            raise UploadFailed(
                [
                    Problem(
                        _("the file has more than %(rows)s rows: split it into several imports")
                        % {"rows": f"{MAX_ROWS:,}"}
                    )
                ]
            )
        out.append(record)
    return out


def _check_xlsx_sizes(content):
    """Raise UploadFailed when the workbook would unpack to more than the limits allow.

    Reads only the zip's directory (the sizes each part declares): a part cannot unpack to
    more than it declares, since ``zipfile`` stops reading a part at its declared size.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UploadFailed([Problem(_unreadable_xlsx())]) from exc
    unpacked = sum(part.file_size for part in parts)
    if unpacked > MAX_XLSX_UNPACKED_BYTES:
        raise UploadFailed(
            [
                Problem(
                    _(
                        "the workbook unpacks to %(size)s MB, more than the %(limit)s MB allowed: "
                        "split it into several imports"
                    )
                    % {
                        "size": f"{unpacked / 2**20:,.0f}",
                        "limit": MAX_XLSX_UNPACKED_BYTES // 2**20,
                    }
                )
            ]
        )
    for part in parts:
        if part.file_size > 2**20 and part.file_size > MAX_XLSX_RATIO * max(part.compress_size, 1):
            raise UploadFailed(
                [
                    Problem(
                        _(
                            "the workbook part %(part)s is compressed %(ratio)s times, more than "
                            "a spreadsheet ever is: the file is not read"
                        )
                        % {
                            "part": part.filename,
                            "ratio": part.file_size // max(part.compress_size, 1),
                        }
                    )
                ]
            )


def _caused_by(exc, kind):
    """Return whether ``exc`` or an exception it was raised from is a ``kind``."""
    while exc is not None:
        if isinstance(exc, kind):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _unreadable_xlsx():
    return _("not a readable XLSX workbook (save it again from the spreadsheet)")


def _xlsx_records(content):
    # Imported here: openpyxl takes a while to import and only this path needs it.
    # With defusedxml installed (a dependency), openpyxl parses every part through it, which
    # refuses XML entity declarations (the "billion laughs" and external entity attacks).
    from xml.etree.ElementTree import ParseError

    import openpyxl
    from defusedxml import DefusedXmlException
    from openpyxl.utils.exceptions import InvalidFileException

    _check_xlsx_sizes(content)
    unreadable = (
        zipfile.BadZipFile,
        InvalidFileException,
        KeyError,
        OSError,
        ParseError,
        TypeError,
        ValueError,
        EOFError,
        zlib.error,
    )
    workbook = None
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        sheet = workbook.worksheets[0]  # the first sheet, whichever was open when saved
        return _limited(
            (number, [_cell_text(value) for value in values])
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1)
        )
    except unreadable as exc:
        if not _caused_by(exc, DefusedXmlException):
            raise UploadFailed([Problem(_unreadable_xlsx())]) from exc
        raise UploadFailed(
            [
                Problem(
                    _(
                        "the workbook contains XML entity declarations, which are not allowed "
                        "(save it again from the spreadsheet)"
                    )
                )
            ]
        ) from exc
    finally:
        if workbook is not None:
            workbook.close()


def _cell_text(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # spreadsheets store 7 as 7.0
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    return str(value).strip()


def _header(cells, number):
    """Return the column name of each header cell ("" for blank ones), and header problems."""
    columns, problems = [], []
    for cell in cells:
        column = re.sub(r"[\s\-]+", "_", cell.strip().lower()).replace("(s)", "s")
        column = COLUMN_ALIASES.get(column, column)
        if column and column not in COLUMNS:
            problems.append(
                Problem(
                    _("unknown column; the columns are: %(columns)s")
                    % {"columns": ", ".join(COLUMNS)},
                    row=number,
                    column=cell,
                )
            )
        elif column and column in columns:
            problems.append(Problem(_("this column appears twice"), row=number, column=cell))
        columns.append(column)
    for column in REQUIRED_COLUMNS:
        if column not in columns:
            problems.append(
                Problem(
                    _("this required column is missing (required: %(columns)s)")
                    % {"columns": ", ".join(REQUIRED_COLUMNS)},
                    column=column,
                )
            )
    return columns, problems


# ---------------------------------------------------------------------------------------------
# Rows → document
# ---------------------------------------------------------------------------------------------


@dataclass
class RowPreview:
    """One spreadsheet row as the preview shows it."""

    number: int
    ref: str = ""
    session: str = ""
    speaker: str = ""
    speaker_match: NameMatch | None = None
    speaker_new_row: int | None = None  # the row that introduces a new speaker
    institution: str = ""
    institution_match: NameMatch | None = None
    institution_new_row: int | None = None
    text: str = ""
    outcome: str = ""  # created | updated | unchanged, from the dry run
    problems: list = field(default_factory=list)  # this row's, for the row table

    @property
    def speaker_is_new(self):
        return self.speaker_new_row is not None

    @property
    def institution_is_new(self):
        return self.institution_new_row is not None


@dataclass
class TableDocument:
    """A spreadsheet converted: the document, its rows, problems, and where records came from."""

    document: dict
    rows: list
    problems: list
    # (list name, forum index or None, record index) -> spreadsheet row, to place errors.
    origins: dict = field(default_factory=dict)

    def problems_from_errors(self, errors, source_name):
        """Return the service's error lines as problems at the row and column they concern."""
        problems = []
        for error in errors:
            rest = error.removeprefix(f"{source_name}: ")
            match = ERROR_RE.match(rest)
            if not match:
                problems.append(Problem(rest))
                continue
            list_name, index = match["list"], int(match["index"])
            forum = int(match["forum"]) if match["forum"] is not None else None
            row = self.origins.get((list_name, forum, index))
            name = match["field"] or ""
            column = ERROR_COLUMNS.get(list_name, {}).get(name, name)
            if column and column not in COLUMNS:
                column = ""
            problems.append(Problem(match["message"], row=row, column=column))
        return problems


class _Converter:
    """Turn spreadsheet rows into a ``forum-portal/1`` document (see ``rows_to_document``)."""

    APPEARANCE_COLUMNS = {
        "role_as_printed": "as_printed",
        "role": "role",
        "role_en": "role_en",
        "institution": "institution",
    }

    def __init__(self, *, may_publish_people):
        self.may_publish_people = may_publish_people
        self.problems = []
        self.forums = list(Forum.objects.all())
        self.sessions = {}  # forum pk -> [Session]
        self.themes = {}  # forum pk -> [Theme]
        self.sources = list(
            SourceDocument.objects.only("pk", "slug", "title", "title_en", "language")
        )
        self.speakers = NameIndex.for_speakers()
        self.institutions = NameIndex.for_institutions()
        self.new_people = []  # records, with "_row" and "_keys"
        self.new_institutions = []
        self.by_text = None  # (role pk, text) -> existing position, for rows without a ref
        # id(new records list) -> [records indexed, {name key: first record with it}]
        self.new_keys = {}

    def problem(self, row, column, message):
        self.problems.append(Problem(message, row=row, column=column))

    # -- lookups -------------------------------------------------------------------------------

    @staticmethod
    def _find(objects, value, *, name, name_en):
        """Return the object whose slug, name or English name is ``value``, or None."""
        for obj in objects:
            if obj.slug == value:
                return obj
        key, en_key = name_key(value), english_key(value)
        for obj in objects:
            if name_key(getattr(obj, name)) == key or english_key(getattr(obj, name_en)) == en_key:
                return obj
        return None

    def forum(self, row):
        value = row["forum"]
        if not value:
            self.problem(row["_row"], "forum", _("is empty"))
            return None
        forum = self._find(self.forums, value, name="name", name_en="name_en")
        if forum is None:
            self.problem(row["_row"], "forum", _('no forum "%(value)s"') % {"value": value})
        return forum

    def session(self, forum, row):
        value = row["session"]
        if not value:
            self.problem(row["_row"], "session", _("is empty"))
            return None
        if forum.pk not in self.sessions:
            self.sessions[forum.pk] = list(Session.objects.filter(forum=forum))
        session = self._find(self.sessions[forum.pk], value, name="title", name_en="title_en")
        if session is None:
            self.problem(
                row["_row"],
                "session",
                _('no session "%(value)s" in forum "%(forum)s"')
                % {"value": value, "forum": forum.slug},
            )
        return session

    def themes_of(self, forum, row):
        if forum.pk not in self.themes:
            self.themes[forum.pk] = list(Theme.objects.filter(forum=forum))
        slugs = []
        for value in _split(row["themes"]):
            theme = self._find(self.themes[forum.pk], value, name="title", name_en="title_en")
            if theme is None:
                self.problem(
                    row["_row"],
                    "themes",
                    _('no theme "%(value)s" in forum "%(forum)s"')
                    % {"value": value, "forum": forum.slug},
                )
            elif theme.slug not in slugs:
                slugs.append(theme.slug)
        return slugs

    def source(self, row):
        value = row["source"]
        if not value:
            return None
        source = self._find(self.sources, value, name="title", name_en="title_en")
        if source is None:
            self.problem(
                row["_row"], "source", _('no source document "%(value)s"') % {"value": value}
            )
        return source

    def choice(self, row, column, choices, *, required=False):
        value = row[column].strip().lower()
        if not value:
            if required:
                self.problem(row["_row"], column, _("is empty"))
            return ""
        if value not in choices:
            self.problem(
                row["_row"],
                column,
                _('"%(value)s" is not one of %(choices)s')
                % {"value": row[column], "choices": ", ".join(choices)},
            )
            return ""
        return value

    def paragraph(self, row):
        value = row["paragraph"].lstrip("¶").strip()
        if not value:
            return None
        if not value.isdigit() or int(value) < 1:
            self.problem(
                row["_row"],
                "paragraph",
                _('"%(value)s" is not a paragraph number (1, 2, 3…)') % {"value": row["paragraph"]},
            )
            return None
        return int(value)

    # -- people and institutions ---------------------------------------------------------------

    def _new_record(self, records, name, name_en):
        """Return the first new record (of ``records``) having either name's key, or None."""
        indexed, index = self.new_keys.setdefault(id(records), [0, {}])
        for position in range(indexed, len(records)):  # index the records added since
            for key in records[position]["_keys"]:
                index.setdefault(key, position)
        self.new_keys[id(records)][0] = len(records)
        found = [index[key] for key in (name_key(name), english_key(name_en)) if key in index]
        return records[min(found)] if found else None

    def _slug(self, english, taken):
        base = slugify(english)[:100].strip("-")
        slug, n = base, 2
        while slug in taken:
            slug, n = f"{base}-{n}", n + 1
        return slug

    def person(self, row, preview):
        """Return the slug of the row's speaker (existing or new), or None after a problem."""
        name, name_en = row["speaker"], row["speaker_en"]
        preview.speaker = name or name_en
        if not name and not name_en:
            self.problem(row["_row"], "speaker", _("is empty"))
            return None
        if name in self.speakers.by_slug:
            preview.speaker_match = NameMatch(obj=self.speakers.by_slug[name], how=How.SLUG)
        else:
            preview.speaker_match = self.speakers.match(name, name_en)
        match = preview.speaker_match
        if match.ambiguous:
            self.problem(
                row["_row"],
                "speaker",
                _("could be any of %(people)s: write the name as one of them has it, or their slug")
                % {"people": "; ".join(f"{p} ({p.slug})" for p in match.ambiguous)},
            )
            return None
        if match.obj is not None:
            return match.obj.slug
        record = self._new_record(self.new_people, name, name_en)
        if record is None:
            name_en = name_en or (name if slugify(name) else "")
            if not name_en:
                self.problem(
                    row["_row"],
                    "speaker_en",
                    _("a new speaker needs a romanised or English name (it makes the slug)"),
                )
                return None
            taken = set(self.speakers.by_slug) | {r["slug"] for r in self.new_people}
            record = {
                "slug": self._slug(name_en, taken),
                "name": name or name_en,
                "name_en": name_en,
                "sort_name": name_en,
                # People are public only through published positions; the workflow still
                # decides who may create a published one (services.import_workflow_errors).
                "status": Status.PUBLISHED if self.may_publish_people else Status.DRAFT,
                "_row": row["_row"],
                "_keys": {name_key(name), english_key(name_en)} - {""},
            }
            self.new_people.append(record)
        preview.speaker_new_row = record["_row"]
        return record["slug"]

    def institution(self, row, preview):
        """Return the row's institution slug, "" when its cells are empty, None after a problem."""
        name, name_en = row["institution"], row["institution_en"]
        sector = self.choice(row, "sector", Sector.values)
        preview.institution = name or name_en
        if not name and not name_en:
            return ""
        if name in self.institutions.by_slug:
            match = NameMatch(obj=self.institutions.by_slug[name], how=How.SLUG)
        else:
            match = self.institutions.match(name, name_en)
        preview.institution_match = match
        if match.ambiguous:
            self.problem(
                row["_row"],
                "institution",
                _("could be any of %(names)s: write the name as one of them has it, or its slug")
                % {"names": "; ".join(f"{i} ({i.slug})" for i in match.ambiguous)},
            )
            return None
        if match.obj is not None:
            return match.obj.slug
        record = self._new_record(self.new_institutions, name, name_en)
        if record is None:
            name_en = name_en or (name if slugify(name) else "")
            if not name_en:
                self.problem(
                    row["_row"],
                    "institution_en",
                    _("a new institution needs an English name (it makes the slug)"),
                )
                return None
            if not sector:
                self.problem(
                    row["_row"],
                    "sector",
                    _("a new institution needs its sector: one of %(choices)s")
                    % {"choices": ", ".join(Sector.values)},
                )
                return None
            taken = set(self.institutions.by_slug) | {r["slug"] for r in self.new_institutions}
            record = {
                "slug": self._slug(name_en, taken),
                "name": name or name_en,
                "name_en": name_en,
                "sector": sector,
                "_row": row["_row"],
                "_keys": {name_key(name), english_key(name_en)} - {""},
            }
            self.new_institutions.append(record)
        preview.institution_new_row = record["_row"]
        return record["slug"]

    # -- the document --------------------------------------------------------------------------

    def convert(self, rows):
        items = []  # (row, preview, forum, session, speaker slug, institution slug, position)
        previews = []
        for row in rows:
            preview = RowPreview(number=row["_row"], ref=row["ref"], text=row["text"])
            previews.append(preview)
            before = len(self.problems)
            forum = self.forum(row)
            session = self.session(forum, row) if forum else None
            speaker = self.person(row, preview)
            institution = self.institution(row, preview)
            themes = self.themes_of(forum, row) if forum else []
            if not row["text"]:
                self.problem(row["_row"], "text", _("is empty"))
            position = {
                "ref": row["ref"],
                "themes": themes,
                "text": row["text"],
                "language": row["language"],
                "fidelity": self.choice(row, "fidelity", Position.Fidelity.values, required=True),
                "translation": row["translation"],
                "translation_provenance": row["translation_provenance"],
                "source": self.source(row),
                "paragraph": self.paragraph(row),
                "tags": list(dict.fromkeys(_split(row["tags"]))),
                "status": self.choice(row, "status", Status.values),
            }
            if row["ref"] and not SLUG_RE.match(row["ref"]):
                self.problem(row["_row"], "ref", _("may hold only letters, digits, - and _"))
            if session is not None:
                preview.session = session.slug
            if len(self.problems) == before:
                items.append((row, preview, forum, session, speaker, institution, position))
        return self.document(items), previews

    def document(self, items):
        forums = list(dict.fromkeys(item[2] for item in items))
        existing = self.existing_positions(items, forums)
        roles = {
            (a.session_id, a.speaker.slug): a
            for a in Appearance.objects.filter(
                session__in={item[3] for item in items}
            ).select_related("speaker", "institution")
        }
        position_order = defaultdict(int)
        for position in existing.values():
            position_order[position.forum_id] = max(
                position_order[position.forum_id], position.order
            )
        role_order = defaultdict(int)
        for role in roles.values():
            role_order[role.session_id] = max(role_order[role.session_id], role.order)

        document = {
            "format": FORMAT,
            "institutions": [],
            "people": [],
            "sources": [],
            "forums": [],
        }
        origins = {}
        for i, record in enumerate(self.new_institutions):
            origins[("institutions", None, i)] = record["_row"]
            document["institutions"].append(_public(record))
        for i, record in enumerate(self.new_people):
            origins[("people", None, i)] = record["_row"]
            document["people"].append(_public(record))

        seen_refs, seen_texts = {}, {}
        for f, forum in enumerate(forums):
            out = {
                **export_record(kind="forum", obj=forum),
                "sessions": [],
                "questions": [],
                "themes": [],
                "appearances": [],
                "positions": [],
            }
            groups = {}  # (session, person) -> {"rows": [...], column: (value, row)}
            for row, preview, _forum, session, speaker, institution, position in (
                item for item in items if item[2] == forum
            ):
                number = row["_row"]
                role = roles.get((session.pk, speaker))
                ref, old = self.ref(row, position, forum, session, speaker, role, existing)
                content = (session.pk, speaker, position["text"])
                if ref in seen_refs:
                    column = "ref" if row["ref"] else "text"
                    self.problem(number, column, _duplicate(seen_refs[ref], row["ref"]))
                    continue
                if content in seen_texts:
                    self.problem(number, "text", _duplicate(seen_texts[content], ""))
                    continue
                seen_refs[ref], seen_texts[content] = number, number
                preview.ref = ref
                group = groups.setdefault((session, speaker), {"_row": number, "_role": role})
                cells = {**row, "institution": institution}
                for column in self.APPEARANCE_COLUMNS:
                    if not cells[column]:
                        continue
                    value, first = group.get(column, (cells[column], number))
                    if value != cells[column]:
                        self.problem(
                            number,
                            column,
                            _(
                                "differs from row %(row)s: a speaker has one role per session, "
                                "so all their rows in a session must agree"
                            )
                            % {"row": first},
                        )
                    group.setdefault(column, (cells[column], number))
                source = position["source"]
                # What the columns do not hold, an existing position keeps.
                kept = {}
                if old is not None:
                    order, featured, language = old.order, old.featured, old.language
                    translation_language, status = old.translation_language, old.status
                    kept = {
                        **{name: getattr(old, name) for name in KEPT_POSITION_FIELDS},
                        "translation_reviewed_on": old.translation_reviewed_on
                        and old.translation_reviewed_on.isoformat(),
                        "key_phrases": [
                            {"text": k.text, "translation": k.translation, "paragraph": k.paragraph}
                            for k in old.key_phrases.all()
                        ],
                    }
                else:
                    position_order[forum.pk] += 1
                    order, featured, translation_language = position_order[forum.pk], False, "en"
                    language = source.language if source else "zh-Hant"
                    status = Status.DRAFT
                origins[("positions", f, len(out["positions"]))] = number
                out["positions"].append(
                    {
                        **position,
                        "ref": ref,
                        "session": session.slug,
                        "speaker": speaker,
                        "language": position["language"] or language,
                        "translation_language": translation_language,
                        "source": source.slug if source else None,
                        "status": position["status"] or status,
                        "featured": featured,
                        "order": order,
                        **kept,
                    }
                )
            for (session, speaker), group in groups.items():
                role = group["_role"]
                values = {
                    key: group[column][0] if column in group else None
                    for column, key in self.APPEARANCE_COLUMNS.items()
                }
                if role is None:
                    role_order[session.pk] += 1
                origins[("appearances", f, len(out["appearances"]))] = group["_row"]
                out["appearances"].append(
                    {
                        "session": session.slug,
                        "person": speaker,
                        # An empty cell leaves what the database has (a role is shared by rows).
                        "capacity": role.capacity if role else Appearance.Capacity.SPEAKER,
                        "role": _or(values["role"], role, "role"),
                        "role_en": _or(values["role_en"], role, "role_en"),
                        "institution": values["institution"]
                        or (role.institution.slug if role and role.institution else None),
                        "as_printed": _or(values["as_printed"], role, "as_printed"),
                        "order": role.order if role else role_order[session.pk],
                        "role_note": role.role_note if role else "",
                        "role_note_en": role.role_note_en if role else "",
                    }
                )
            document["forums"].append(out)
        return TableDocument(document=document, rows=[], problems=[], origins=origins)

    def existing_positions(self, items, forums):
        """Return the positions the rows may update, by ref (with ``forum_id`` annotated)."""
        refs = {item[6]["ref"] for item in items if item[6]["ref"]}
        found = {
            p.ref: p
            for p in Position.objects.select_related("appearance__session")
            .prefetch_related("key_phrases")
            .filter(Q(appearance__session__forum__in=forums) | Q(ref__in=refs))
        }
        for position in found.values():
            position.forum_id = position.appearance.session.forum_id
        return found

    def ref(self, row, position, forum, session, speaker, role, existing):
        """Return the row's ref (given, an existing position's with the same text, or new)."""
        if row["ref"]:
            return row["ref"], existing.get(row["ref"])
        if role is not None:
            if self.by_text is None:  # built once: the first of each (role, text), as found
                self.by_text = {}
                for old in existing.values():
                    self.by_text.setdefault((old.appearance_id, old.text), old)
            old = self.by_text.get((role.pk, position["text"]))
            if old is not None:
                return old.ref, old
        digest = hashlib.sha1(  # noqa: S324 - a stable short key, not a security measure
            f"{forum.slug}\n{session.slug}\n{position['text']}".encode()
        ).hexdigest()[:10]
        return f"{speaker[:100]}-{digest}", None


def _split(value):
    return [item.strip() for item in LIST_SEPARATORS.split(value or "") if item.strip()]


def _public(record):
    return {key: value for key, value in record.items() if not key.startswith("_")}


def _or(value, role, attr):
    if value:
        return value
    return getattr(role, attr) if role is not None else ""


def _duplicate(row, ref):
    if ref:
        return _('"%(ref)s" is also the ref of row %(row)s') % {"ref": ref, "row": row}
    return _("the same position (session, speaker and text) as row %(row)s") % {"row": row}


def rows_to_document(rows, *, may_publish_people=True):
    """
    Return a TableDocument: the ``forum-portal/1`` document for spreadsheet ``rows``, the preview
    of each row, and every problem found, by row and column.

    Forums, sessions, themes and sources must already exist (named by slug, name or title).
    Speakers and institutions are matched against the database (``merging.NameIndex``); the
    others become new records with slugs made from their English names. Rows with problems are
    left out of the document, so that a dry run of the rest still finds the problems only the
    import service can see (a verbatim quote not in its source…).
    """
    converter = _Converter(may_publish_people=may_publish_people)
    table, previews = converter.convert(rows)
    table.rows = previews
    table.problems = sorted(converter.problems, key=lambda p: p.row or 0)
    return table


# ---------------------------------------------------------------------------------------------
# Uploads: preview (dry run) and import
# ---------------------------------------------------------------------------------------------


@dataclass
class UploadResult:
    """What an upload would do (``committed`` False) or did; ``ok`` when nothing is wrong."""

    name: str
    kind: str = ""
    problems: list = field(default_factory=list)
    report: ImportReport | None = None
    rows: list = field(default_factory=list)
    committed: bool = False

    @property
    def ok(self):
        return not self.problems and self.report is not None

    def summary(self):
        """Return (record type, created, updated, unchanged) per record type the file names."""
        report = self.report
        if report is None:
            return []
        return [
            (_kind_label(kind), report.created[kind], report.updated[kind], report.unchanged[kind])
            for kind in IMPORT_MODELS
            if report.created[kind] or report.updated[kind] or report.unchanged[kind]
        ]

    def records(self):
        """Return (record type, label, outcome) for every record, created and updated first."""
        if self.report is None:
            return []
        rank = {"created": 0, "updated": 1, "unchanged": 2}
        return sorted(
            ((_kind_label(kind), label, outcome) for kind, label, outcome in self.report.records),
            key=lambda record: rank[record[2]],
        )


def _kind_label(kind):
    model = IMPORT_MODELS.get(kind)
    return model._meta.verbose_name if model else kind


def source_name_for(name):
    """Return the upload's file name as history records it ("Import of <name>")."""
    name = Path(name).name or "upload"
    return name if len(name) <= MAX_SOURCE_NAME else f"{name[: MAX_SOURCE_NAME - 1]}…"


def check_upload(*, content, name, user, commit=False, expected=""):
    """
    Validate an uploaded file completely and return an UploadResult.

    The file is JSON in the import format, or a CSV or XLSX of positions (converted by
    ``rows_to_document``). Either way ``services.import_forum_data`` runs on it: as a dry run
    (everything written, then rolled back) unless ``commit``, when it is written for real, all
    or nothing, attributed to ``user`` ("Import of <file name>"). ``user`` must also be allowed
    every record type the file adds or changes and every status it sets; otherwise nothing is
    written and the result lists why. ``expected``: the fingerprint of the preview
    (``result.report.fingerprint()``); when the import would now do anything else (another
    editor imported the file, or changed its records, since the preview), nothing is written.
    """
    source_name = source_name_for(name)
    result = UploadResult(name=source_name)
    table = None
    try:
        result.kind = file_kind(name, content)
        if result.kind == "json":
            data = read_json(content, source_name)
        else:
            table = rows_to_document(
                read_rows(content, source_name),
                may_publish_people=user.has_perm("speakers.publish_speaker"),
            )
            data, result.rows, result.problems = table.document, table.rows, table.problems
    except UploadFailed as exc:
        result.problems = exc.problems
        return result

    def place(errors):
        if table is not None:
            return table.problems_from_errors(errors, source_name)
        return [Problem(error) for error in errors]

    try:
        clean = validate(data, source_name=source_name)
    except ImportFailed as exc:
        result.problems += place(exc.errors)
        return result
    errors = import_workflow_errors(clean=clean, user=user, source_name=source_name)
    write = commit and not errors and not result.problems
    try:
        with transaction.atomic():
            report = import_forum_data(
                data=data, source_name=source_name, user=user, dry_run=not write, validated=clean
            )
            errors += import_permission_errors(report=report, user=user, source_name=source_name)
            if expected and report.fingerprint() != expected:
                errors.append(f"{source_name}: {changed_meanwhile()}")
            if errors:
                transaction.set_rollback(True)
    except ImportFailed as exc:
        errors += exc.errors
        report = None
    # By row (problems of the whole file first); within a row, in the order they were found.
    result.problems = sorted([*result.problems, *place(errors)], key=lambda p: p.row or 0)
    for preview in result.rows:
        preview.problems = [p for p in result.problems if p.row == preview.number]
    if result.problems:
        return result
    result.report, result.committed = report, write
    if table is not None:
        # The report lists records in the order they were written, and the service writes a
        # forum's positions in document order: the n-th position record is the n-th row.
        outcomes = [outcome for kind, _label, outcome in report.records if kind == "position"]
        placed = [p for p in result.rows if p.ref]
        if len(outcomes) == len(placed):
            for preview, outcome in zip(placed, outcomes, strict=True):
                preview.outcome = outcome
    return result


# ---------------------------------------------------------------------------------------------
# Positions → rows (exports)
# ---------------------------------------------------------------------------------------------


def position_rows(positions):
    """Return one dict per position, with the import's columns (re-importable as it is)."""
    positions = positions.select_related(
        "appearance__speaker",
        "appearance__institution",
        "appearance__session__forum",
        "source",
    ).prefetch_related("themes", "tags")
    rows = []
    for p in positions.order_by("appearance__session__forum__slug", "order", "ref"):
        role, institution = p.appearance, p.appearance.institution
        themes = sorted(p.themes.all(), key=lambda t: (t.order, t.slug))
        rows.append(
            {
                "forum": role.session.forum.slug,
                "session": role.session.slug,
                "ref": p.ref,
                "speaker": role.speaker.name,
                "speaker_en": role.speaker.name_en,
                "institution": institution.name if institution else "",
                "institution_en": institution.name_en if institution else "",
                "sector": institution.sector if institution else "",
                "role_as_printed": role.as_printed,
                "role": role.role,
                "role_en": role.role_en,
                "themes": "; ".join(t.slug for t in themes),
                "text": p.text,
                "language": p.language,
                "fidelity": p.fidelity,
                "translation": p.translation,
                "translation_provenance": p.translation_provenance,
                "source": p.source.slug if p.source else "",
                "paragraph": p.paragraph or "",
                "tags": "; ".join(sorted(tag.name for tag in p.tags.all())),
                "status": p.status,
            }
        )
    return rows


def positions_csv(positions):
    """Return the positions as CSV bytes: UTF-8 with a byte order mark, so Excel reads it."""
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(position_rows(positions))
    return out.getvalue().encode("utf-8-sig")


# ---------------------------------------------------------------------------------------------
# CSV for readers (the public downloads)
# ---------------------------------------------------------------------------------------------

# A spreadsheet runs a cell starting with one of these as a formula (CSV injection: a quote
# "=HYPERLINK(…)" would become a live link or worse in a reader's Excel).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")
CSV_CHUNK_ROWS = 500


def spreadsheet_safe(value):
    """Return ``value`` so that no spreadsheet reads it as a formula.

    Text starting with ``= + - @`` or a tab or line break gets a leading apostrophe, which
    spreadsheets show as text and hide (OWASP's advice); anything else is returned as it is.
    Only for files people open in spreadsheets: the admin's export stays exact, to re-import.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return f"'{value}"
    return value


class _Lines:
    """A file-like object whose ``write`` returns what it was given (for streaming csv)."""

    def write(self, text):
        return text


def csv_line(cells):
    """Return the CSV line of ``cells`` (made ``spreadsheet_safe``), as ``stream_csv`` takes it."""
    # A writer a line: its record buffer is not safe to share between threads.
    return csv.writer(_Lines()).writerow([spreadsheet_safe(cell) for cell in cells])


def stream_csv(header, lines):
    """Yield a CSV file as UTF-8 bytes: a byte order mark (so Excel reads Chinese right), the
    header, then ``lines`` (``csv_line()``'s) a chunk at a time.

    Memory stays bounded by one chunk of lines, however many there are.
    """
    yield ("\ufeff" + csv_line(header)).encode()
    chunk = []
    for line in lines:
        chunk.append(line)
        if len(chunk) >= CSV_CHUNK_ROWS:
            yield "".join(chunk).encode()
            chunk = []
    if chunk:
        yield "".join(chunk).encode()
