# SQLite: an FTS5 prefix index for one-character prefixes. A one-character query (`融`) matches
# every bigram starting with that character (proceedings/search/analyser.py, query_phrase);
# without a prefix index FTS5 merges the doclists of all those bigrams before it can return the
# newest matches: 25 ms at 100,000 positions, about 300 ms at 1,000,000 (bench/README.md). With
# `prefix='1'` it reads one doclist: 0.5 ms at 100,000, for an index 12% larger.
# The table is external-content, so it is recreated and rebuilt from the documents table; the
# triggers of 0004 refer to it by name and keep working.

from django.db import migrations

from proceedings.search.operations import RunSQLOnVendor

DOCS = "proceedings_positionsearchdocument"
FTS = "proceedings_position_fts"


def create(prefix):
    return [
        f"DROP TABLE {FTS}",
        f"""CREATE VIRTUAL TABLE {FTS} USING fts5(
            tokens, facets, content='{DOCS}', content_rowid='doc_key',
            tokenize="ascii tokenchars '_'"{prefix}
        )""",
        f"INSERT INTO {FTS}({FTS}) VALUES ('rebuild')",
    ]


class Migration(migrations.Migration):
    dependencies = [
        ("proceedings", "0007_search_vector_statistics"),
    ]

    operations = [
        RunSQLOnVendor("sqlite", create(", prefix='1'"), create("")),
    ]
