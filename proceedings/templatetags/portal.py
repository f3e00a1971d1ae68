"""Small filters the public templates share: labels and language tags."""

import hashlib

from django import template
from django.conf import settings
from django.core.cache import cache
from django.utils import translation
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from forum_portal import languages, links
from forum_portal.cache import content_digest, fragment_key, kept_by_rows, request_generation
from forum_portal.site import site_origin

from .. import localize
from ..models import Position, fetch_pending

register = template.Library()

FIDELITY_NOTES = {
    Position.Fidelity.VERBATIM: _("The speaker's own words, quoted in the source."),
    Position.Fidelity.PARAPHRASE: _("The source reports the speaker's view in indirect speech."),
    Position.Fidelity.SUMMARY: _(
        "The rapporteur's own summary of a view attributed to the speaker."
    ),
}


@register.filter
def fidelity_note(position):
    """Return the one-line explanation of a position's fidelity."""
    return FIDELITY_NOTES.get(position.fidelity, "")


@register.filter
def printed_role(appearance):
    """Return the role as the source printed it, else the role and institution we hold."""
    return localize.printed_role(appearance)


@register.filter
def bcp47(language_code):
    """Return a Django language code as a BCP 47 tag for ``lang=`` (zh-hant -> zh-Hant)."""
    return languages.bcp47(language_code)


@register.filter
def linked_role(appearance):
    """Return the role in the reader's language, as HTML, with the institution linked.

    On Chinese pages the role reads as the source printed it (converted on Simplified pages);
    when that text names the institution (中國科學技術發展戰略研究院黨委書記), that name becomes
    the link, so the text still reads exactly as printed; otherwise the institution follows as
    a separate link. English pages show the English role and institution ("Party Secretary,
    <a>Chinese Academy of …</a>"), or the printed role in a ``lang`` span when there is no
    English. Needs ``appearance.institution`` joined.
    """
    shown = localize.role(appearance)
    institution = appearance.institution
    if institution is None:
        return localize.as_html(shown)
    if shown.lang == localize.ENGLISH:
        name = institution.name_en or institution.name
    else:
        name = localize.in_reader_script(institution.name).text
    link = format_html(
        '<a class="role-institution" href="{}">{}</a>', institution.get_absolute_url(), name
    )
    before, found, after = shown.text.partition(name)
    if found:
        html = format_html("{}{}{}", before, link, after)
    elif not shown.text:
        html = link
    else:
        html = format_html('{} <span class="role-institution-apart">{}</span>', shown.text, link)
    if shown.lang != localize.reader_language():
        return format_html('<span lang="{}">{}</span>', shown.lang, html)
    return html


@register.simple_tag
def link(viewname, *args):
    """``{% link "proceedings:tag-detail" tag.slug %}``: ``{% url %}`` for what cards repeat.

    The URL is remembered per language (``forum_portal.links``); a theme page of 50 cards asks
    for the same sector and tag URLs dozens of times.
    """
    return links.reverse(viewname, args)


def _cached_block(parser, token, node_class, what, keywords=()):
    """Parse ``{% tag first option … [keyword=value …] %}…{% endtag %}`` into ``node_class``.

    ``keywords``: the names the tag takes as ``name=value`` after its options, passed to
    ``node_class`` by name.
    """
    bits = token.split_contents()
    tag, named = bits[0], {}
    while len(bits) > 2 and bits[-1].partition("=")[0] in keywords:
        name, _equals, value = bits.pop().partition("=")
        named[name] = parser.compile_filter(value)
    if len(bits) < 2:
        raise template.TemplateSyntaxError(f"{tag} needs {what}")
    nodelist = parser.parse((f"end{tag}",))
    parser.delete_first_token()
    return node_class(nodelist, [parser.compile_filter(bit) for bit in bits[1:]], **named)


def resolve_option(expression, context):
    """Return the value of a tag's option, None when it is a name the context lacks.

    A plain name is read with ``context.get()``: Django's lookup of a missing name raises and
    catches four exceptions on the way to ``string_if_invalid`` (about 4 µs), and a card's
    options are mostly missing (three a card: ``hide_speaker``, ``hide_themes``, ``id_suffix``).
    """
    var = expression.var
    plain = isinstance(var, template.Variable) and not expression.filters
    if plain and var.lookups is not None and len(var.lookups) == 1:
        return context.get(var.lookups[0])
    return expression.resolve(context, ignore_failures=True)


def _key_part(value):
    if value is None or value == "":
        return ""
    pk = getattr(value, "pk", None)
    return f"#{pk}" if pk is not None else str(value)


