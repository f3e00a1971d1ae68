"""
Writes that span models: importing and exporting a forum in the ``forum-portal/1`` format.

The format is documented in ``docs/data-format.md``. One table of field specifications per
record type drives validation, import and export, so the three cannot drift apart.
"""

import datetime
import hashlib
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Q, prefetch_related_objects
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from simple_history.models import HistoricalRecords
from simple_history.utils import bulk_create_with_history, bulk_update_with_history
from taggit.models import Tag, TaggedItem

from forum_portal.validators import field_problems
from forum_portal.workflow import can_transition, publish_permission
from speakers.models import Institution, Sector, Speaker, SpeakerLink

from ..models import (
    Appearance,
    Forum,
    KeyPhrase,
    Position,
    Question,
    Session,
    SourceDocument,
    Status,
    TagName,
    Theme,
)
from ..search.indexing import deferred_indexing, schedule_records, schedule_reindex
from ..search.records import SOURCE, forum_record_keys
from ..search.signals import positions_of_themes

FORMAT = "forum-portal/1"
SLUG_RE = re.compile(r"^[-a-zA-Z0-9_]+$")
DATA_DIR = Path(__file__).resolve().parent.parent / "data"


# ---------------------------------------------------------------------------------------------
# Field specifications
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class F:
    """One key of a record: its JSON name, kind, whether required, allowed values."""

    name: str
    kind: str = "str"  # str | slug | int | date | bool | strlist | ref | reflist | links | phrases
    required: bool = False
    choices: tuple = ()
    target: str = ""  # for ref/reflist: the record type referred to
    minimum: int = 0  # for int: the smallest value allowed
    attr: str = ""  # model attribute, when it differs from the name
    default: Any = None  # when the key is omitted; None means the kind's default
    # Left out of exports while it holds its default: keys added after files were written, so
    # that exports of records that do not use them stay as they were.
    sparse: bool = False

    @property
    def model_attr(self):
        return self.attr or self.name


def _choices(text_choices):
    return tuple(text_choices.values)


SPECS = {
    "institution": [
        F("slug", "slug", True),
        F("name", required=True),
        F("name_en", required=True),
        F("short_name"),
        F("sector", required=True, choices=_choices(Sector)),
        F("country"),
        F("city"),
        F("city_en"),
        F("website"),
        F("aliases", "strlist"),
    ],
    "person": [
        F("slug", "slug", True),
        F("name", required=True),
        F("name_en", required=True),
        F("sort_name", required=True),
        F("bio"),
        F("bio_en"),
        F("aliases", "strlist"),
        F("links", "links"),
        # People and themes are public only through published forums and positions anyway,
        # so a file that does not say otherwise publishes them.
        F("status", choices=_choices(Status), default=Status.PUBLISHED),
    ],
    "source": [
        F("slug", "slug", True),
        F("title", required=True),
        F("title_en"),
        F("author"),
        F("publisher"),
        F("url"),
        F("citation"),
        F("published_on", "date"),
        F("language", required=True),
        F("full_text", required=True),
        F("provenance_note", sparse=True),
    ],
    "forum": [
        F("slug", "slug", True),
        F("name", required=True),
        F("name_en"),
        F("edition_year", "int", True),
        F("starts_on", "date"),
        F("ends_on", "date"),
        F("place"),
        F("place_en"),
        F("organisers"),
        F("organisers_en"),
        F("description"),
        F("description_en"),
        F("status", choices=_choices(Status)),
    ],
    "session": [
        F("slug", "slug", True),
        F("title", required=True),
        F("title_en"),
        F("held_on", "date"),
        F("description"),
        F("description_en"),
        F("source", "ref", target="source"),
        F("order", "int"),
    ],
    "question": [
        F("slug", "slug", True),
        F("title", required=True),
        F("title_en"),
        F("summary"),
        F("summary_en"),
        F("order", "int"),
    ],
    "theme": [
        F("slug", "slug", True),
        F("title", required=True),
        F("title_en"),
        F("summary"),
        F("summary_en"),
        F("kind", choices=_choices(Theme.Kind)),
        F("parent", "ref", target="theme"),
        F("questions", "reflist", True, target="question"),
        F("status", choices=_choices(Status), default=Status.PUBLISHED),
        F("order", "int"),
        F("curator_note", sparse=True),
        F("curator_note_en", sparse=True),
    ],
    "appearance": [
        F("session", "ref", True, target="session"),
        F("person", "ref", True, target="person", attr="speaker"),
        F("capacity", choices=_choices(Appearance.Capacity)),
        F("role"),
        F("role_en"),
        F("institution", "ref", target="institution"),
        F("as_printed"),
        F("order", "int"),
        F("role_note", sparse=True),
        F("role_note_en", sparse=True),
    ],
    "position": [
        F("ref", "slug", True),
        F("session", "ref", True, target="session"),
        F("speaker", "ref", True, target="person"),
        F("themes", "reflist", target="theme"),
        F("text", required=True),
        F("language", required=True),
        F("fidelity", required=True, choices=_choices(Position.Fidelity)),
        F(
            "attribution",
            choices=_choices(Position.Attribution),
            default=Position.Attribution.EXPLICIT,
            sparse=True,
        ),
        F("attribution_note", sparse=True),
        F("attribution_note_en", sparse=True),
        F("translation"),
        F("translation_language"),
        F("translation_provenance"),
        F("translation_reviewed_by", sparse=True),
        F("translation_reviewed_on", "date", sparse=True),
        F("source", "ref", target="source"),
        F("paragraph", "int", minimum=1),
        F("tags", "strlist"),
        F("key_phrases", "phrases", sparse=True),
        F("status", choices=_choices(Status)),
        F("featured", "bool"),
        F("order", "int"),
    ],
    # The top-level "tags" list: a tag's names in other languages (tags are named in the
    # forum's language on positions; Simplified names come from OpenCC, as other text does).
    "tag": [
        F("name", required=True),
        F("name_en", required=True),
    ],
}
# The keys of one of a position's key phrases; ``text`` is required.
KEY_PHRASE_KEYS = ("text", "translation", "paragraph")

# Record types of an import report, and the model whose permissions govern each.
IMPORT_MODELS = {
    "institution": Institution,
    "person": Speaker,
    "source": SourceDocument,
    "forum": Forum,
    "session": Session,
    "question": Question,
    "theme": Theme,
    "appearance": Appearance,
    "position": Position,
    "tag": TagName,
}
# The model fields of the values that are not written to a field of the record's own model.
TAG_NAME_FIELD = Tag._meta.get_field("name")
LINK_FIELDS = {name: SpeakerLink._meta.get_field(name) for name in ("label", "url")}
KEY_PHRASE_FIELDS = {name: KeyPhrase._meta.get_field(name) for name in ("text", "translation")}

# Where each nested list lives, and the record type of its items.
TOP_LEVEL = {"institutions": "institution", "people": "person", "sources": "source"}
FORUM_LISTS = {
    "sessions": "session",
    "questions": "question",
    "themes": "theme",
    "appearances": "appearance",
    "positions": "position",
}
# Defaults for optional keys, by kind; explicit per-key defaults override them.
KIND_DEFAULTS = {
    "str": "",
    "slug": "",
    "int": 0,
    "date": None,
    "bool": False,
    "strlist": list,
    "ref": None,
    "reflist": list,
    "links": list,
    "phrases": list,
}
KEY_DEFAULTS = {
    "status": Status.DRAFT,
    "kind": Theme.Kind.FINDING,
    "capacity": Appearance.Capacity.SPEAKER,
    "translation_language": "en",
    "paragraph": None,
}


def _default(spec):
    if spec.default is not None:
        return spec.default
    if spec.name in KEY_DEFAULTS:
        return KEY_DEFAULTS[spec.name]
    value = KIND_DEFAULTS[spec.kind]
    return value() if callable(value) else value


