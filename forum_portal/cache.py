"""
Caching: a Redis backend that degrades to "always a miss", and whole-page caching of the public
pages for anonymous readers, invalidated on every change to curated content.

Invalidation: one global generation number
    Every cached page's key contains the current *content generation*. Any committed write to a
    curated table bumps it, so every page cached before is never served again (and expires by
    itself). A global number is the safe choice here: a quote shows on its theme, question,
    session, speaker, institution, sector, tag, source and search pages and in the home page
    counts, so per-object invalidation would have to know every page that renders each row, and
    one forgotten page would serve a withdrawn quote. Edits are rare (editors curating a
    report), reads are not, so emptying the page cache on each edit costs little.

Finding the writes: an execute wrapper, not model signals
    Writes are seen where they reach the database: ``watch_writes`` wraps every connection
    (installed on ``connection_created``) and looks at the statements it runs. Signals miss
    ``QuerySet.update()``, ``bulk_create()`` (``PositionQuerySet`` uses both), raw SQL and the
    search index rebuild; an INSERT/UPDATE/DELETE/TRUNCATE on a curated table does not escape
    this. The bump runs after the transaction commits (``on_commit``): bumping before would let
    a concurrent reader cache the old content under the new generation. Writes from outside
    Django (psql) need ``manage.py clear_page_cache``.

Fragments
    The same generation keys fragments of pages that are rendered anyway (``fragment_key``,
    the ``{% cardcache %}`` tag around a position card) and values that are costly to compute
    (``per_generation``: the home page's counts), when ``FRAGMENT_CACHE_SECONDS`` is set. A
    theme page of 50 cards spent 0.8 ms rendering each; from the cache, one ``MGET`` a page.
    A fragment is the same for every anonymous reader of a language and site: staff (who see
    drafts) never read or write it. A card is also kept by a digest of the rows it is rendered
    from (``content_digest``), so that the first reader after an edit renders only the cards
    whose rows changed: the rows are read again (a few queries a list), and a list's rows for
    cards (``listing.ListingRows``) are digested as the database returned them; the instances
    and markup of the cards found that way are not made again.

The code's version
    Every key also holds ``code_version()``, a digest of the code that renders what is kept
    (Python files, templates, translations, the static files' manifest): a release never
    serves pages, fragments or values (model instances pickled with another schema) that the
    previous one stored under the same content generation, and servers of two releases side
    by side never read each other's.

Read replicas
    A replica may not have replayed the last edit yet. The bump also records the primary's WAL
    position; a cache miss renders from the primary instead of a replica that is behind it, so
    a page stored under the new generation never holds pre-edit content.
"""

import functools
import hashlib
import logging
import re
import threading
import time
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.db import connections
from django.db.models import Model, QuerySet
from django.utils import translation

logger = logging.getLogger(__name__)

GENERATION_KEY = "pages:generation"
MIN_LSN_KEY = "pages:min-lsn"
PAGE_CACHE_HEADER = "X-Page-Cache"


# ---------------------------------------------------------------------------------------------
# A Redis cache that never takes the site down
# ---------------------------------------------------------------------------------------------

# Per process and Redis location: until when to skip Redis after a failure (a circuit breaker),
# so that an unreachable Redis costs one connection timeout per RETRY_AFTER seconds, not one per
# cache call. Cache objects are per thread, so this lives at module level.
_down_until = {}
_down_lock = threading.Lock()


class _RedisCacheClient(RedisCacheClient):
    # SET with an expiry for each key, in one command: Django's client queues MSET then an
    # EXPIRE a key in MULTI/EXEC, and building and reading a command a key was most of a
    # set_many (216 facet labels: 6.0 ms that way, 2.1 ms this way, bench/README.md).
    _SET_MANY = (
        "for i, key in ipairs(KEYS) do redis.call('SET', key, ARGV[i], 'EX', ARGV[#ARGV]) end"
    )

    def set_many(self, data, timeout):
        if timeout is None or timeout <= 0:
            return super().set_many(data, timeout)  # kept forever, or expired at once
        client = self.get_client(None, write=True)
        values = [self._serializer.dumps(value) for value in data.values()]
        try:
            client.register_script(self._SET_MANY)(keys=list(data), args=[*values, timeout])
        except self._lib.exceptions.ResponseError:
            # A server that refuses scripts (an ACL, a managed service): Django's way.
            super().set_many(data, timeout)