class CachedBlockNode(template.Node):
    """A block kept in the fragment cache: the first expression, then the options."""

    def __init__(self, nodelist, expressions):
        self.nodelist = nodelist
        self.expressions = expressions

    def resolve(self, context):
        """Return ``(first, rest)``: the first expression's value, then the key's other parts
        (the site and the options)."""
        first, *options = self.expressions
        options = [_key_part(resolve_option(option, context)) for option in options]
        return first.resolve(context), [site_origin(context.get("request")), *options]

    @staticmethod
    def stored(key, html):
        """Store ``html`` under ``key`` and return it, safe (a template's own escaped output)."""
        cache.set(key, str(html), settings.FRAGMENT_CACHE_SECONDS)
        return mark_safe(html)  # noqa: S308 - stored from a template's (escaped) output


@register.tag
def cardcache(parser, token):
    """``{% cardcache position option … %}…{% endcardcache %}``: a card from the fragment cache.

    Keyed by the position's pk, the options listed (every context value the card's markup
    depends on besides the position: a model by its pk), the site, the language and the content
    generation (``forum_portal.cache.fragment_key``). Staff, and rows annotated with
    ``is_public`` (staff's cards), are always rendered.

    Rows from ``prefetch_on_demand()`` (``PublicMixin.cards()``) share their list: the first
    card asks the cache for every row's card with the same options in one ``get_many``, and
    the list's prefetches run only when a card is not cached.

    A card this generation has not kept may have been rendered under an earlier one from the
    same rows: cards are also kept by a digest of their rows (``content_digest()``: the
    position, its role, person, institution, session, forum, source, themes, tags and key
    phrases as fetched), which an edit to any of them changes. After an edit, a list's cards
    are looked up that way (one ``get_many``) and only the others are rendered.
    """
    return _cached_block(parser, token, CardCacheNode, "the position")


class CardCacheNode(CachedBlockNode):
    def render(self, context):
        position, rest = self.resolve(context)
        pending = position.__dict__.get("_pending_prefetch")
        generation = request_generation(context.get("request"))
        if generation is None or position.is_public is not None:
            return self.render_card(context, pending)
        key = fragment_key(generation, "card", str(position.pk), *rest)
        if pending is None:
            html = cache.get(key)
        else:
            # The first card of a list with these options asks for the whole list's cards at
            # once: one round trip to the cache, not one a card.
            found = pending.memo.get(tuple(rest))
            if found is None:
                keys = [
                    fragment_key(generation, "card", str(row.pk), *rest) for row in pending.rows
                ]
                found = pending.memo[tuple(rest)] = cache.get_many(keys)
            html = found.get(key)
        if html is not None:
            return mark_safe(html)  # noqa: S308 - kept by this node, from a template
        # Not kept in this generation: perhaps in an earlier one, if none of the card's rows
        # changed since (an edit elsewhere), by a digest of them.
        if pending is None:
            rows, memo = [position], {}
        else:
            pending.read()  # digested as read; built only for the cards rendered
            rows, memo = pending.rows, pending.memo
        found, by_rows = self.kept_by_rows(rows, memo, rest, generation)
        html = found.get(key)
        if html is None:
            html = str(self.render_card(context, None))
            cache.set_many({key: html, by_rows[key]: html}, settings.FRAGMENT_CACHE_SECONDS)
            if pending is not None:
                pending.memo[tuple(rest)][key] = html  # the list may show it again
        return mark_safe(html)  # noqa: S308 - a template's (escaped) output, or stored so

    @staticmethod
    def kept_by_rows(rows, memo, rest, generation):
        """Return ``kept_by_rows()`` for the cards of ``rows`` that this generation lacks.

        Asked once per list and options, the first time one of its cards is missed (``memo``:
        the list's, ``pending.memo``); the digests are shared by the list's options.
        """
        answer = memo.get(("by rows", *rest))
        if answer is None:
            kept_now = memo.get(tuple(rest), {})
            keys = {fragment_key(generation, "card", str(row.pk), *rest): row for row in rows}
            answer = memo[("by rows", *rest)] = kept_by_rows(
                "card",
                {key: row for key, row in keys.items() if key not in kept_now},
                rest,
                memo.setdefault("digests", {}),
            )
        return answer

    def render_card(self, context, pending):
        if pending is not None:
            # The card reads what for_listing() prefetches: its row builds its own on first
            # read (Position's descriptors), not the whole list's.
            pending.read()
        return self.nodelist.render(context)