# ---------------------------------------------------------------------------------------------
# Errors and reports
# ---------------------------------------------------------------------------------------------


class ImportFailed(Exception):
    """The file was rejected; ``errors`` lists every problem found. Nothing was written."""

    def __init__(self, errors):
        self.errors = errors
        super().__init__("\n".join(errors))


@dataclass
class ImportReport:
    created: Counter = field(default_factory=Counter)
    updated: Counter = field(default_factory=Counter)
    unchanged: Counter = field(default_factory=Counter)
    records: list = field(default_factory=list)  # (kind, str(row), outcome) in write order

    @property
    def changed(self):
        return bool(sum(self.created.values()) or sum(self.updated.values()))

    def fingerprint(self):
        """Return a digest of what the import does to each record (to compare two runs)."""
        return hashlib.sha256(json.dumps(self.records, ensure_ascii=False).encode()).hexdigest()

    def lines(self):
        kinds = sorted(set(self.created) | set(self.updated) | set(self.unchanged))
        return [
            f"{kind}: {self.created[kind]} created, {self.updated[kind]} updated, "
            f"{self.unchanged[kind]} unchanged"
            for kind in kinds
        ]


def _label(path, record):
    key = record.get("ref") or record.get("slug") if isinstance(record, dict) else None
    if not key and isinstance(record, dict) and "person" in record:
        key = f"{record.get('person')}@{record.get('session')}"
    return f"{path} ({key!r})".replace("'", '"') if key else path


# ---------------------------------------------------------------------------------------------
# Validation (no database writes)
# ---------------------------------------------------------------------------------------------


# The record types' names in messages ('unknown person "li-si"').
KIND_NAMES = {
    "institution": gettext_lazy("institution"),
    "person": gettext_lazy("person"),
    "source": gettext_lazy("source"),
    "session": pgettext_lazy("forum session", "session"),
    "question": gettext_lazy("question"),
    "theme": gettext_lazy("theme"),
    "tag": gettext_lazy("tag"),
}


def _model_field(kind, name):
    """Return the model field a record key is written to, or None (references, lists…)."""
    if kind == "tag" and name == "name":
        return TAG_NAME_FIELD
    try:
        return IMPORT_MODELS[kind]._meta.get_field(name)
    except FieldDoesNotExist:
        return None


class _Validator:
    def __init__(self, source_name):
        self.source_name = source_name
        self.errors = []

    def error(self, where, field_name, message):
        prefix = f"{self.source_name}: {where}"
        self.errors.append(
            f"{prefix}: {field_name}: {message}" if field_name else f"{prefix}: {message}"
        )

    def record(self, kind, record, where, nested=()):
        """Check one record's keys and value types; return it with defaults filled in."""
        if not isinstance(record, dict):
            self.error(where, "", _("must be an object"))
            return None
        specs = SPECS[kind]
        names = {spec.name for spec in specs} | set(nested)
        for key in record:
            if key not in names:
                self.error(where, key, _("unknown key"))
        clean = {}
        for spec in specs:
            if spec.name not in record or record[spec.name] is None:
                if spec.required:
                    self.error(where, spec.name, _("is required"))
                clean[spec.name] = _default(spec)
                continue
            clean[spec.name] = self.value(kind, spec, record[spec.name], where)
        return clean

    def text(self, where, name, value, model_field):
        """Check a string against its model field (shared with the admin); return if valid."""
        problems = field_problems(model_field, value)
        for problem in problems:
            self.error(where, name, problem)
        return not problems

    def value(self, kind, spec, value, where):
        def bad(message):
            self.error(where, spec.name, message)
            return _default(spec)

        kind_ = spec.kind
        if kind_ in ("str", "slug", "ref"):
            if not isinstance(value, str):
                return bad(_("must be a string, not %(type)s") % {"type": type(value).__name__})
            if spec.required and not value.strip():
                return bad(_("must not be empty"))
            if kind_ == "slug" and not SLUG_RE.match(value):
                return bad(
                    _("%(value)s is not a valid slug (letters, digits, - and _)")
                    % {"value": repr(value)}
                )
            if spec.choices and value not in spec.choices:
                return bad(
                    _('"%(value)s" is not one of %(choices)s')
                    % {"value": value, "choices": ", ".join(spec.choices)}
                )
            if not self.text(where, spec.name, value, _model_field(kind, spec.model_attr)):
                return _default(spec)
            return value
        if kind_ == "int":
            if isinstance(value, bool) or not isinstance(value, int) or value < spec.minimum:
                return bad(
                    _("must be a whole number ≥ %(minimum)s, not %(value)s")
                    % {"minimum": spec.minimum, "value": repr(value)}
                )
            return value
        if kind_ == "bool":
            if not isinstance(value, bool):
                return bad(_("must be true or false, not %(value)s") % {"value": repr(value)})
            return value
        if kind_ == "date":
            if not isinstance(value, str):
                return bad(_("must be a date YYYY-MM-DD, not %(value)s") % {"value": repr(value)})
            try:
                return datetime.date.fromisoformat(value)
            except ValueError:
                return bad(_("%(value)s is not a date YYYY-MM-DD") % {"value": repr(value)})
        if kind_ in ("strlist", "reflist"):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                return bad(_("must be a list of strings"))
            if len(set(value)) != len(value):
                return bad(_("lists the same value twice"))
            if spec.required and not value:
                return bad(_("must list at least one"))
            model_field = TAG_NAME_FIELD if spec.name == "tags" else None
            valid = [self.text(where, spec.name, v, model_field) for v in value]
            return value if all(valid) else _default(spec)
        if kind_ == "links":
            ok = isinstance(value, list) and all(
                isinstance(v, dict)
                and set(v) == {"label", "url"}
                and all(isinstance(text, str) for text in v.values())
                for v in value
            )
            if not ok:
                return bad(_('must be a list of {"label": …, "url": …} objects'))
            valid = [
                self.text(where, f"links[{i}].{name}", link[name], LINK_FIELDS[name])
                for i, link in enumerate(value)
                for name in ("label", "url")
            ]
            return value if all(valid) else _default(spec)
        if kind_ == "phrases":
            return self.key_phrases(spec, value, where)
        raise AssertionError(f"unknown field kind {kind_}")  # pragma: no cover

    def key_phrases(self, spec, value, where):
        """Check a position's ``key_phrases``: a list of {"text", "translation", "paragraph"}."""
        shape = _('must be a list of {"text": …, "translation": …, "paragraph": …} objects')
        if not isinstance(value, list) or not all(
            isinstance(v, dict) and "text" in v and set(v) <= set(KEY_PHRASE_KEYS) for v in value
        ):
            self.error(where, spec.name, shape)
            return []
        phrases, ok = [], True
        for i, raw in enumerate(value):
            name = f"{spec.name}[{i}]"
            phrase = {"text": raw["text"], "translation": raw.get("translation", "")}
            phrase["paragraph"] = raw.get("paragraph")
            for key in ("text", "translation"):
                if not isinstance(phrase[key], str):
                    self.error(where, f"{name}.{key}", _("must be a string"))
                    ok = False
                elif not self.text(where, f"{name}.{key}", phrase[key], KEY_PHRASE_FIELDS[key]):
                    ok = False
            if ok and not phrase["text"].strip():
                self.error(where, f"{name}.text", _("must not be empty"))
                ok = False
            number = phrase["paragraph"]
            if number is not None and (
                isinstance(number, bool) or not isinstance(number, int) or number < 1
            ):
                self.error(
                    where,
                    f"{name}.paragraph",
                    _("must be a whole number ≥ %(minimum)s, not %(value)s")
                    % {"minimum": 1, "value": repr(number)},
                )
                ok = False
            phrases.append(phrase)
        texts = [p["text"] for p in phrases]
        if ok and len(set(texts)) != len(texts):
            self.error(where, spec.name, _("lists the same value twice"))
            ok = False
        return phrases if ok else []

    def check_refs(self, kind, record, where, known):
        for spec in SPECS[kind]:
            if spec.kind not in ("ref", "reflist") or not record.get(spec.name):
                continue
            values = record[spec.name] if spec.kind == "reflist" else [record[spec.name]]
            for value in values:
                if value not in known[spec.target]:
                    self.error(
                        where,
                        spec.name,
                        _('unknown %(kind)s "%(value)s"')
                        % {"kind": KIND_NAMES[spec.target], "value": value},
                    )


