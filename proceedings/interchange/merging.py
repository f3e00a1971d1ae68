"""
Speakers and institutions that look like the same one: finding them, and merging two into one.

Two records "look alike" when their names are equal once both are written in Simplified script
(OpenCC ``t2s``: 王戰 and 王战), when their English names are equal ignoring case, or when one's
alias is the other's name. The same comparison (``NameIndex``) matches the people and
institutions of an uploaded spreadsheet against the database (``spreadsheet``), so an import
and the duplicates page agree on what "the same name" means.
"""

import threading
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache, lru_cache

import opencc
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from speakers.models import Institution, Speaker

from ..models import Appearance, Position
from ..redirects import record_slug_change
from ..search.indexing import deferred_indexing

# simple-history stores the change reason in a 100-character column.
REASON_MAX_LENGTH = 100

# Middle dots of transliterated foreign names (丹尼爾·阿爾梅達) come in several code points.
_DOTS = str.maketrans({"・": "·", "•": "·", "‧": "·", "･": "·"})
_lock = threading.Lock()


@cache
def _t2s():
    return opencc.OpenCC("t2s.json")


@lru_cache(maxsize=100_000)  # an import compares the same few names thousands of times
def name_key(text: str) -> str:
    """Return ``text`` in the form names are compared in: NFKC, Simplified script, casefolded.

    Runs of white space become one space, so "Wang  Zhan " and "wang zhan" compare equal.
    """
    text = unicodedata.normalize("NFKC", text or "").translate(_DOTS)
    # OpenCC converters are not documented as thread-safe; a name converts in microseconds.
    with _lock:
        text = _t2s().convert(text)
    return " ".join(text.casefold().split())


