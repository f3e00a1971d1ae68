"""
Full-text search of the published record, in Traditional and Simplified Chinese and English:
positions, and report passages, themes and guiding questions, people and institutions, forums
and sessions (``records``).

Modules: ``analyser`` (text → tokens), ``query`` (what a reader types → terms), ``facets``,
``backends`` (SQLite FTS5, PostgreSQL tsvector), ``indexing`` (documents follow the data),
``records`` (the documents and search of the records that are not positions),
``signals``, ``highlight`` and ``service`` (``search()``, the API of the search page).

The public names below are imported lazily: ``proceedings.models`` imports ``search.fields``,
so this package must not import the models when it is first loaded.
"""

_EXPORTS = {
    "search": "service",
    "matching_position_ids": "service",
    "requested_filters": "service",
    "resolve_filters": "service",
    "SearchResult": "service",
    "SearchHit": "service",
    "FacetValue": "service",
    "ActiveFilter": "service",
    "SORTS": "service",
    "SORT_RELEVANCE": "service",
    "SORT_DATE": "service",
    "parse_query": "query",
    "ParsedQuery": "query",
    "FACETS": "facets",
    "CANDIDATES": "backends",
    "reindex_positions": "indexing",
    "reindex_all": "indexing",
    "deferred_indexing": "indexing",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