def _known_in_database(data):
    """Return the slugs the document refers to that are in the database, by record type.

    Only the referenced slugs are looked up (one query per type), not every row's.
    """
    referenced = defaultdict(set)
    forums = data.get("forums") if isinstance(data.get("forums"), list) else []
    for forum in forums:
        for list_name, kind in FORUM_LISTS.items():
            records = forum.get(list_name) if isinstance(forum, dict) else None
            for record in records if isinstance(records, list) else []:
                for spec in SPECS[kind]:
                    value = record.get(spec.name) if isinstance(record, dict) else None
                    if spec.target in TOP_LEVEL.values() and spec.kind == "ref":
                        values = [value]
                    elif spec.target in TOP_LEVEL.values() and isinstance(value, list):
                        values = value
                    else:
                        continue
                    # NUL: refused by the validator, and PostgreSQL cannot compare it.
                    referenced[spec.target] |= {
                        v for v in values if isinstance(v, str) and "\x00" not in v
                    }
    return {
        "institution": set(
            Institution.objects.filter(slug__in=referenced["institution"]).values_list(
                "slug", flat=True
            )
        ),
        "person": set(
            Speaker.objects.filter(slug__in=referenced["person"]).values_list("slug", flat=True)
        ),
        "source": set(
            SourceDocument.objects.filter(slug__in=referenced["source"]).values_list(
                "slug", flat=True
            )
        ),
        # Sessions, questions and themes are scoped to their forum; see _validate_forum.
        "session": set(),
        "question": set(),
        "theme": set(),
    }


def validate(data, *, source_name="<data>"):
    """Return the document with defaults filled in, or raise ImportFailed listing every error."""
    v = _Validator(source_name)
    if not isinstance(data, dict):
        raise ImportFailed([f"{source_name}: " + _("the file must contain a JSON object")])
    if data.get("format") != FORMAT:
        v.error(
            "format",
            "",
            _('must be "%(format)s", not %(value)s')
            % {"format": FORMAT, "value": repr(data.get("format"))},
        )
    for key in data:
        if key not in {"format", "forums", "tags", *TOP_LEVEL}:
            v.error(key, "", _("unknown key"))

    clean = {"format": FORMAT}
    for list_name, kind in TOP_LEVEL.items():
        clean[list_name] = _validate_list(v, data, list_name, kind, list_name)
    clean["tags"] = _validate_list(v, data, "tags", "tag", "tags")
    known = _known_in_database(data)
    for list_name, kind in TOP_LEVEL.items():
        known[kind] |= {r["slug"] for r in clean[list_name] if r}

    clean["forums"] = []
    for i, forum in enumerate(_as_list(v, data, "forums", "forums")):
        where = _label(f"forums[{i}]", forum)
        record = v.record("forum", forum, where, nested=FORUM_LISTS)
        if record is None:
            continue
        for list_name, kind in FORUM_LISTS.items():
            record[list_name] = _validate_list(
                v, forum, list_name, kind, f"forums[{i}].{list_name}"
            )
        _validate_forum(v, record, f"forums[{i}]", known)
        clean["forums"].append(record)
    if v.errors:
        raise ImportFailed(v.errors)
    return clean


def _as_list(v, parent, key, where):
    value = parent.get(key, [])
    if not isinstance(value, list):
        v.error(where, "", _("must be a list"))
        return []
    return value


def _validate_list(v, parent, list_name, kind, where):
    records = []
    seen = set()
    key = {"position": "ref", "tag": "name"}.get(kind, "slug")
    for i, raw in enumerate(_as_list(v, parent, list_name, where)):
        label = _label(f"{where}[{i}]", raw)
        record = v.record(kind, raw, label)
        if record is None:
            continue
        identity = record.get(key) or (record.get("session"), record.get("person"))
        if kind == "tag":  # tag names match without regard to case, as taggit's do
            identity = identity.lower()
        if identity in seen:
            v.error(label, key if key in record else "", _("appears twice in the file"))
        seen.add(identity)
        record["_where"] = label
        records.append(record)
    return records


def _validate_forum(v, forum, where, known):
    existing = Forum.objects.filter(slug=forum["slug"]).first()
    scoped = dict(known)
    for kind, model, list_name in (
        ("session", Session, "sessions"),
        ("question", Question, "questions"),
        ("theme", Theme, "themes"),
    ):
        in_db = (
            set(model.objects.filter(forum=existing).values_list("slug", flat=True))
            if existing
            else set()
        )
        scoped[kind] = in_db | {r["slug"] for r in forum[list_name]}
    for list_name, kind in FORUM_LISTS.items():
        for record in forum[list_name]:
            v.check_refs(kind, record, record["_where"], scoped)

    appearances = {(a["session"], a["person"]) for a in forum["appearances"]}
    if existing:
        appearances |= set(
            Appearance.objects.filter(session__forum=existing).values_list(
                "session__slug", "speaker__slug"
            )
        )
    for theme in forum["themes"]:
        if theme["parent"] == theme["slug"]:
            v.error(theme["_where"], "parent", _("a theme cannot be its own parent"))
    for position in forum["positions"]:
        unresolved = position["speaker"] not in known["person"]  # already reported
        if not unresolved and (position["session"], position["speaker"]) not in appearances:
            v.error(
                position["_where"],
                "speaker",
                _('"%(speaker)s" has no appearance in session "%(session)s"')
                % {"speaker": position["speaker"], "session": position["session"]},
            )
        if position["fidelity"] == Position.Fidelity.VERBATIM and not position["source"]:
            v.error(position["_where"], "source", _("a verbatim quotation needs its source"))
        for i, phrase in enumerate(position["key_phrases"]):
            if phrase["text"] not in position["text"]:
                v.error(
                    position["_where"],
                    f"key_phrases[{i}].text",
                    _("“%(phrase)s” does not occur in the position's text")
                    % {"phrase": phrase["text"]},
                )


# ---------------------------------------------------------------------------------------------
# Import
# ---------------------------------------------------------------------------------------------


