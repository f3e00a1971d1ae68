"""
Facets: the filterable properties of a position, and the tokens that carry them in the index.

Each search document lists its facet values as tokens (``_th7`` theme 7, ``_se7265…`` sector
"research", hex-encoded) in a column of their own. Filters are then ANDed into the full-text
query, where the index intersects them with the text terms (far cheaper than filtering the
matches afterwards), and facet counts are read from the same column. Text tokens never contain ``_``
(the analyser splits words on it), so no text can produce or match a facet token.
"""

from dataclasses import dataclass
from functools import lru_cache

from django.utils.translation import gettext_lazy as _

ALL_TOKEN = "_all"  # noqa: S105 (in every document: the base of a query that only excludes)


@dataclass(frozen=True)
class Facet:
    name: str
    prefix: str
    label: str
    keyed_by_id: bool  # True: the token carries a row id; False: a hex-encoded value


FACETS = {
    facet.name: facet
    for facet in (
        Facet("theme", "_th", _("Theme"), True),
        Facet("question", "_qu", _("Guiding question"), True),
        Facet("speaker", "_sp", _("Speaker"), True),
        Facet("institution", "_in", _("Institution"), True),
        Facet("sector", "_se", _("Sector"), False),
        Facet("forum", "_fo", _("Forum"), True),
        Facet("tag", "_ta", _("Tag"), True),
        Facet("language", "_la", _("Language"), False),
        Facet("fidelity", "_fi", _("Fidelity"), False),
    )
}
_BY_PREFIX = {facet.prefix: facet for facet in FACETS.values()}


def facet_token(name: str, key) -> str:
    """Return the index token of facet ``name`` with id or value ``key``."""
    facet = FACETS[name]
    if facet.keyed_by_id:
        return f"{facet.prefix}{int(key)}"
    return f"{facet.prefix}{str(key).encode().hex()}"


@lru_cache(maxsize=100_000)
def parse_facet_token(token: str):
    """Return ``(facet name, id or value)`` for a facet token, or None for any other token."""
    facet = _BY_PREFIX.get(token[:3])
    if facet is None:
        return None
    body = token[3:]
    try:
        return facet.name, int(body) if facet.keyed_by_id else bytes.fromhex(body).decode()
    except ValueError:
        return None


def canonical_language(code: str) -> str:
    """Return a BCP 47 tag in its usual case (``zh-hant`` → ``zh-Hant``, ``en-gb`` → ``en-GB``)."""
    parts = str(code).strip().replace("_", "-").split("-")
    out = [parts[0].lower()]
    for part in parts[1:]:
        if len(part) == 4 and part.isalpha():
            out.append(part.title())
        elif len(part) == 2 and part.isalpha():
            out.append(part.upper())
        else:
            out.append(part.lower())
    return "-".join(out)