@register.tag
def fragment(parser, token):
    """``{% fragment "name" option … [rows=list] %}…{% endfragment %}``: a part of a page from
    the cache.

    For what every reader of a language sees the same and costs more than a ``GET`` (a theme's
    177 speakers, each with a role): keyed like ``{% cardcache %}``, by the name, the options
    (a model by its pk), the site, the language and the content generation. Staff, who see
    drafts, always render it. A lazy context value (``SimpleLazyObject``) used only inside is
    never computed when the part comes from the cache.

    ``rows``: the model instances the part is rendered from, and nothing else (with what was
    fetched with them), or rows kept as the database returned them, which digest themselves
    (``rows_digest()``: ``listing.RoleRows``). The part is then also kept by a digest of them,
    as cards are: after an edit elsewhere, its first reader reads the rows but does not render
    the part again.
    """
    return _cached_block(parser, token, FragmentNode, "a name", keywords=("rows",))


class FragmentNode(CachedBlockNode):
    def __init__(self, nodelist, expressions, rows=None):
        super().__init__(nodelist, expressions)
        self.rows = rows  # the rows it is rendered from, when given (``rows=``)

    def render(self, context):
        generation = request_generation(context.get("request"))
        if generation is None:
            return self.nodelist.render(context)
        name, rest = self.resolve(context)
        key = fragment_key(generation, "fragment", str(name), *rest)
        html = cache.get(key)
        if html is not None:
            return mark_safe(html)  # noqa: S308 - stored by stored()
        if self.rows is None:
            return self.stored(key, self.nodelist.render(context))
        # Not kept in this generation: perhaps in an earlier one, from the same rows, with
        # what they fetch (rows from prefetch_on_demand() fetch it first, as cards do); first
        # by the stamp of their tables, when they have one (TableRows), without reading them.
        by_rows = []
        for digest in rows_digests(self.rows.resolve(context)):
            by_rows.append(fragment_key("content", "fragment", str(name), digest, *rest))
            html = cache.get(by_rows[-1])
            if html is not None:
                cache.set_many(
                    dict.fromkeys([key, *by_rows[:-1]], html), settings.FRAGMENT_CACHE_SECONDS
                )
                break
        else:
            html = str(self.nodelist.render(context))
            cache.set_many(dict.fromkeys([key, *by_rows], html), settings.FRAGMENT_CACHE_SECONDS)
        return mark_safe(html)  # noqa: S308 - a template's (escaped) output, or stored so


def rows_digests(rows):
    """Yield the digests a part rendered from ``rows`` is kept by, the cheapest first.

    Rows that digest themselves (``rows_digests()``: ``TableRows``, by their tables' stamp
    then by reading them; ``rows_digest()``: rows kept as read, ``listing.RoleRows``), or
    model instances with what was fetched with them (``content_digest``). None of them for
    rows whose digest is not known this request.
    """
    if rows is None:
        return  # nothing but the generation keeps the part
    if hasattr(rows, "rows_digests"):
        yield from rows.rows_digests()
    elif hasattr(rows, "rows_digest"):
        if (digest := rows.rows_digest()) is not None:
            yield digest
    else:
        rows = list(rows)
        fetch_pending(rows)
        memo = {}
        digests = "\0".join(content_digest(row, memo) for row in rows)
        yield hashlib.blake2b(digests.encode(), digest_size=16).hexdigest()


@register.tag
def unboundform(parser, token):
    """``{% unboundform form %}…{% endunboundform %}``: a form's fields, rendered once per
    process and language while the form has no data.

    An empty form's markup is the same for every reader of a language: the permalink's
    report form (three fields through Django's widget templates) was a third of a cached
    permalink's time (4 of 12 ms on PostgreSQL at 100,000 positions). The block must depend
    on nothing but the form and the language: the CSRF token and the form's action stay
    outside it. A bound form (a report sent back with its errors) is always rendered.
    """
    bits = token.split_contents()
    if len(bits) != 2:
        raise template.TemplateSyntaxError(f"{bits[0]} needs the form, and only it")
    nodelist = parser.parse(("endunboundform",))
    parser.delete_first_token()
    return UnboundFormNode(nodelist, parser.compile_filter(bits[1]))


class UnboundFormNode(template.Node):
    def __init__(self, nodelist, form):
        self.nodelist = nodelist
        self.form = form
        # Kept on the node, which lives as long as its template does (the cached loader's):
        # a template changed in development is parsed again, and with it this is emptied.
        self.kept = {}

    def render(self, context):
        form = self.form.resolve(context)
        if form.is_bound:
            return self.nodelist.render(context)
        key = (type(form), translation.get_language())
        html = self.kept.get(key)
        if html is None:
            html = self.kept[key] = str(self.nodelist.render(context))
        return mark_safe(html)  # noqa: S308 - the block's own (escaped) output