def load_file(path):
    """Parse a data file; raise ImportFailed naming the file, line and column of a syntax error."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ImportFailed([f"{path.name}: cannot read the file: {exc.strerror}"]) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFailed(
            [f"{path.name}: not UTF-8 text (byte {exc.start} cannot be decoded)"]
        ) from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFailed(
            [f"{path.name}: line {exc.lineno}, column {exc.colno}: invalid JSON: {exc.msg}"]
        ) from exc
    except RecursionError as exc:
        # In English, as the other messages of this file-level step (commands print them).
        raise ImportFailed([f"{path.name}: invalid JSON: the data is nested too deeply"]) from exc


def too_deeply_nested():
    """Return the message for JSON whose nesting exceeds what the parser accepts."""
    # Python's parser gives up at its recursion limit (about 1,000 levels); real files have 4.
    return _("invalid JSON: the data is nested too deeply")


def import_forum_file(*, path, user=None, via=""):
    """Validate and import one data file; return an ImportReport or raise ImportFailed."""
    path = Path(path)
    return import_forum_data(data=load_file(path), source_name=path.name, user=user, via=via)


def import_forum_data(
    *, data, source_name="<data>", user=None, via="", dry_run=False, validated=None
):
    """
    Validate ``data`` completely, then write it in one transaction.

    Steps: structural validation (types, required keys, references); then, inside
    ``transaction.atomic``, upsert every record by its natural key, a kind at a time in bulk
    (``_Writer``), running each changed row's ``full_clean()`` (which checks, for example,
    that a verbatim quotation occurs in its source). Any error rolls the whole import back and
    raises ImportFailed. Records that already match the file are not touched, so importing the
    same file twice changes nothing. Every row written gets a history entry attributed to
    ``user`` with the reason "Import of <source_name>" (plus " (<via>)", e.g. the command that
    ran it). With ``dry_run``, nothing is written: new rows are validated unsaved and the
    report says what an import would create, update and leave alone. ``validated``: what
    ``validate(data)`` returned, when the caller has just validated it (the admin's upload
    does, before checking the workflow).
    """
    clean = validated if validated is not None else validate(data, source_name=source_name)
    reason = f"Import of {source_name} ({via})" if via else f"Import of {source_name}"
    writer = _Writer(source_name, user=user, reason=reason, dry_run=dry_run)
    # Search index: every position the import touches (or whose speaker, theme, tag… it
    # changes) is re-indexed once, by reindex_positions(), when the inner block ends.
    try:
        with transaction.atomic():
            with deferred_indexing():
                writer.write(clean)
                if writer.errors:
                    raise ImportFailed(writer.errors)  # rolls back everything written so far
            # After the re-indexing above: a transaction marked for rollback runs no more
            # queries.
            if dry_run:
                transaction.set_rollback(True)
    except IntegrityError as exc:
        # Another import created the same records (same slug or ref) while this one ran: its
        # rows were not there when this one looked, and the database refused the duplicates.
        raise ImportFailed([f"{source_name}: {changed_meanwhile()}"]) from exc
    return writer.report


def changed_meanwhile():
    """Return the message for an import that found the database changed under it."""
    return _(
        "the records of this file were changed by another import since it was checked (it may "
        "already have been imported). Nothing was imported; preview the file again."
    )


class _Writer:
    """
    Upsert validated records in dependency order, one kind at a time, in bulk.

    Each kind costs a fixed number of queries however many records the file has: one to load
    the rows the file names (by natural key) and the rows its references name, one or two to
    insert and update them with their history entries (``bulk_create_with_history`` and
    ``bulk_update_with_history``: the same reason and user as a save), a few for many-to-many
    links, tags and links. ``full_clean()`` runs on every row that changes, without the checks
    that query the database row by row (the referenced rows exist, uniqueness, check
    constraints): references come from rows just loaded or written, natural keys are unique
    in the file (the validator) and upserted, the validator checks what the check constraints
    say, and the one other unique rule (institution names) is checked here in memory.
    """

    SCOPED = ("session", "question", "theme")  # slugs unique per forum, not globally
    MODELS = IMPORT_MODELS
    BATCH_SIZE = 500

    def __init__(self, source_name, user=None, reason="", dry_run=False):
        self.source_name = source_name
        # A dry run writes nothing: it validates, compares and reports, with new rows unsaved.
        self.dry_run = dry_run
        self.user = user
        self.reason = reason
        self.errors = []
        self.cache = {}  # (kind, forum pk or None, natural key) -> row
        self.outcome = {}  # (kind, pk) -> "created" | "updated" | "unchanged"
        self.labels = {}  # (kind, pk) -> str(row), for previews
        self.updated = defaultdict(list)  # kind -> rows whose own fields changed

    @property
    def report(self):
        report = ImportReport()
        for key, outcome in self.outcome.items():
            getattr(report, outcome)[key[0]] += 1
            report.records.append((key[0], self.labels[key], outcome))
        return report

    def write(self, clean):
        for list_name, kind in TOP_LEVEL.items():
            rows = self.upsert(kind, [(record, None) for record in clean[list_name]])
            if kind == "person" and not self.errors:
                self.set_links([(obj, record["links"]) for obj, record in rows if obj])
        for i, record in enumerate(clean["forums"]):
            if self.errors:
                return
            record["_where"] = _label(f"forums[{i}]", record)
            [(forum, _record)] = self.upsert("forum", [(record, None)])
            if forum is not None:
                self.write_forum(forum, record)
        if not self.errors:
            self.set_tag_names(clean["tags"])
        if not self.errors and not self.dry_run:
            self.reindex_dependents()

    def write_forum(self, forum, record):
        for kind, list_name in (("session", "sessions"), ("question", "questions")):
            self.upsert(kind, [(item, forum) for item in record[list_name]])
        if self.errors:
            return
        # Parents first, so a child's parent reference resolves whatever the file order.
        themes = []
        for level in (
            [t for t in record["themes"] if t["parent"] is None],
            [t for t in record["themes"] if t["parent"] is not None],
        ):
            themes += self.upsert("theme", [(item, forum) for item in level])
            if self.errors:
                return
        self.set_m2m(
            "theme",
            "questions",
            [
                (theme, self.resolve_list("question", item["questions"], forum))
                for theme, item in themes
                if theme
            ],
        )
        self.upsert("appearance", [(item, forum) for item in record["appearances"]])
        if self.errors:
            return
        positions = [
            (position, item)
            for position, item in self.upsert(
                "position", [(item, forum) for item in record["positions"]]
            )
            if position
        ]
        if self.errors:
            return
        self.set_m2m(
            "position",
            "themes",
            [(p, self.resolve_list("theme", item["themes"], forum)) for p, item in positions],
        )
        self.set_tags([(p, item["tags"]) for p, item in positions])
        self.set_key_phrases([(p, item) for p, item in positions])

    # -- references ----------------------------------------------------------------------------

    def cache_key(self, kind, key, forum=None):
        return (kind, _ident(forum) if kind in self.SCOPED else None, key)

    def natural_key(self, kind, record, forum):
        if kind == "position":
            return record["ref"]
        if kind == "appearance":
            return (
                _ident(self.resolve("session", record["session"], forum)),
                _ident(self.resolve("person", record["person"])),
            )
        return record["slug"]

    def resolve(self, kind, slug, forum=None):
        """Return the row ``slug`` of ``kind`` (scoped to ``forum`` where slugs are)."""
        if slug is None:
            return None
        key = self.cache_key(kind, slug, forum)
        if key not in self.cache:
            self.load(kind, [slug], forum)
        if key not in self.cache:  # validated, then deleted by someone else since
            raise ImportFailed([f"{self.source_name}: {changed_meanwhile()}"])
        return self.cache[key]

    def resolve_list(self, kind, slugs, forum=None):
        return [self.resolve(kind, slug, forum) for slug in slugs]

    def load(self, kind, keys, forum=None):
        """Put the rows of ``kind`` named by ``keys`` that are not cached yet in the cache."""
        missing = {key for key in keys if self.cache_key(kind, key, forum) not in self.cache}
        if kind == "appearance":  # keys of unsaved sessions and people name no saved role
            missing = {
                key for key in missing if isinstance(key[0], int) and isinstance(key[1], int)
            }
        if not missing or (kind in self.SCOPED and forum.pk is None):
            return
        model = self.MODELS[kind]
        if kind == "appearance":
            rows = model.objects.filter(
                session__in={session for session, _speaker in missing},
                speaker__in={speaker for _session, speaker in missing},
            )
            found = {(row.session_id, row.speaker_id): row for row in rows}
        elif kind == "position":
            found = model.objects.in_bulk(missing, field_name="ref")
        elif kind in self.SCOPED:
            found = {row.slug: row for row in model.objects.filter(forum=forum, slug__in=missing)}
        else:
            found = model.objects.in_bulk(missing, field_name="slug")
        for key, row in found.items():
            if key in missing:
                self.cache[self.cache_key(kind, key, forum)] = row

    def preload_references(self, kind, items):
        """Load every row the items' references name that is not cached, one query a kind."""
        wanted = defaultdict(set)
        for record, _forum in items:
            for spec in SPECS[kind]:
                if spec.kind in ("ref", "reflist") and record.get(spec.name):
                    values = record[spec.name] if spec.kind == "reflist" else [record[spec.name]]
                    wanted[spec.target] |= set(values)
        forum = items[0][1]  # one forum's records (or none: the top-level lists)
        for target, slugs in wanted.items():
            self.load(target, slugs, forum)
        if kind == "position":
            self.load(
                "appearance",
                {
                    (
                        _ident(self.resolve("session", record["session"], forum)),
                        _ident(self.resolve("person", record["speaker"])),
                    )
                    for record, forum in items
                },
            )

    def values(self, kind, record, forum):
        """Return model attribute values for the scalar and single-reference keys of a record."""
        values = {}
        for spec in SPECS[kind]:
            if spec.kind in ("reflist", "links", "phrases") or (
                spec.kind == "strlist" and spec.name == "tags"
            ):
                continue  # many-to-many and key phrases: written after the row exists
            if spec.kind == "ref":
                if kind == "position" and spec.name in ("session", "speaker"):
                    continue  # together they name the appearance, below
                values[spec.model_attr] = self.resolve(spec.target, record[spec.name], forum)
            else:
                values[spec.model_attr] = record[spec.name]
        if kind == "position":
            speaker = self.resolve("person", record["speaker"])
            appearance = self.resolve(
                "appearance",
                (_ident(self.resolve("session", record["session"], forum)), _ident(speaker)),
            )
            appearance.speaker = speaker  # str(position) reads it
            values["appearance"] = appearance
        if kind in self.SCOPED:
            values["forum"] = forum
        return values

    # -- rows ----------------------------------------------------------------------------------

    def upsert(self, kind, items):
        """
        Create or update the rows of ``items`` ((record, forum) pairs, all of one forum).

        Return (row or None after a validation error, record) pairs in the items' order.
        """
        if not items:
            return []
        model = self.MODELS[kind]
        self.preload_references(kind, items)
        forum = items[0][1]
        keys = [self.natural_key(kind, record, forum) for record, forum in items]
        self.load(kind, keys, forum)
        results, created, changed_rows, changed_fields = [], [], [], set()
        for (record, forum), key in zip(items, keys, strict=True):
            values = self.values(kind, record, forum)
            obj = self.cache.get(self.cache_key(kind, key, forum))
            is_new = obj is None
            if is_new:
                obj = model()
            changed = [name for name, value in values.items() if not _same(obj, name, value)]
            for name, value in values.items():
                # Relations are set even when unchanged, so clean() and str() read them from
                # memory rather than with a query each.
                if name in changed or isinstance(value, models.Model):
                    setattr(obj, name, value)
            if not is_new and not changed:
                results.append((obj, record, "unchanged"))
                continue
            if getattr(obj, "status", None) == Status.PUBLISHED and obj.published_at is None:
                obj.published_at = timezone.now()
                changed.append("published_at")
            try:
                self.full_clean(kind, obj)
            except ValidationError as exc:
                self.add_errors(record["_where"], exc)
                results.append((None, record, ""))
                continue
            obj._change_reason = self.reason  # read by simple-history
            obj._history_user = self.user
            if is_new:
                created.append(obj)
            else:
                changed_rows.append(obj)
                changed_fields.update(changed)
            results.append((obj, record, "created" if is_new else "updated"))
        if kind == "institution":
            self.check_institution_names(results)
        if self.errors:
            return [(obj, record) for obj, record, _outcome in results]
        if not self.dry_run:
            self.save(model, created, changed_rows, changed_fields)
        self.updated[kind] += changed_rows
        for (obj, _record, outcome), key, (_item, forum) in zip(results, keys, items, strict=True):
            self.cache[self.cache_key(kind, key, forum)] = obj
            self.outcome[(kind, _ident(obj))] = outcome
            self.labels[(kind, _ident(obj))] = str(obj)
        return [(obj, record) for obj, record, _outcome in results]

    def full_clean(self, kind, obj):
        if kind == "forum":  # one row: every check, as the admin runs them
            obj.full_clean()
            return
        relations = [f.name for f in obj._meta.concrete_fields if f.is_relation]
        obj.full_clean(exclude=relations, validate_unique=False, validate_constraints=False)

    def save(self, model, created, changed, fields):
        """Insert ``created`` and update ``fields`` of ``changed``, with their history."""
        if created:
            bulk_create_with_history(
                created,
                model,
                batch_size=self.BATCH_SIZE,
                default_user=self.user,
                default_change_reason=self.reason,
            )
        if changed:
            if model is Position:  # bulk_update does not touch auto_now fields
                now = timezone.now()
                for obj in changed:
                    obj.updated_at = now
                fields = {*fields, "updated_at"}
            bulk_update_with_history(
                changed,
                model,
                sorted(fields),
                batch_size=self.BATCH_SIZE,
                default_user=self.user,
                default_change_reason=self.reason,
            )

    def check_institution_names(self, results):
        """Report new or renamed institutions whose name another one has (ignoring case)."""
        written = [
            (obj, record) for obj, record, outcome in results if outcome in ("created", "updated")
        ]
        if not written:
            return
        names = {obj.name.lower() for obj, _record in written}
        taken = dict(
            Institution.objects.annotate(lower_name=Lower("name"))
            .filter(lower_name__in=names)
            .values_list("lower_name", "pk")
        )
        constraint = next(
            c for c in Institution._meta.constraints if c.name == "institution_name_ci_unique"
        )
        seen = {}
        for obj, record in written:
            name = obj.name.lower()
            if taken.get(name, obj.pk) != obj.pk or name in seen:
                self.add_errors(
                    record["_where"],
                    ValidationError({"name": constraint.get_violation_error_message()}),
                )
            seen[name] = obj

    def add_errors(self, where, exc):
        for field_name, messages in exc.message_dict.items():
            name = "" if field_name == "__all__" else f"{field_name}: "
            for message in messages:
                self.errors.append(f"{self.source_name}: {where}: {name}{message}")

    def mark_updated(self, kind, obj):
        """Count a many-to-many-only change of an existing row as an update."""
        if self.outcome.get((kind, _ident(obj))) == "unchanged":
            self.outcome[(kind, _ident(obj))] = "updated"

    # -- links, many-to-many and tags ----------------------------------------------------------

    def set_m2m(self, kind, name, pairs):
        """Make each row's ``name`` links the given targets ((row, targets) pairs)."""
        if not pairs:
            return
        field = self.MODELS[kind]._meta.get_field(name)
        through = field.remote_field.through
        source, target = f"{field.m2m_field_name()}_id", f"{field.m2m_reverse_field_name()}_id"
        current = defaultdict(set)
        links = through.objects.filter(**{f"{source}__in": _saved(obj for obj, _other in pairs)})
        for a, b in links.values_list(source, target):
            current[a].add(b)
        changed = [
            (obj, targets)
            for obj, targets in pairs
            if current[_ident(obj)] != {_ident(t) for t in targets}
        ]
        for obj, _targets in changed:
            self.mark_updated(kind, obj)
        if not changed or self.dry_run:
            return
        ids = [obj.pk for obj, _other in changed]
        through.objects.filter(**{f"{source}__in": ids}).delete()
        _insert_rows(
            through,
            [source, target],
            [(obj.pk, t.pk) for obj, targets in changed for t in dict.fromkeys(targets)],
        )
        # As a save of the links would: one history entry per row, with its links as now.
        entries = self.MODELS[kind].history.bulk_history_create(
            [obj for obj, _other in changed],
            update=True,
            default_user=self.user,
            default_change_reason=self.reason,
        )
        entry_of = {entry.id: entry for entry in entries}
        snapshot = HistoricalRecords.m2m_models[field]
        rows = through.objects.filter(**{f"{source}__in": ids}).values_list("pk", source, target)
        _insert_rows(
            snapshot,
            ["id", source, target, "history_id"],
            [(pk, a, b, entry_of[a].pk) for pk, a, b in rows],
        )
        if kind == "position":
            schedule_reindex(ids)
        else:
            self.updated[kind] += [obj for obj, _other in changed]

    def set_tags(self, pairs):
        """Make each position's tags the given names ((position, names) pairs)."""
        if not pairs:
            return
        content_type = ContentType.objects.get_for_model(Position)
        items = TaggedItem.objects.filter(
            content_type=content_type, object_id__in=_saved(p for p, _other in pairs)
        )
        current = defaultdict(list)
        for object_id, name in items.values_list("object_id", "tag__name"):
            current[object_id].append(name)
        changed = [(p, names) for p, names in pairs if sorted(current[_ident(p)]) != sorted(names)]
        for position, _names in changed:
            self.mark_updated("position", position)
        if not changed or self.dry_run:
            return
        # Tags match case-insensitively (TAGGIT_CASE_INSENSITIVE), as the tag manager does.
        wanted = {name.lower(): name for _p, names in changed for name in names}
        tags = {
            tag.name.lower(): tag
            for tag in Tag.objects.annotate(lower_name=Lower("name")).filter(
                lower_name__in=list(wanted)
            )
        }
        tags |= self.create_tags([name for lower, name in wanted.items() if lower not in tags])
        ids = [p.pk for p, _other in changed]
        TaggedItem.objects.filter(content_type=content_type, object_id__in=ids).delete()
        _insert_rows(
            TaggedItem,
            ["content_type_id", "object_id", "tag_id"],
            [
                (content_type.pk, p.pk, tag.pk)
                for p, names in changed
                for tag in dict.fromkeys(tags[name.lower()] for name in names)
            ],
        )
        schedule_reindex(ids)

    def create_tags(self, names):
        """Create tags ``names``; return them by lower-case name.

        Slugs are made as taggit makes them, checked against the database in one query; a
        slug taken already (two names, one slug) is left to taggit's own save, which finds a
        free one.
        """
        new = [Tag(name=name, slug=Tag().slugify(name)) for name in names]
        taken = set(
            Tag.objects.filter(slug__in=[tag.slug for tag in new]).values_list("slug", flat=True)
        )
        fresh, clashing = [], []
        for tag in new:
            (clashing if not tag.slug or tag.slug in taken else fresh).append(tag)
            taken.add(tag.slug)
        Tag.objects.bulk_create(fresh)
        for tag in clashing:
            tag.slug = ""
            tag.save()
        return {tag.name.lower(): tag for tag in new}

    def set_key_phrases(self, pairs):
        """Make each position's key phrases the record's ((position, record) pairs).

        Each new phrase runs ``full_clean()``, which checks that it occurs in the position's
        text and in its source paragraph; a position whose phrases change gets them anew.
        """
        current = defaultdict(list)
        for phrase in KeyPhrase.objects.filter(
            position__in=_saved(p for p, _record in pairs)
        ).order_by("order", "pk"):
            current[phrase.position_id].append(_key_phrase_record(phrase))
        changed = []
        for position, record in pairs:
            if current[_ident(position)] == record["key_phrases"]:
                continue
            phrases = [
                KeyPhrase(position=position, order=i, **phrase)
                for i, phrase in enumerate(record["key_phrases"], start=1)
            ]
            for i, phrase in enumerate(phrases):
                try:
                    phrase.full_clean(exclude=["position"], validate_unique=False)
                except ValidationError as exc:
                    self.add_errors(f"{record['_where']}: key_phrases[{i}]", exc)
            self.mark_updated("position", position)
            changed.append((position, phrases))
        if not changed or self.errors or self.dry_run:
            return
        ids = [p.pk for p, _phrases in changed]
        KeyPhrase.objects.filter(position__in=ids).delete()
        bulk_create_with_history(
            [phrase for _p, phrases in changed for phrase in phrases],
            KeyPhrase,
            batch_size=self.BATCH_SIZE,
            default_user=self.user,
            default_change_reason=self.reason,
        )
        schedule_reindex(ids)

    def set_tag_names(self, records):
        """Give the tags of the file's ``tags`` list their English names (creating tags)."""
        if not records:
            return
        wanted = {record["name"].lower(): record for record in records}
        tags = {
            tag.name.lower(): tag
            for tag in Tag.objects.annotate(lower_name=Lower("name"))
            .filter(lower_name__in=list(wanted))
            .select_related("names")
        }
        if not self.dry_run:
            tags |= self.create_tags(
                [record["name"] for lower, record in wanted.items() if lower not in tags]
            )
        created, changed = [], []
        for lower, record in wanted.items():
            tag = tags.get(lower)
            names = getattr(tag, "names", None) if tag is not None and tag.pk else None
            if names is None:
                names = TagName(tag=tag, name_en=record["name_en"])
                outcome = "created"
                created.append(names)
            elif names.name_en != record["name_en"]:
                names.name_en = record["name_en"]
                outcome = "updated"
                changed.append(names)
            else:
                outcome = "unchanged"
            key = ("tag", _ident(tag) if tag is not None else ("unsaved", lower))
            self.outcome[key] = outcome
            self.labels[key] = record["name"]
        if self.dry_run:
            return
        TagName.objects.bulk_create(created)
        TagName.objects.bulk_update(changed, ["name_en"])
        if created or changed:
            # Positions with these tags: their search documents hold the English names.
            schedule_reindex(
                TaggedItem.objects.filter(
                    content_type=ContentType.objects.get_for_model(Position),
                    tag__in=[names.tag_id for names in created + changed],
                ).values_list("object_id", flat=True)
            )

    def set_links(self, pairs):
        """Make each speaker's links the given ones ((speaker, links) pairs)."""
        if not pairs:
            return
        current = defaultdict(list)
        for link in SpeakerLink.objects.filter(speaker__in=_saved(s for s, _other in pairs)):
            current[link.speaker_id].append({"label": link.label, "url": link.url})
        changed = [(s, links) for s, links in pairs if current[_ident(s)] != links]
        for speaker, _links in changed:
            self.mark_updated("person", speaker)
        if not changed or self.dry_run:
            return
        SpeakerLink.objects.filter(speaker__in=[s.pk for s, _other in changed]).delete()
        SpeakerLink.objects.bulk_create(
            SpeakerLink(speaker=speaker, label=link["label"], url=link["url"], order=i)
            for speaker, links in changed
            for i, link in enumerate(links)
        )

    # -- search index --------------------------------------------------------------------------

    def reindex_dependents(self):
        """Re-index the positions that show a row this import changed (bulk writes send no
        signals; positions themselves re-index through their queryset's bulk methods)."""
        lookups = {
            "person": "appearance__speaker__in",
            "institution": "appearance__institution__in",
            "appearance": "appearance__in",
            "session": "appearance__session__in",
            "forum": "appearance__session__forum__in",
        }
        condition = Q()
        for kind, lookup in lookups.items():
            if self.updated[kind]:
                condition |= Q(**{lookup: [obj.pk for obj in self.updated[kind]]})
        if self.updated["theme"]:
            condition |= Q(pk__in=positions_of_themes(self.updated["theme"]))
        if condition:
            schedule_reindex(Position.objects.filter(condition).values_list("pk", flat=True))
        # The other records search finds (passages, themes, people, forums, sessions): every
        # record of a forum the import created or changed anything in, and the people,
        # institutions and sources it changed.
        changed = [key for key, outcome in self.outcome.items() if outcome != "unchanged"]
        if not changed:
            return
        forums = {pk for kind, pk in self.outcome if kind == "forum"}
        record_kind = {"person": "speaker", "institution": "institution", "source": SOURCE}
        schedule_records(
            forum_record_keys(forums)
            | {(record_kind[kind], pk) for kind, pk in changed if kind in record_kind}
        )


