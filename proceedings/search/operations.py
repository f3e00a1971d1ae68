"""Migration operations for the search index: SQL that only one database vendor runs."""

from django.db import migrations


class RunSQLOnVendor(migrations.RunSQL):
    """``RunSQL`` that runs on databases of one vendor only (``"sqlite"``, ``"postgresql"``).

    The full-text index objects differ by backend (an FTS5 table and triggers on SQLite, a GIN
    index on PostgreSQL) and are not part of Django's model state.
    """

    def __init__(self, vendor, sql, reverse_sql=None, **kwargs):
        self.vendor = vendor
        super().__init__(sql, reverse_sql, **kwargs)

    def deconstruct(self):
        name, args, kwargs = super().deconstruct()
        return name, args, {"vendor": self.vendor, **kwargs}

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == self.vendor:
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == self.vendor:
            super().database_backwards(app_label, schema_editor, from_state, to_state)

    def describe(self):
        return f"Raw SQL operation on {self.vendor} only"
