"""A model field for PostgreSQL's ``tsvector``, usable in a model that also runs on SQLite."""

from django.db import models


class TextSearchVectorField(models.Field):
    """A ``tsvector`` column on PostgreSQL (a plain, unused text column on other databases).

    ``django.contrib.postgres.search.SearchVectorField`` would do on PostgreSQL, but its system
    check requires ``django.contrib.postgres`` in INSTALLED_APPS, and nothing else here needs that
    app. Values are tsvector literals (``'融合':1 '合创':2``) made by the analyser, so the
    database's own parser never splits or changes a token; they are read only inside search SQL.
    """

    description = "PostgreSQL tsvector"

    def db_type(self, connection):
        return "tsvector" if connection.vendor == "postgresql" else "text"

    def get_placeholder_sql(self, value, compiler, connection):
        if hasattr(value, "as_sql"):
            return compiler.compile(value)
        if connection.vendor == "postgresql" and value is not None:
            return "%s::tsvector", (value,)
        return "%s", (value,)