def _insert_rows(model, attnames, rows):
    """Insert ``rows`` (tuples of column values) into ``model``'s table, one statement.

    For link tables (many-to-many, tags, their history): plain integer columns, no defaults,
    no signals. ``bulk_create`` compiles SQL value by value, which cost more than the
    database's own work for the tens of thousands of links of a large import.
    """
    if not rows:
        return
    quote = connection.ops.quote_name
    columns = ", ".join(quote(model._meta.get_field(name).column) for name in attnames)
    placeholders = ", ".join(["%s"] * len(attnames))
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({placeholders})",  # noqa: S608 - names from model metadata
            rows,
        )


def _ident(obj):
    """Return what identifies a row in the writer's keys: its id, or the object if unsaved."""
    return obj.pk if obj.pk is not None else ("unsaved", id(obj))


def _saved(objs):
    return [obj.pk for obj in objs if obj.pk is not None]


def _same(obj, name, value):
    """Return whether ``obj.name`` already holds ``value`` (relations compared by id)."""
    field = obj._meta.get_field(name)
    if field.is_relation:
        return getattr(obj, field.attname) == (value.pk if value is not None else None)
    return getattr(obj, name, None) == value


def bundled_data_files():
    """Return the data files shipped in ``proceedings/data/``, in name order."""
    return sorted(DATA_DIR.glob("*.json"))


