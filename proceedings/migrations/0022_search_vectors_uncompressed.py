from django.db import migrations

# PostgreSQL compresses a row's values once the row passes about 2 kB (toast_tuple_target),
# about a position's tsvector: lexemes and their positions hardly compress, and a search
# decompresses every vector it tests (the newest-first scan, phrases, ranking); figures in
# bench/README.md, "Session 26". With the target at its highest, 8,160 bytes, only rows larger
# than that are compressed or moved out of line. The vectors compressed until now are written
# again uncompressed (a tsvector's text reads back as the same tsvector). SQLite's FTS5
# tables are left as they are.

TABLES = ("proceedings_positionsearchdocument", "proceedings_recordsearchdocument")


def uncompress(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"ALTER TABLE {table} SET (toast_tuple_target = 8160)")
        schema_editor.execute(
            f"UPDATE {table} SET vector = vector::text::tsvector"  # noqa: S608 - constants
            " WHERE pg_column_compression(vector) IS NOT NULL"
        )


def compress(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"ALTER TABLE {table} RESET (toast_tuple_target)")


class Migration(migrations.Migration):
    dependencies = [
        ("proceedings", "0021_position_stamps"),
    ]

    operations = [migrations.RunPython(uncompress, compress)]
