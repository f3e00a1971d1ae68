"""
Paging for every list the public sees: a page number past the end or not a number gives the
last or first page (never a 404 or a 500), and one context for ``includes/_pagination.html``.
"""

from django.core.paginator import Paginator
from django.utils.functional import SimpleLazyObject


def lenient_page(items, per_page, request, count=None, *, lazy=False):
    """Return the page of ``items`` that ``?page=`` asks for, its object list a list.

    ``get_page()``: a page number past the end or not a number is the last or first page.
    ``count``: the number of ``items`` when it is known (``len(items)`` otherwise, a query).
    ``lazy``: the list is read when first used, not at all by a page whose part listing it
    comes from the fragment cache.
    """
    paginator = Paginator(items, per_page)
    if count is not None:
        paginator.count = count  # a cached_property, as the API's pages set it
    page = paginator.get_page(request.GET.get("page"))
    objects = page.object_list
    page.object_list = SimpleLazyObject(lambda: list(objects)) if lazy else list(objects)
    return page


def page_navigation(page, url_for=lambda number: f"?page={number}"):
    """Return the context of ``includes/_pagination.html`` for ``page`` of a paginated list.

    ``url_for(number)`` is the link to a page (by default ``?page=number``; the search page
    keeps its query and filters in it). ``page_links`` is ``[(number, url)]``, ``(None, None)``
    for a gap; empty when there is one page.
    """
    if page.paginator.num_pages == 1:
        return {"page_links": []}
    elided = page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1)
    return {
        "page_links": [
            (None, None) if number == page.paginator.ELLIPSIS else (number, url_for(number))
            for number in elided
        ],
        "previous_url": url_for(page.previous_page_number()) if page.has_previous() else None,
        "next_url": url_for(page.next_page_number()) if page.has_next() else None,
    }


class PagedListMixin:
    """A ListView's pages as a theme page's: lenient page numbers and ``page_navigation()``."""

    def paginate_queryset(self, queryset, page_size):
        # Where ListView would answer 404 past the end or for a page that is not a number. The
        # page's rows are read when first used: not at all under a kept page part.
        page = lenient_page(queryset, page_size, self.request, lazy=True)
        return page.paginator, page, page.object_list, page.has_other_pages()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(page_navigation(context["page_obj"]))
        return context