# ---------------------------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------------------------


def _key_phrase_record(phrase):
    return {"text": phrase.text, "translation": phrase.translation, "paragraph": phrase.paragraph}


def _export_record(kind, obj, *, sparse=True, **overrides: Any):
    """Return ``obj`` as a record of ``kind``; ``sparse``: without sparse keys at their default."""
    out = {}
    for spec in SPECS[kind]:
        if spec.name in overrides:
            # As given, but key phrases (export_forum reads them with the other positions')
            # are left out at their default as when read here.
            value = overrides[spec.name]
            if spec.kind != "phrases" or not (sparse and value == _default(spec)):
                out[spec.name] = value
            continue
        if spec.kind == "phrases":
            value = [_key_phrase_record(phrase) for phrase in obj.key_phrases.all()]
        else:
            value = getattr(obj, spec.model_attr)
        if sparse and spec.sparse and value == _default(spec):
            continue
        if spec.kind == "date":
            value = value.isoformat() if value else None
        elif spec.kind == "ref":
            value = value.slug if value is not None else None
        out[spec.name] = value
    return out


def _export_tag_names(tag_ids):
    """Return the "tags" list: the English names of the tags ``tag_ids``, by name."""
    names = TagName.objects.filter(tag__in=tag_ids).select_related("tag")
    return sorted(
        ({"name": n.tag.name, "name_en": n.name_en} for n in names), key=lambda r: r["name"]
    )