class ResilientRedisCache(RedisCache):
    """Django's RedisCache, with connection failures logged and treated as cache misses.

    Reads return the default, writes do nothing, ``incr``/``decr`` raise ``ValueError`` as for
    a missing key. After a failure Redis is skipped for ``RETRY_AFTER`` seconds (default 5).
    ``ping()`` raises, for the readiness check.
    """

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _RedisCacheClient
        self.retry_after = float(params.get("RETRY_AFTER", 5))
        self._location = ",".join(self._servers)

    @property
    def _errors(self):
        import redis

        return (redis.RedisError, OSError)

    def is_down(self):
        return time.monotonic() < _down_until.get(self._location, 0)

    def _call(self, name, fallback, *args, **kwargs):
        if self.is_down():
            return fallback()
        try:
            return getattr(RedisCache, name)(self, *args, **kwargs)
        except self._errors as exc:
            with _down_lock:
                was_up = not self.is_down()
                _down_until[self._location] = time.monotonic() + self.retry_after
            if was_up:
                logger.error(
                    "Redis cache unavailable (%s), serving without it for %ss: %s",
                    self._location,
                    self.retry_after,
                    exc,
                )
            return fallback()

    def validate_key(self, key):
        """Accept every key: the warnings of the base class are memcached's limits (250
        characters, no spaces or control characters), which Redis does not have, and checking
        each character of each key was a tenth of a ``set_many``."""

    def ping(self):
        """Raise unless Redis answers (ignores the circuit breaker)."""
        self._cache.get_client(write=True).ping()

    def get(self, key, default=None, version=None):
        return self._call("get", lambda: default, key, default, version)

    def get_many(self, keys, version=None):
        return self._call("get_many", dict, keys, version)

    def has_key(self, key, version=None):
        return self._call("has_key", lambda: False, key, version)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("add", lambda: False, key, value, timeout, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("set", lambda: None, key, value, timeout, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("set_many", lambda: list(data), data, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("touch", lambda: False, key, timeout, version)

    def delete(self, key, version=None):
        return self._call("delete", lambda: False, key, version)

    def delete_many(self, keys, version=None):
        return self._call("delete_many", lambda: None, keys, version)

    def incr(self, key, delta=1, version=None):
        def missing():
            raise ValueError(f"Key '{key}' not found (Redis unavailable)")

        return self._call("incr", missing, key, delta, version)

    def clear(self):
        return self._call("clear", lambda: False)


# ---------------------------------------------------------------------------------------------
# The content generation
# ---------------------------------------------------------------------------------------------

# A bump that failed because the cache was unreachable is retried by this process at its next
# cached request: the generation must move past every page cached before the change.
_pending_bump = threading.Event()


def _cache_is_down():
    return getattr(cache, "is_down", lambda: False)()


def current_generation():
    """Return ``(generation, min_lsn)``; generation is None when the cache is unavailable."""
    if _pending_bump.is_set() and not _cache_is_down():
        bump_generation()
    values = cache.get_many([GENERATION_KEY, MIN_LSN_KEY])
    generation = values.get(GENERATION_KEY)
    if generation is None:
        # First use, or the cache lost it (restart, eviction): start from a number no earlier
        # generation can have had, so pages stored under an old one are never matched again.
        cache.add(GENERATION_KEY, time.time_ns(), None)
        generation = cache.get(GENERATION_KEY)
    return generation, values.get(MIN_LSN_KEY)


def bump_generation(tables=None):
    """Make every page cached so far stale: move the content generation on.

    ``tables``: the curated tables the edit wrote, whose stamps (``table_stamp()``) move on
    too; None when they are not known (a write from outside Django, a bump retried after the
    cache was unreachable): then every table's stamp moves on.
    """
    _pending_bump.clear()
    lsn = _primary_wal_position()
    if lsn:
        cache.set(MIN_LSN_KEY, lsn, None)  # before the generation: readers get both or neither
    _increment(GENERATION_KEY)
    # The tables' stamps after the generation: a stamp read with the generation a request
    # started under (``table_stamp()``) predates this edit (see there).
    for key in [TABLES_EPOCH_KEY] if tables is None else map(_table_key, sorted(tables)):
        _increment(key)
    if _cache_is_down():
        _pending_bump.set()


def _increment(key):
    try:
        cache.incr(key)
    except ValueError:
        cache.set(key, time.time_ns(), None)


# ---------------------------------------------------------------------------------------------
# Stamps of tables
# ---------------------------------------------------------------------------------------------

TABLES_EPOCH_KEY = "pages:tables-epoch"


def _table_key(table):
    return f"pages:table:{table}"


def table_stamp(request, models):
    """Return a stamp of the tables of ``models`` that moves on with every edit that writes
    one of them, or None when ``request`` keeps no fragments (``request_generation()``).

    For a page part that reads only a few tables, so that an edit to another table leaves it
    kept (``TableRows``), where the content generation moves on with any edit: the lists of
    everyone read people, their roles and institutions, not the positions an editor
    corrects. Each table has a number in the cache, moved on by the edits that write it
    (``watch_writes``), and all of them by an edit whose tables are not known (the epoch); a
    number the cache lost starts again from the clock, as the generation does.

    One ``get_many``, before the part's rows are read, with the content generation: None if
    that moved on since the request began. The stamps move on after the generation, once the
    edit has committed; so a stamp read with the request's generation is of before the edit,
    and the part kept under it is never read once the edit is seen (whether its rows were
    read before the edit or after). A request reading from a replica was let to only if the
    replica had replayed every edit of its generation (``request_generation()``); an edit
    since then, which the replica may not have replayed, has moved that generation on.
    """
    generation = request_generation(request)
    if generation is None:
        return None
    tables = sorted(_table_key(model._meta.db_table.lower()) for model in models)
    keys = [GENERATION_KEY, TABLES_EPOCH_KEY, *tables]
    values = cache.get_many(keys)
    if values.get(GENERATION_KEY) != generation:
        return None
    for key in keys[1:]:
        if key not in values:
            cache.add(key, time.time_ns(), None)
            values[key] = cache.get(key)
    return ":".join(str(values[key]) for key in keys[1:])


def _primary_wal_position():
    """Return the primary's current WAL position when reads may go to a PostgreSQL replica."""
    if "replica" not in settings.DATABASES:
        return None
    primary = connections["default"]
    if primary.vendor != "postgresql":
        return None
    with primary.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        return cursor.fetchone()[0]


def replica_has_replayed(lsn):
    """Return whether the replica has replayed the primary's WAL up to ``lsn``."""
    if not lsn or "replica" not in settings.DATABASES:
        return True
    try:
        with connections["replica"].cursor() as cursor:
            # NULL when the server is not a standby: then it is the primary's data itself.
            cursor.execute("SELECT COALESCE(pg_last_wal_replay_lsn() >= %s::pg_lsn, true)", [lsn])
            return cursor.fetchone()[0]
    except Exception:  # noqa: BLE001 - unreachable replica: render from the primary
        logger.warning("Replica position unknown; rendering from the primary", exc_info=True)
        return False


class TableRows:
    """What a page part is rendered from, known by the stamp of the tables it reads rather than
    by reading them: ``{% fragment … rows=… %}`` asks ``rows_digests()``.

    ``models``: those whose tables the part reads (``table_stamp()``); ``digest``: a function
    returning a digest of rows that the database writes itself (the tallies its triggers
    keep, which the write watch does not see), or None. ``rows_digests()`` yields nothing when
    there is no stamp (staff, no fragment cache, the generation moved on). ``of(rows)``: the same
    stamp, then the part's rows themselves: an edit to one of the tables that leaves the
    part's own rows as they were (a person added elsewhere) is then found by reading them.
    """

    def __init__(self, request, models, digest=None):
        self.request = request
        self.models = models
        self.digest = digest

    def of(self, rows):
        """Return these tables' digest, then ``rows``' (``{% fragment %}``'s): the stamp is
        read once a request however many parts are kept by it."""
        return _TableRowsOf(self, rows)

    def rows_digests(self):
        if self._digest is not None:
            yield self._digest

    def read(self):
        """Read the stamps now, before the rows they keep are read (``kept_for_rows()``'s
        rows are read before it asks): a stamp the database keeps moves on as the edit
        commits, before the content generation does, so one read after the rows could be
        newer than they are."""
        return self._digest

    @functools.cached_property
    def _digest(self):
        stamp = table_stamp(self.request, self.models)
        if stamp is None:
            return None
        rows = self.digest() if self.digest is not None else ""
        return hashlib.blake2b(f"{stamp}\0{rows}".encode(), digest_size=16).hexdigest()

    def kept(self, name, compute):
        """Return ``compute()``, kept per content generation (``per_generation()``: computed
        each time for staff) and, when the generation lacks it, by this digest: the stamps
        are read only then."""

        def by_digest():
            if self._digest is None:
                return compute()
            key = f"values:tables:{code_version()}:{name}:{self._digest}"
            return _kept_value(key, compute)

        return per_generation(self.request, name, by_digest)


class _TableRowsOf:
    """``TableRows.of()``: the tables' digest, then the part's own rows'."""

    def __init__(self, tables, rows):
        self.tables = tables
        self.rows = rows

    def rows_digests(self):
        from proceedings.templatetags.portal import rows_digests

        yield from self.tables.rows_digests()
        yield from rows_digests(self.rows)


# ---------------------------------------------------------------------------------------------
# Noticing writes to curated content
# ---------------------------------------------------------------------------------------------

# Apps whose tables are the published content, and their models that are not: history rows
# (written with every edit anyway), readers' statistics and reports (written by reads; counting
# them would empty the cache on every search). A new model in these apps is curated by default,
# which errs on the safe side.
CURATED_APPS = ["proceedings", "speakers", "taggit"]
NOT_CURATED = {"proceedings.SearchQueryStat", "proceedings.CorrectionRequest"}

_WRITE_RE = re.compile(
    r'^\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM|TRUNCATE(?:\s+TABLE)?)\s+(?:ONLY\s+)?"?([\w.]+)"?',
    re.IGNORECASE,
)
_WRITE_VERBS = ("INSERT", "UPDATE", "DELETE", "TRUNCATE")
_curated_tables = None


def curated_tables():
    """Return the database tables of curated content (with their many-to-many tables)."""
    global _curated_tables
    if _curated_tables is None:
        tables = set()
        for label in CURATED_APPS:
            for model in apps.get_app_config(label).get_models(include_auto_created=True):
                opts = model._meta
                if opts.label in NOT_CURATED or opts.model_name.startswith("historical"):
                    continue
                tables.add(opts.db_table.lower())
                for field in opts.local_many_to_many:
                    tables.add(field.remote_field.through._meta.db_table.lower())
        # The search backends' own tables (SQLite's FTS5 index) are named after the documents'.
        tables.update(t + "_fts" for t in list(tables) if t.endswith("searchdocument"))
        _curated_tables = frozenset(tables)
    return _curated_tables


def written_curated_table(sql):
    """Return the curated table ``sql`` writes to, or None."""
    if not sql.lstrip()[:8].upper().startswith(_WRITE_VERBS):
        return None
    match = _WRITE_RE.match(sql)
    table = match and match.group(1).lower().split(".")[-1]
    return table if table in curated_tables() else None


def writes_curated_table(sql):
    """Return whether ``sql`` writes to a curated table."""
    return written_curated_table(sql) is not None


class _BumpOnCommit:
    """The on-commit callback of one transaction that wrote curated content, and its tables."""

    def __init__(self, tables=()):
        self.done = False
        self.tables = set(tables)

    def __call__(self):
        self.done = True
        try:
            bump_generation(self.tables)
        except Exception:
            logger.exception("Could not move the page cache generation on")
            _pending_bump.set()


def watch_writes(execute, sql, params, many, context):
    """Execute wrapper: after a write to curated content commits, bump the generation."""
    result = execute(sql, params, many, context)
    table = written_curated_table(sql) if isinstance(sql, str) else None
    if table is not None:
        connection = context["connection"]
        if not connection.in_atomic_block:
            _BumpOnCommit([table])()  # autocommit: already committed
            return result
        # One bump per transaction, however many statements it runs (an import runs
        # thousands), with every table they wrote; a rolled-back transaction's callbacks are
        # dropped with it (a savepoint's too: a later write registers another).
        pending = next(
            (
                func
                for _, func, _ in connection.run_on_commit
                if isinstance(func, _BumpOnCommit) and not func.done
            ),
            None,
        )
        if pending is None:
            pending = _BumpOnCommit()
            connection.on_commit(pending, robust=True)
        pending.tables.add(table)
    return result


def install_write_watch(sender=None, connection=None, **kwargs):
    """``connection_created`` receiver: wrap the connection's statements with ``watch_writes``.

    Inserted first in the list: ``connection.execute_wrapper()`` blocks pop the last wrapper,
    which must stay theirs.
    """
    if connection is not None and watch_writes not in connection.execute_wrappers:
        connection.execute_wrappers.insert(0, watch_writes)


# ---------------------------------------------------------------------------------------------
# The code's version
# ---------------------------------------------------------------------------------------------

# What renders the cached pages, fragments and values, below BASE_DIR.
CODE_DIRS = ("forum_portal", "proceedings", "speakers", "curation", "templates", "locale")
CODE_SUFFIXES = frozenset({".py", ".html", ".txt", ".xml", ".mo", ".json"})


@functools.cache
def code_version():
    """Return a digest of the code that renders what the cache keeps (see the module)."""
    root = Path(settings.BASE_DIR)
    files = [Path(settings.STATIC_ROOT) / "staticfiles.json"]  # the static files' hashed names
    for name in CODE_DIRS:
        files += sorted((root / name).rglob("*"))
    return code_digest(root, files)


def code_digest(root, files):
    """Return a short digest of the names and contents of the code ``files`` below ``root``."""
    digest = hashlib.sha256()
    for path in files:
        if path.suffix in CODE_SUFFIXES and "__pycache__" not in path.parts and path.is_file():
            name = path.relative_to(root) if path.is_relative_to(root) else path.name
            digest.update(str(name).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


# ---------------------------------------------------------------------------------------------
# Fragments and values of one content generation
# ---------------------------------------------------------------------------------------------

REQUEST_GENERATION_ATTR = "_content_generation"


def request_generation(request):
    """Return the content generation fragments of ``request`` are stored under, or None.

    None (no fragment caching) when ``FRAGMENT_CACHE_SECONDS`` is 0, without a request, for
    staff (they see drafts), when the cache does not answer, and while the replica this request
    reads from is behind the last edit (what it renders may predate the generation). Asked of
    the cache once per request; the page cache middleware leaves its answer on the request.
    """
    if not settings.FRAGMENT_CACHE_SECONDS or request is None:
        return None
    user = getattr(request, "user", None)
    if user is not None and user.is_staff:
        return None
    known = getattr(request, REQUEST_GENERATION_ATTR, None)
    if known is None:
        generation, min_lsn = current_generation()
        if generation is not None and not replica_has_replayed(min_lsn):
            generation = None
        known = (generation,)
        setattr(request, REQUEST_GENERATION_ATTR, known)
    return known[0]


def fragment_key(generation, *parts):
    """Return the cache key of a fragment: the generation, the code's version, the language,
    then ``parts``."""
    language = translation.get_language() or ""
    return ":".join(["fragments", str(generation), code_version(), language, *parts])


def per_generation(request, name, compute, *, parts=None):
    """Return ``compute()``, computed once per content generation (``name`` keys it).

    For values that do not depend on the reader: counts of public rows, a search's candidates.
    ``parts``: a structured value that also keys it (a search's specs; the language, for a
    value that depends on it), by a digest of its ``repr()``, which must be stable from one
    process to the next.
    """
    generation = request_generation(request)
    if generation is None:
        return compute()
    if parts is not None:
        name += ":" + hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()
    return _kept_value(f"values:{generation}:{code_version()}:{name}", compute)


def _kept_value(key, compute):
    """Return the value kept under ``key``, or ``compute()``'s, then kept there."""
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, settings.FRAGMENT_CACHE_SECONDS)
    return value


def per_generation_many(request, name, keys, compute, *, local=False):
    """Return ``{key: value}`` for ``keys``, each value computed once per content generation.

    ``compute(missing)`` returns a dict of the values of the keys the cache does not have (a
    key it leaves out is neither stored nor returned): one ``get_many`` and at most one
    ``set_many``. Without a generation (staff, no fragment cache) it is ``compute(keys)``.
    For values that do not depend on the language or the reader (``per_generation``).

    ``local``: the values are also kept in this process (``LocalValues``) and read from there
    first, for small immutable values (strings, tuples of them) that many requests read, where
    a round trip and an unpickling per key would cost more than computing them: never for
    model instances, which a request may change.
    """
    generation = request_generation(request)
    if generation is None:
        return compute(list(keys))
    prefix = f"values:{generation}:{code_version()}:{name}:"
    values = _local_values.get_many(prefix, keys) if local else {}
    if wanted := [key for key in keys if key not in values]:
        found = cache.get_many([f"{prefix}{key}" for key in wanted])
        shared = {key: found[f"{prefix}{key}"] for key in wanted if f"{prefix}{key}" in found}
        if missing := [key for key in wanted if key not in shared]:
            fresh = compute(missing)
            cache.set_many(
                {f"{prefix}{key}": value for key, value in fresh.items()},
                settings.FRAGMENT_CACHE_SECONDS,
            )
            shared.update(fresh)
        if local:
            _local_values.set_many(prefix, shared)
        values.update(shared)
    return values


def kept_by_rows(name, rows, rest, memo=None):
    """Return ``(found, by_rows)`` for ``rows``, ``{generation key: row}`` this generation lacks.

    ``found``: the values kept under an earlier generation by a digest of the rows they were
    computed from (``content_digest``), by generation key, and now kept under it too (an edit
    elsewhere did not change them); ``by_rows``: each generation key's key by rows, under which
    to keep a value computed now. One ``get_many``, and a ``set_many`` for what was found.
    ``name`` and ``rest`` key the values as in ``fragment_key``; ``memo`` is the digests'.
    """
    by_rows = {
        key: fragment_key("content", name, str(row.pk), content_digest(row, memo), *rest)
        for key, row in rows.items()
    }
    kept = cache.get_many(list(by_rows.values()))
    found = {key: kept[content] for key, content in by_rows.items() if content in kept}
    if found:
        cache.set_many(found, settings.FRAGMENT_CACHE_SECONDS)
    return found, by_rows


def kept_for_rows(generation, name, rows, rest, build, stamp=None):
    """Return ``build()``'s value for each of ``rows``, in order, each kept for the content
    generation, by the stamp of what it is built from when there is one, and by a digest of
    the rows it is built from.

    For what is built from a row and the rows read with it alone (an API entry, a feed entry,
    a CSV line), as ``{% cardcache %}`` keeps cards: one ``get_many`` under ``generation``;
    the rows not found there are looked up by ``stamp`` (``TableRows``: ``listing.stamp_of()``
    the forum, theme or person listing them), without reading what was fetched with them
    (read it before the rows: ``TableRows.read()``), then by their
    rows' digests (``kept_by_rows()``, which reads their pending prefetches), and
    ``build(rows)`` is called once, with the rows found no way, to return their values in
    order; those are kept every way. ``name`` and ``rest`` key the values, as in
    ``fragment_key``.
    """
    keys = [fragment_key(generation, name, str(row.pk), *rest) for row in rows]
    found = cache.get_many(keys)
    missing = {key: row for key, row in zip(keys, rows, strict=True) if key not in found}
    digest = stamp.read() if missing and stamp is not None else None
    by_stamp = {}
    if digest is not None:
        by_stamp = {
            key: fragment_key("content", name, "stamp", digest, str(row.pk), *rest)
            for key, row in missing.items()
        }
        kept = cache.get_many(list(by_stamp.values()))
        if stamped := {key: kept[by_stamp[key]] for key in missing if by_stamp[key] in kept}:
            cache.set_many(stamped, settings.FRAGMENT_CACHE_SECONDS)
            found.update(stamped)
            missing = {key: row for key, row in missing.items() if key not in stamped}
    if missing:
        kept, by_rows = kept_by_rows(name, missing, rest)
        found.update(kept)
        built = {}
        if fresh := [key for key in missing if key not in kept]:
            built = dict(zip(fresh, build([missing[key] for key in fresh]), strict=True))
            found.update(built)
        # Built now: kept under the generation and by rows; found or built: by the stamp.
        store = {**built, **{by_rows[key]: value for key, value in built.items()}}
        store.update({by_stamp[key]: found[key] for key in missing if key in by_stamp})
        if store:
            cache.set_many(store, settings.FRAGMENT_CACHE_SECONDS)
    return [found[key] for key in keys]


def content_digest(instance, memo=None):
    """Return a digest of what ``instance`` and the rows fetched with it hold.

    Its attributes as loaded: fields (deferred ones are not), annotations and any value set
    on it, by ``repr()``, which is stable from one process to the next for the fields' types
    (a value whose ``repr()`` is not, say an object's address, only makes the digest miss);
    then, recursively, the rows ``select_related()`` and ``prefetch_related()`` cached on it,
    and the rows set on it (``Prefetch(to_attr=…)``). Markup rendered from these rows alone (a
    position's card, which queries nothing of its own) is the same while the digest is: a key
    to keep it by across edits to other rows (``{% cardcache %}``).

    ``memo``: ``{(model, pk): digest}`` of rows digested before, added to: the rows of a page's
    cards share their forum, people and themes.
    """
    return _row_digest(instance, {} if memo is None else memo, ())


def _row_digest(row, memo, path):
    key = (type(row), row.pk)
    digest = memo.get(key)
    if digest is not None:
        return digest
    fields = _field_names(type(row))
    # Rows fetched with this one may be held as the database returned them, digested so and
    # built only when read (a Position's for_listing(), ``fetched_rows_digest()``): what they
    # are set on is left out, built or not, so that the digest is the same either way.
    fetched = getattr(type(row), "fetched_rows_digest", None)
    fetched = fetched(row) if fetched is not None else None
    skipped, fetched_digest = fetched if fetched is not None else ((), None)
    # In the order they were set (the fields' order when loaded, then what was added): the
    # same for the same rows read by the same code, which keys the digests' values too.
    items = row.__dict__.items()
    scalars = [item for item in items if item[0] in fields]
    related = []
    for name, value in items:
        if name in fields or name.startswith("_") or name in skipped:
            continue  # _state, a pending prefetch: not held; fetched rows: digested as read
        if isinstance(value, (Model, QuerySet)) or (
            isinstance(value, list) and value and all(isinstance(v, Model) for v in value)
        ):
            related.append((name, value))
        else:
            scalars.append((name, value))
    related += [item for item in row._state.fields_cache.items() if item[0] not in skipped]
    related += getattr(row, "_prefetched_objects_cache", {}).items()
    parts = [row._meta.label, repr(scalars)]
    if fetched_digest is not None:
        parts.append("fetched=" + fetched_digest)
    path = (*path, key)
    for name, value in sorted(related, key=_first):
        rows = value if isinstance(value, (list, QuerySet)) else [value]
        parts.append(
            name
            + "="
            + ",".join(
                "-"
                if child is None or (type(child), child.pk) in path
                else _row_digest(child, memo, path)
                for child in rows
            )
        )
    digest = memo[key] = hashlib.blake2b("\0".join(parts).encode(), digest_size=16).hexdigest()
    return digest


def _first(pair):
    return pair[0]


@functools.cache
def _field_names(model):
    """Return the attribute names of ``model``'s columns: values, never rows, on an instance."""
    return frozenset(field.attname for field in model._meta.concrete_fields)


class LocalValues:
    """Values of the current content generation kept in this process, for ``per_generation_many``.

    Holds the values of one generation and code version at a time: reading under another one
    forgets them all, so a value is never read after the edit that made it stale (the request
    learnt the generation from the cache, as every fragment key does). At most ``limit``
    values: past that, the oldest half is dropped (dicts keep insertion order).
    """

    def __init__(self, limit=50_000):
        self.limit = limit
        self.scope = None  # "values:{generation}:{code version}:"
        self.values = {}

    def _enter(self, prefix):
        scope = prefix.split(":", 3)[:3]
        if scope != self.scope:
            self.scope, self.values = scope, {}

    def get_many(self, prefix, keys):
        self._enter(prefix)
        found = {}
        for key in keys:
            value = self.values.get(prefix + key, _MISSING)
            if value is not _MISSING:
                found[key] = value
        return found

    def set_many(self, prefix, values):
        self._enter(prefix)
        if len(self.values) + len(values) > self.limit:
            for stale in list(self.values)[: len(self.values) // 2 + len(values)]:
                del self.values[stale]
        self.values.update((prefix + key, value) for key, value in values.items())


_MISSING = object()
_local_values = LocalValues()


# ---------------------------------------------------------------------------------------------
# Page cache middleware
# ---------------------------------------------------------------------------------------------


class PageCacheMiddleware:
    """Serve anonymous GETs of public pages from the cache, keyed by URL, language, generation.

    Bypassed by requests with a session or messages cookie (editors, staff: they see drafts),
    by the admin, static, media and API URLs, and when ``PAGE_CACHE_SECONDS`` is 0. Only 200
    responses that set no cookie and allow caching are stored: a page with a CSRF token sets
    the CSRF cookie, so forms are never shared between readers. Sits after the security and
    CSP middleware (their headers are added on every hit) and before locale, sessions and CSRF
    (whose work is what a hit saves). ``X-Page-Cache`` says hit, miss or (not stored) pass.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        # The API answers JSON or HTML for the same URL (content negotiation, Vary: Accept),
        # which a cache keyed by URL would mix up; its lists cost a fixed few queries anyway.
        self.skip_prefixes = tuple(
            "/" + prefix.lstrip("/")
            for prefix in (settings.ADMIN_URL, settings.STATIC_URL, settings.MEDIA_URL, "api/")
            if prefix
        )

    def __call__(self, request):
        seconds = settings.PAGE_CACHE_SECONDS
        if not seconds or not self.cacheable_request(request):
            return self.get_response(request)
        generation, min_lsn = current_generation()
        if generation is None:
            return self.get_response(request)
        key = self.cache_key(request, generation)
        cached = cache.get(key)
        if cached is not None:
            cached[PAGE_CACHE_HEADER] = "hit"
            return cached
        replayed = replica_has_replayed(min_lsn)
        # The page's fragments share this answer (request_generation): none from a replica
        # that is behind, even though the page then reads from the primary.
        setattr(request, REQUEST_GENERATION_ATTR, (generation if replayed else None,))
        if replayed:
            response = self.get_response(request)
        else:
            from .routers import reads_from_primary

            with reads_from_primary():
                response = self.get_response(request)
        if self.cacheable_response(response):
            cache.set(key, response, seconds)
            response[PAGE_CACHE_HEADER] = "miss"
        else:
            response[PAGE_CACHE_HEADER] = "pass"
        return response

    def cacheable_request(self, request):
        cookies = request.COOKIES
        return (
            request.method == "GET"
            and settings.SESSION_COOKIE_NAME not in cookies
            and "messages" not in cookies
            and "HTTP_AUTHORIZATION" not in request.META
            and not request.path.startswith(self.skip_prefixes)
        )

    @staticmethod
    def cacheable_response(response):
        cache_control = response.get("Cache-Control", "").lower()
        return (
            response.status_code == 200
            and not response.streaming
            and not response.cookies
            and not any(word in cache_control for word in ("private", "no-store", "no-cache"))
        )

    @staticmethod
    def cache_key(request, generation):
        # Scheme and host: http and https, or two site names, are different pages.
        url = f"{request.scheme}://{request.get_host()}{request.get_full_path()}"
        # A page's language is in its path (/en/…). An unprefixed address is answered by the
        # cookie's or Accept-Language's language: its redirect to a language is never stored
        # (not a 200), and any other unprefixed answer is kept apart per language.
        language = translation.get_language_from_path(
            request.path_info
        ) or translation.get_language_from_request(request)
        digest = hashlib.sha256(url.encode()).hexdigest()
        return f"pages:{generation}:{code_version()}:{language}:{digest}"
