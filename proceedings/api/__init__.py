"""
The read-only JSON API at ``/api/v1/``: published forums, sessions, guiding questions, themes,
speakers, institutions and positions, and the search; its OpenAPI schema at ``/api/schema/``.

Everything goes through the models' ``.published()`` QuerySets, as the public pages do, so the
API never shows more than the pages. ``base`` holds pagination, throttling and the position
filters (the search's facets, parsed by ``proceedings.search.resolve_filters``), ``serializers``
the JSON shapes, ``views`` the endpoints and ``urls`` their routes.
"""