def export_forum(*, slug, public=False):
    """Return the forum ``slug`` with everything it refers to, as a ``forum-portal/1`` dict.

    ``public``: only what the public pages show (the data downloads): the forum must be
    published, and themes, roles (so people and institutions) and positions are those of the
    models' ``.published()``; a theme's unpublished parent is left out (``parent: null``).
    """
    forum = (Forum.objects.published() if public else Forum.objects).get(slug=slug)
    sessions = list(forum.sessions.select_related("source").order_by("order", "slug"))
    questions = list(forum.questions.order_by("order", "slug"))
    all_themes = Theme.objects.published() if public else Theme.objects.all()
    themes = list(
        all_themes.filter(forum=forum)
        .select_related("parent")
        .prefetch_related("questions")
        .order_by("order", "slug")
    )
    appearances = list(
        (Appearance.objects.published() if public else Appearance.objects.all())
        .filter(session__forum=forum)
        .select_related("session", "speaker", "institution")
        .order_by("session__order", "session__slug", "order", "speaker__slug")
    )
    forum_positions = (Position.objects.published() if public else Position.objects.all()).filter(
        appearance__session__forum=forum
    )
    positions = list(
        forum_positions.select_related(
            "appearance__session", "appearance__speaker", "source"
        ).order_by("order", "ref")
    )
    # A position's themes, tags and key phrases, each read in one statement and grouped here:
    # prefetch_related() built a queryset per position and relation, about 0.6 ms a position
    # (bench/README.md, "Session 19").
    theme_slugs = _grouped(
        Position.themes.through.objects.filter(position__in=forum_positions, theme__in=all_themes)
        .order_by("theme__order", "theme__slug")
        .values_list("position_id", "theme__slug")
    )
    tagged = list(
        TaggedItem.objects.filter(
            content_type=ContentType.objects.get_for_model(Position),
            object_id__in=forum_positions.values("pk"),
        ).values_list("object_id", "tag_id", "tag__name")
    )
    tag_names = _grouped((position_id, name) for position_id, _tag_id, name in tagged)
    phrases = _grouped(
        (phrase.position_id, _key_phrase_record(phrase))
        for phrase in KeyPhrase.objects.filter(position__in=forum_positions)
    )
    exported_themes = {theme.pk for theme in themes}
    # Referenced records in order of first use (the forum's reading order), not by slug,
    # so an exported file reads like the report it came from.
    people = list(dict.fromkeys(a.speaker for a in appearances))
    institutions = list(dict.fromkeys(a.institution for a in appearances if a.institution))
    sources = list(
        dict.fromkeys(
            [s.source for s in sessions if s.source] + [p.source for p in positions if p.source]
        )
    )
    links = {s.pk: [] for s in people}
    for link in SpeakerLink.objects.filter(speaker__in=people).order_by("order", "pk"):
        links[link.speaker_id].append({"label": link.label, "url": link.url})

    def ordered(items, key):
        return sorted(items, key=key)

    forum_out = _export_record("forum", forum)
    forum_out["sessions"] = [_export_record("session", s) for s in sessions]
    forum_out["questions"] = [_export_record("question", q) for q in questions]
    forum_out["themes"] = [
        _export_record(
            "theme",
            t,
            questions=[q.slug for q in ordered(t.questions.all(), key=lambda q: (q.order, q.slug))],
            parent=t.parent.slug if t.parent_id in exported_themes else None,
        )
        for t in themes
    ]
    forum_out["appearances"] = [
        _export_record("appearance", a, session=a.session.slug, person=a.speaker.slug)
        for a in appearances
    ]
    forum_out["positions"] = [
        _export_record(
            "position",
            p,
            session=p.appearance.session.slug,
            speaker=p.appearance.speaker.slug,
            themes=theme_slugs.get(p.pk, []),
            tags=sorted(tag_names.get(p.pk, [])),
            key_phrases=phrases.get(p.pk, []),
        )
        for p in positions
    ]
    document = {
        "format": FORMAT,
        "institutions": [_export_record("institution", i) for i in institutions],
        "people": [_export_record("person", s, links=links[s.pk]) for s in people],
        "sources": [_export_record("source", s) for s in sources],
        "forums": [forum_out],
    }
    return _with_tags(document, _export_tag_names({tag_id for _pk, tag_id, _name in tagged}))


def _grouped(pairs):
    """Return ``{key: [value, ...]}`` of ``(key, value)`` pairs, values in their order."""
    groups = defaultdict(list)
    for key, value in pairs:
        groups[key].append(value)
    return groups


def dumps(data):
    """Serialise a data document the way the bundled files are written."""
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


