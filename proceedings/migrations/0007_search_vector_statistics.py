# PostgreSQL: a finer list of the most common lexemes for the search index's plan choice
# (proceedings/search/backends.py, PostgresBackend._estimate). With the default target (100) the
# list holds about 1,000 lexemes and stops at a few percent of rows, so a word in 2.6% of rows
# was taken for a rare one and fetched through the GIN bitmap (120 ms at 1M rows instead of 45).
# 1,000 keeps about 7,000 lexemes, down to roughly 0.1%; ANALYZE of the table then samples
# 300,000 rows (5 s at 1M rows).

from django.db import migrations

from proceedings.search.operations import RunSQLOnVendor

DOCS = "proceedings_positionsearchdocument"


class Migration(migrations.Migration):
    dependencies = [
        ("proceedings", "0006_publishers_group_and_published_rows"),
    ]

    operations = [
        RunSQLOnVendor(
            "postgresql",
            [f"ALTER TABLE {DOCS} ALTER COLUMN vector SET STATISTICS 1000"],
            [f"ALTER TABLE {DOCS} ALTER COLUMN vector SET STATISTICS -1"],
        ),
    ]