def english_key(text: str) -> str:
    """Return an English name in the form it is compared in: casefolded, spaces collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text or "").casefold().split())


# ---------------------------------------------------------------------------------------------
# Matching names against the database
# ---------------------------------------------------------------------------------------------


class How:
    """Why a name matched a record (shown to editors in import previews)."""

    SLUG = "slug"
    NAME = "name"
    NAME_OTHER_SCRIPT = "name-other-script"
    ENGLISH = "english"
    ALIAS = "alias"

    @staticmethod
    def label(how):
        return {
            How.SLUG: _("by slug"),
            How.NAME: _("by name"),
            How.NAME_OTHER_SCRIPT: _("by name in the other script"),
            How.ENGLISH: _("by English name"),
            How.ALIAS: _("by alias"),
        }.get(how, "")


@dataclass
class NameMatch:
    """The outcome of looking a name up: the record (or None), how, and any other candidates."""

    obj: object = None
    how: str = ""
    ambiguous: list = field(default_factory=list)

    @property
    def how_label(self):
        return How.label(self.how)


class NameIndex:
    """Speakers or institutions indexed by the keys of their names, English names and aliases.

    Built once per import from one query (names are compared after OpenCC conversion, which
    SQL cannot do); ``match()`` then costs no query.
    """

    def __init__(self, objects):
        self.objects = list(objects)
        self.by_slug = {obj.slug: obj for obj in self.objects}
        self.names = defaultdict(list)
        self.english = defaultdict(list)
        self.aliases = defaultdict(list)
        for obj in self.objects:
            self.names[name_key(obj.name)].append(obj)
            if obj.name_en:
                self.english[english_key(obj.name_en)].append(obj)
            for alias in obj.aliases or []:
                if isinstance(alias, str) and alias.strip():
                    self.aliases[name_key(alias)].append(obj)

    @classmethod
    def for_speakers(cls):
        return cls(Speaker.objects.only("pk", "slug", "name", "name_en", "aliases", "status"))

    @classmethod
    def for_institutions(cls):
        return cls(Institution.objects.only("pk", "slug", "name", "name_en", "aliases", "sector"))

    def match(self, name: str, name_en: str = "") -> NameMatch:
        """Return the record ``name`` (original script) and ``name_en`` designate, if one does.

        A name matches a record's name in either script, an English name matches its English
        name ignoring case, and either matches one of its aliases. When several records match,
        the one matching both names wins; otherwise the match is ambiguous.
        """
        key, en_key = name_key(name), english_key(name_en)
        by_name = self.names.get(key, []) if key else []
        by_english = self.english.get(en_key, []) if en_key else []
        if key and not by_name:
            # A Latin-script name in the "name" column may be a record's English name.
            by_english = [*by_english, *self.english.get(english_key(name), [])]
        by_alias = [
            *(self.aliases.get(key, []) if key else []),
            *(self.aliases.get(name_key(name_en), []) if en_key else []),
        ]
        candidates = list(dict.fromkeys([*by_name, *by_english, *by_alias]))
        if not candidates:
            return NameMatch()
        if len(candidates) > 1:
            both = [obj for obj in by_name if obj in by_english]
            if len(both) != 1:
                return NameMatch(ambiguous=candidates)
            candidates = both
        obj = candidates[0]
        if obj in by_name:
            how = How.NAME if obj.name == name else How.NAME_OTHER_SCRIPT
        elif obj in by_english:
            how = How.ENGLISH
        else:
            how = How.ALIAS
        return NameMatch(obj=obj, how=how)


# ---------------------------------------------------------------------------------------------
# Duplicate detection
# ---------------------------------------------------------------------------------------------


@dataclass
class DuplicatePair:
    """Two records that look like one; ``first`` is the older (lower id)."""

    first: object
    second: object
    reasons: list

    @property
    def key(self):
        return (self.first.pk, self.second.pk)


def _duplicate_pairs(objects):
    index = NameIndex(objects)
    reasons = defaultdict(list)

    def add(a, b, reason):
        if a.pk == b.pk:
            return
        pair = (a, b) if a.pk < b.pk else (b, a)
        if reason not in reasons[pair]:
            reasons[pair].append(reason)

    for group in index.names.values():
        for i, a in enumerate(group):
            for b in group[i + 1 :]:
                add(
                    a,
                    b,
                    _("same name") if a.name == b.name else _("same name in another script"),
                )
    for group in index.english.values():
        for i, a in enumerate(group):
            for b in group[i + 1 :]:
                add(a, b, _("same English name"))
    for obj in index.objects:
        for alias in obj.aliases or []:
            if not isinstance(alias, str) or not alias.strip():
                continue
            others = index.names.get(name_key(alias), []) + index.english.get(
                english_key(alias), []
            )
            for other in others:
                add(
                    obj,
                    other,
                    _("“%(alias)s”, an alias of %(owner)s, is the name of %(other)s")
                    % {"alias": alias, "owner": obj.name, "other": other.name},
                )
    pairs = [DuplicatePair(first=a, second=b, reasons=r) for (a, b), r in reasons.items()]
    return sorted(pairs, key=lambda pair: pair.key)


def find_duplicate_speakers():
    """Return the pairs of speakers that look like the same person, ordered by their ids.

    Every speaker is read once (only the name columns): names are compared after OpenCC
    conversion, which the database cannot do.
    """
    return _duplicate_pairs(Speaker.objects.only("pk", "slug", "name", "name_en", "aliases"))


def find_duplicate_institutions():
    """Return the pairs of institutions that look like the same one, ordered by their ids."""
    return _duplicate_pairs(Institution.objects.only("pk", "slug", "name", "name_en", "aliases"))


# ---------------------------------------------------------------------------------------------
# Merging
# ---------------------------------------------------------------------------------------------


@dataclass
class MergeResult:
    """What a merge did (or, as a dry run, would do), for the messages editors see."""

    moved_roles: int = 0
    merged_roles: int = 0
    moved_positions: int = 0
    aliases_added: list = field(default_factory=list)
    old_url: str = ""
    new_url: str = ""


def _reason(text):
    return text if len(text) <= REASON_MAX_LENGTH else f"{text[: REASON_MAX_LENGTH - 1]}…"


def _save(obj, *, user, reason, update_fields=None):
    obj._change_reason = _reason(reason)  # read by simple-history
    obj._history_user = user
    obj.save(update_fields=update_fields)


def _delete(obj, *, user, reason):
    obj._change_reason = _reason(reason)
    obj._history_user = user
    obj.delete()


def _merged_aliases(keep, duplicate):
    """Return keep's aliases plus the duplicate's names and aliases, and the ones added.

    Exact spellings are kept (not their normal forms): a Simplified alias is what a reader
    searching in Simplified script types.
    """
    current = [a for a in keep.aliases or [] if isinstance(a, str)]
    aliases = list(current)
    for alias in [duplicate.name, duplicate.name_en, *(duplicate.aliases or [])]:
        if not isinstance(alias, str) or not alias.strip():
            continue
        if alias in (keep.name, keep.name_en) or alias in aliases:
            continue
        aliases.append(alias)
    return aliases, aliases[len(current) :]


def _fill_blanks(keep, duplicate, names):
    """Copy the duplicate's values into keep's empty fields; return the names of those copied."""
    filled = []
    for name in names:
        if not getattr(keep, name) and getattr(duplicate, name):
            setattr(keep, name, getattr(duplicate, name))
            filled.append(name)
    return filled


def _merge(model, move, *, keep, duplicate, user, dry_run, blanks):
    """Run ``move`` and the steps every merge shares, in one transaction; return the result."""
    if keep.pk == duplicate.pk:
        raise ValidationError(_("A record cannot be merged into itself."))
    with transaction.atomic():
        with deferred_indexing():
            keep = model.objects.select_for_update().get(pk=keep.pk)
            duplicate = model.objects.select_for_update().get(pk=duplicate.pk)
            result = MergeResult(
                old_url=duplicate.get_absolute_url(), new_url=keep.get_absolute_url()
            )
            reason = _("Merged duplicate “%(name)s”") % {"name": duplicate}
            move(keep, duplicate, result=result, user=user, reason=reason)
            keep.aliases, result.aliases_added = _merged_aliases(keep, duplicate)
            _fill_blanks(keep, duplicate, blanks)
            keep.full_clean()
            _save(keep, user=user, reason=reason)
            # The duplicate's public URL is cited elsewhere: it redirects permanently to keep's.
            record_slug_change(obj=keep, old_url=result.old_url)
            _delete(duplicate, user=user, reason=_("Merged into “%(name)s”") % {"name": keep})
        # After the re-indexing above: a transaction marked for rollback runs no more queries.
        if dry_run:
            transaction.set_rollback(True)
    return result


def _move_speaker_roles(keep, duplicate, *, result, user, reason):
    keep_roles = {a.session_id: a for a in Appearance.objects.filter(speaker=keep)}
    for role in Appearance.objects.filter(speaker=duplicate).order_by("pk"):
        target = keep_roles.get(role.session_id)
        if target is None:
            role.speaker = keep
            _save(role, user=user, reason=reason)
            result.moved_roles += 1
            result.moved_positions += role.positions.count()
            continue
        # Both spoke in this session: one role per person and session, so keep's role takes
        # the positions (and any details it lacks) and the duplicate's role goes.
        for position in Position.objects.filter(appearance=role).order_by("pk"):
            position.appearance = target
            _save(position, user=user, reason=reason, update_fields=["appearance", "updated_at"])
            result.moved_positions += 1
        if _fill_blanks(target, role, ["role", "role_en", "institution", "as_printed"]):
            _save(target, user=user, reason=reason)
        _delete(role, user=user, reason=reason)
        result.merged_roles += 1
    known_urls = set(keep.links.values_list("url", flat=True))
    order = keep.links.count()
    for link in duplicate.links.order_by("order", "pk"):
        if link.url not in known_urls:
            link.speaker, link.order = keep, order
            _save(link, user=user, reason=reason)
            known_urls.add(link.url)
            order += 1


def _move_institution_roles(keep, duplicate, *, result, user, reason):
    for role in Appearance.objects.filter(institution=duplicate).order_by("pk"):
        role.institution = keep
        _save(role, user=user, reason=reason)
        result.moved_roles += 1
        result.moved_positions += role.positions.count()


def merge_speakers(*, keep: Speaker, duplicate: Speaker, user=None, dry_run=False) -> MergeResult:
    """
    Merge ``duplicate`` into ``keep`` and delete it; return what was moved.

    Steps, in one transaction: each of the duplicate's roles (appearances) moves to ``keep``,
    and its positions with it; where both have a role in the same session, the duplicate's
    positions move to keep's role (which takes any role details it lacks) and the duplicate's
    role is deleted. The duplicate's links move too, its names and aliases become aliases of
    ``keep`` (which takes any biography or photo it lacks), and its public URL redirects to
    keep's. Every row written or deleted gets a history entry attributed to ``user``. With
    ``dry_run``, everything is done and rolled back: the result says what a merge would do.
    """
    return _merge(
        Speaker,
        _move_speaker_roles,
        keep=keep,
        duplicate=duplicate,
        user=user,
        dry_run=dry_run,
        blanks=["bio", "bio_en", "photo"],
    )


def merge_institutions(
    *, keep: Institution, duplicate: Institution, user=None, dry_run=False
) -> MergeResult:
    """
    Merge ``duplicate`` into ``keep`` and delete it; return what was moved.

    Every role (appearance) naming the duplicate names ``keep`` instead, so its positions are
    attributed to ``keep``; the duplicate's names and aliases become aliases of ``keep``, which
    also takes any details it lacks (short name, city, website…). One transaction, history
    entries attributed to ``user``, the old public URL redirected, ``dry_run`` as for speakers.
    """
    return _merge(
        Institution,
        _move_institution_roles,
        keep=keep,
        duplicate=duplicate,
        user=user,
        dry_run=dry_run,
        blanks=["short_name", "country", "city", "city_en", "website"],
    )