# ---------------------------------------------------------------------------------------------
# Publishing
# ---------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------
# Admin bulk import and export (``spreadsheet`` and the admin call these)
# ---------------------------------------------------------------------------------------------


def export_record(*, kind, obj, **overrides: Any):
    """Return one row as a record of type ``kind`` in the ``forum-portal/1`` format."""
    return _export_record(kind, obj, sparse=False, **overrides)


def export_forums(*, slugs, public=False):
    """Return the forums ``slugs`` and everything they refer to, as one ``forum-portal/1`` dict.

    Institutions, people and sources shared by several forums are listed once. ``public``: as
    for ``export_forum``.
    """
    document = {"format": FORMAT, "institutions": [], "people": [], "sources": [], "forums": []}
    tags = {}
    for slug in slugs:
        one = export_forum(slug=slug, public=public)
        for list_name in TOP_LEVEL:
            listed = {record["slug"] for record in document[list_name]}
            document[list_name] += [r for r in one[list_name] if r["slug"] not in listed]
        tags |= {record["name"]: record for record in one.get("tags", [])}
        document["forums"] += one["forums"]
    if tags:
        document = _with_tags(document, [tags[name] for name in sorted(tags)])
    return document


def _with_tags(document, tags):
    """Return ``document`` with its "tags" list (after "sources"), or without one if empty:
    files written before tags had English names have none."""
    out = {key: value for key, value in document.items() if key not in ("tags", "forums")}
    if tags:
        out["tags"] = tags
    out["forums"] = document["forums"]
    return out


def export_positions(*, refs):
    """Return the positions ``refs`` as a ``forum-portal/1`` dict that imports on its own.

    Each position's forum comes with its sessions, questions and themes (what the positions
    refer to), but only the roles, people, institutions and sources the positions need.
    """
    refs = set(refs)
    slugs = (
        Forum.objects.filter(sessions__appearances__positions__ref__in=refs)
        .order_by("slug")
        .values_list("slug", flat=True)
        .distinct()
    )
    document = export_forums(slugs=list(slugs))
    for forum in document["forums"]:
        forum["positions"] = [p for p in forum["positions"] if p["ref"] in refs]
        roles = {(p["session"], p["speaker"]) for p in forum["positions"]}
        forum["appearances"] = [
            a for a in forum["appearances"] if (a["session"], a["person"]) in roles
        ]
    forums = document["forums"]
    people = {a["person"] for f in forums for a in f["appearances"]}
    institutions = {a["institution"] for f in forums for a in f["appearances"]}
    sources = {s["source"] for f in forums for s in f["sessions"]} | {
        p["source"] for f in forums for p in f["positions"]
    }
    document["people"] = [r for r in document["people"] if r["slug"] in people]
    document["institutions"] = [r for r in document["institutions"] if r["slug"] in institutions]
    document["sources"] = [r for r in document["sources"] if r["slug"] in sources]
    used = {tag for f in forums for p in f["positions"] for tag in p["tags"]}
    return _with_tags(document, [r for r in document.get("tags", []) if r["name"] in used])


def _record_changes(kind, obj, record, **overrides):
    """Return whether importing ``record`` would change ``obj`` (compared as the writer does)."""
    current = _export_record(kind, obj, sparse=False, **overrides)
    for spec in SPECS[kind]:
        old, new = current.get(spec.name), record.get(spec.name)
        if spec.kind == "reflist" or spec.name == "tags":
            old, new = sorted(old or []), sorted(new or [])
        elif spec.kind == "date" and new is not None:
            new = new.isoformat()
        if old != new:
            return True
    return False


def import_workflow_errors(*, clean, user, source_name="<data>"):
    """
    Return the changes in a validated document that the workflow does not allow ``user``.

    ``clean`` is what ``validate()`` returned. Forums, themes, people and positions keep the
    rules of ``forum_portal.workflow`` when they come from a file, as in the admin: a new row
    starts as a draft, so editors may import drafts and submit them for review; only publishers
    may import rows as published or withdrawn, move published ones, or change anything in a
    published or withdrawn row. Call it before importing: it compares with the database.
    """
    errors = []
    locked = (Status.PUBLISHED, Status.WITHDRAWN)

    def check(model, kind, record, where, obj, overrides=dict):
        old, new = obj.status if obj else Status.DRAFT, record["status"]
        if old != new and not can_transition(user, model, old, new):
            if obj is None:
                message = _("you may not import a new one as “%(new)s”") % {
                    "new": Status(new).label
                }
            else:
                message = _("you may not change the status from “%(old)s” to “%(new)s”") % {
                    "old": Status(old).label,
                    "new": Status(new).label,
                }
            errors.append(f"{source_name}: {where}: status: {message}")
        elif (
            old in locked
            and not user.has_perm(publish_permission(model))
            and _record_changes(kind, obj, record, **overrides())
        ):
            message = _("it is “%(status)s”: only publishers may change it") % {
                "status": Status(old).label
            }
            errors.append(f"{source_name}: {where}: {message}")

    people = Speaker.objects.in_bulk([r["slug"] for r in clean["people"]], field_name="slug")
    links = defaultdict(list)
    for link in SpeakerLink.objects.filter(speaker__in=people.values()).order_by("order", "pk"):
        links[link.speaker_id].append({"label": link.label, "url": link.url})
    for record in clean["people"]:
        person = people.get(record["slug"])
        check(
            Speaker,
            "person",
            record,
            record["_where"],
            person,
            lambda p=person: {"links": links[p.pk]},
        )
    forums = Forum.objects.in_bulk([f["slug"] for f in clean["forums"]], field_name="slug")
    refs = [p["ref"] for f in clean["forums"] for p in f["positions"]]
    positions = (
        Position.objects.filter(ref__in=refs)
        .select_related("appearance__session", "appearance__speaker", "source")
        .in_bulk(field_name="ref")
    )
    # Only the locked positions are compared field by field (for editors): their themes, tags
    # and key phrases, in three queries.
    prefetch_related_objects(
        [p for p in positions.values() if p.status in locked], "themes", "tags", "key_phrases"
    )
    for i, record in enumerate(clean["forums"]):
        forum = forums.get(record["slug"])
        check(Forum, "forum", record, _label(f"forums[{i}]", record), forum)
        themes = {
            theme.slug: theme
            for theme in Theme.objects.filter(forum=forum)
            .select_related("parent")
            .prefetch_related("questions")
        }
        for item in record["themes"]:
            theme = themes.get(item["slug"])
            check(
                Theme,
                "theme",
                item,
                item["_where"],
                theme,
                lambda t=theme: {"questions": [q.slug for q in t.questions.all()]},
            )
        for item in record["positions"]:
            position = positions.get(item["ref"])

            def extra(p=position):
                return {
                    "session": p.appearance.session.slug,
                    "speaker": p.appearance.speaker.slug,
                    "themes": [t.slug for t in p.themes.all()],
                    "tags": [t.name for t in p.tags.all()],
                }

            check(Position, "position", item, item["_where"], position, extra)
    return errors


def import_permission_errors(*, report, user, source_name="<data>"):
    """Return what an import (its ``report``) creates or changes that ``user`` may not."""
    errors = []
    for kind, model in IMPORT_MODELS.items():
        opts = model._meta
        for counter, action in ((report.created, "add"), (report.updated, "change")):
            if counter[kind] and not user.has_perm(f"{opts.app_label}.{action}_{opts.model_name}"):
                message = (
                    _("you may not add %(things)s (%(count)s in this file)")
                    if action == "add"
                    else _("you may not change %(things)s (%(count)s in this file)")
                )
                errors.append(
                    f"{source_name}: "
                    + message % {"things": opts.verbose_name_plural, "count": counter[kind]}
                )
    return errors
