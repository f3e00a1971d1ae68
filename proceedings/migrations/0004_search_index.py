# The full-text index of the search documents, different on each backend (see
# proceedings/search/backends.py). The index starts empty: `manage.py reindex` fills it for data
# that already exists; from then on it follows every change.

from django.db import migrations

from proceedings.search.operations import RunSQLOnVendor

DOCS = "proceedings_positionsearchdocument"
FTS = "proceedings_position_fts"

SQLITE = [
    # External content: FTS5 stores only its index and reads the tokens from the documents
    # table. The ascii tokenizer splits on ASCII punctuation and spaces only (every non-ASCII
    # character is a token character), and `_` is a token character for the facet tokens: each
    # analyser token is one FTS5 token, whatever Unicode version SQLite was built with.
    f"""CREATE VIRTUAL TABLE {FTS} USING fts5(
        tokens, facets, content='{DOCS}', content_rowid='doc_key',
        tokenize="ascii tokenchars '_'"
    )""",
    # Any write to the documents table (bulk or not) keeps the FTS index equal to it.
    f"""CREATE TRIGGER {FTS}_insert AFTER INSERT ON {DOCS} BEGIN
        INSERT INTO {FTS}(rowid, tokens, facets) VALUES (new.doc_key, new.tokens, new.facets);
    END""",
    f"""CREATE TRIGGER {FTS}_delete AFTER DELETE ON {DOCS} BEGIN
        INSERT INTO {FTS}({FTS}, rowid, tokens, facets)
        VALUES ('delete', old.doc_key, old.tokens, old.facets);
    END""",
    f"""CREATE TRIGGER {FTS}_update AFTER UPDATE ON {DOCS} BEGIN
        INSERT INTO {FTS}({FTS}, rowid, tokens, facets)
        VALUES ('delete', old.doc_key, old.tokens, old.facets);
        INSERT INTO {FTS}(rowid, tokens, facets) VALUES (new.doc_key, new.tokens, new.facets);
    END""",
]
SQLITE_REVERSE = [
    f"DROP TRIGGER {FTS}_update",
    f"DROP TRIGGER {FTS}_delete",
    f"DROP TRIGGER {FTS}_insert",
    f"DROP TABLE {FTS}",
]

POSTGRESQL = [
    # Keep tsvectors in the row, compressed with lz4 where the server has it: the newest-first
    # scan and the phrase rechecks read them, and out-of-line TOAST would add a lookup each.
    f"ALTER TABLE {DOCS} ALTER COLUMN vector SET STORAGE MAIN",
    f"""DO $$ BEGIN
        EXECUTE 'ALTER TABLE {DOCS} ALTER COLUMN vector SET COMPRESSION lz4';
    EXCEPTION WHEN OTHERS THEN NULL;  -- PostgreSQL < 14 or built without lz4: pglz
    END $$""",
    # Serves every text query (`vector @@ tsquery`), facet filters included.
    f"CREATE INDEX position_search_vector_gin ON {DOCS} USING gin (vector)",
]
POSTGRESQL_REVERSE = ["DROP INDEX position_search_vector_gin"]


class Migration(migrations.Migration):
    dependencies = [
        ("proceedings", "0003_position_search_document"),
    ]

    operations = [
        RunSQLOnVendor("sqlite", SQLITE, SQLITE_REVERSE),
        RunSQLOnVendor("postgresql", POSTGRESQL, POSTGRESQL_REVERSE),
    ]
