import django.db.models.deletion
from django.db import migrations, models

# The triggers that keep the tallies: proceedings_tagtally (TagTally), the number of published
# positions carrying each tag, and proceedings_appearancetally (AppearanceTally), the number
# of each role's published positions, whatever writes the tagged items or the positions.
# Written out here, not imported: a migration keeps the SQL of its day.

POSITION_TYPE = (
    "(SELECT id FROM django_content_type WHERE app_label = 'proceedings' AND model = 'position')"
)
PUBLISHED = "'published'"


def upsert(table, key, deltas):
    """Add ``deltas`` (``SELECT key, n``) to ``table``'s ``positions``, adding rows."""
    return (
        f"INSERT INTO {table} ({key}, positions) SELECT * FROM ({deltas}) d WHERE d.n <> 0"
        f" ON CONFLICT ({key}) DO UPDATE SET positions = {table}.positions + excluded.positions"
    )


def subtract(table, key, deltas):
    """Take ``deltas`` (``SELECT key, n``) from ``table``'s existing rows (none is added)."""
    return (
        f"UPDATE {table} SET positions = {table}.positions - d.n FROM ({deltas}) d"
        f" WHERE {table}.{key} = d.{key}"
    )


def tag_upsert(deltas):
    return upsert("proceedings_tagtally", "tag_id", deltas)


def tag_subtract(deltas):
    return subtract("proceedings_tagtally", "tag_id", deltas)


def role_upsert(deltas):
    return upsert("proceedings_appearancetally", "appearance_id", deltas)


def role_subtract(deltas):
    return subtract("proceedings_appearancetally", "appearance_id", deltas)


def items_of_published(items):
    """``SELECT tag_id, n``: the tagged items in ``items`` whose position is published."""
    return (
        f"SELECT r.tag_id, COUNT(*) AS n FROM {items} r"
        " INNER JOIN proceedings_position p ON p.id = r.object_id"
        f" WHERE p.status = {PUBLISHED} AND r.content_type_id = {POSITION_TYPE}"
        " GROUP BY r.tag_id"
    )


def tags_of_published(positions):
    """``SELECT tag_id, n``: the tags of the published positions in ``positions``."""
    return (
        f"SELECT ti.tag_id, COUNT(*) AS n FROM {positions} r"
        " INNER JOIN taggit_taggeditem ti"
        f" ON ti.object_id = r.id AND ti.content_type_id = {POSITION_TYPE}"
        f" WHERE r.status = {PUBLISHED} GROUP BY ti.tag_id"
    )


def roles_of_published(positions):
    """``SELECT appearance_id, n``: the roles of the published positions in ``positions``."""
    return (
        f"SELECT r.appearance_id, COUNT(*) AS n FROM {positions} r"
        f" WHERE r.status = {PUBLISHED} GROUP BY r.appearance_id"
    )


BACKFILL = [
    tag_upsert(
        "SELECT ti.tag_id, COUNT(*) AS n FROM taggit_taggeditem ti"
        " INNER JOIN proceedings_position p ON p.id = ti.object_id"
        f" WHERE p.status = {PUBLISHED} AND ti.content_type_id = {POSITION_TYPE}"
        " GROUP BY ti.tag_id"
    ),
    role_upsert(roles_of_published("proceedings_position")),
]

# PostgreSQL: a trigger a statement and event, which sees the statement's rows as a table
# (REFERENCING; one event each, as transition tables require). Row triggers cost an import
# of 10,000 positions 2 s more (bench/README.md, "Session 21").

# A position updated: its tags and its role counted again where it was or is published and
# its status or its role changed. What is taken away is subtracted from existing rows, never
# added as a negative row (as for deletions): a flush that empties the tables in any order
# then never writes a row pointing at one deleted.
MOVED = (
    "SELECT b.id, b.appearance_id AS old_role, b.status = {p} AS was,"
    " a.appearance_id AS new_role, a.status = {p} AS is_now"
    " FROM before_rows b INNER JOIN after_rows a ON a.id = b.id"
    " WHERE (a.status = {p}) <> (b.status = {p})"
    " OR (a.appearance_id <> b.appearance_id AND (a.status = {p} OR b.status = {p}))"
).format(p=PUBLISHED)


def tags_moved(side):
    return (
        f"SELECT ti.tag_id, COUNT(*) AS n FROM ({MOVED}) m INNER JOIN taggit_taggeditem ti"
        f" ON ti.object_id = m.id AND ti.content_type_id = {POSITION_TYPE}"
        f" WHERE m.{side} GROUP BY ti.tag_id"
    )


def roles_moved(role, side):
    return (
        f"SELECT m.{role} AS appearance_id, COUNT(*) AS n FROM ({MOVED}) m"
        f" WHERE m.{side} GROUP BY m.{role}"
    )


# (name, table, event, referencing, statements)
POSTGRESQL_TRIGGERS = [
    (
        "item_insert",
        "taggit_taggeditem",
        "INSERT",
        "NEW TABLE AS added",
        [tag_upsert(items_of_published("added"))],
    ),
    (
        "item_delete",
        "taggit_taggeditem",
        "DELETE",
        "OLD TABLE AS removed",
        [tag_subtract(items_of_published("removed"))],
    ),
    (
        "item_update",
        "taggit_taggeditem",
        "UPDATE",
        "OLD TABLE AS removed NEW TABLE AS added",
        [tag_subtract(items_of_published("removed")), tag_upsert(items_of_published("added"))],
    ),
    (
        "position_insert",
        "proceedings_position",
        "INSERT",
        "NEW TABLE AS added",
        [tag_upsert(tags_of_published("added")), role_upsert(roles_of_published("added"))],
    ),
    (
        "position_delete",
        "proceedings_position",
        "DELETE",
        "OLD TABLE AS removed",
        [tag_subtract(tags_of_published("removed")), role_subtract(roles_of_published("removed"))],
    ),
    (
        "position_update",
        "proceedings_position",
        "UPDATE",
        "OLD TABLE AS before_rows NEW TABLE AS after_rows",
        [
            tag_subtract(tags_moved("was")),
            tag_upsert(tags_moved("is_now")),
            role_subtract(roles_moved("old_role", "was")),
            role_upsert(roles_moved("new_role", "is_now")),
        ],
    ),
]

POSTGRESQL = []
POSTGRESQL_REVERSE = []
for name, table, event, referencing, statements in POSTGRESQL_TRIGGERS:
    POSTGRESQL += [
        f"""
        CREATE FUNCTION proceedings_tally_{name}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN {"; ".join(statements)}; RETURN NULL; END $$
        """,
        f"""
        CREATE TRIGGER proceedings_tally_{name} AFTER {event} ON {table}
        REFERENCING {referencing} FOR EACH STATEMENT
        EXECUTE FUNCTION proceedings_tally_{name}()
        """,
    ]
    POSTGRESQL_REVERSE += [
        f"DROP TRIGGER IF EXISTS proceedings_tally_{name} ON {table}",
        f"DROP FUNCTION IF EXISTS proceedings_tally_{name}()",
    ]


# SQLite: row triggers (it has no other kind); they cost its import of 10,000 positions
# nothing measurable.


def item_is_counted(item):
    return (
        f"{item}.content_type_id = {POSITION_TYPE} AND EXISTS (SELECT 1 FROM"
        f" proceedings_position p WHERE p.id = {item}.object_id AND p.status = {PUBLISHED})"
    )


def counted(position):
    """Add ``position`` (``NEW``) to the tallies of its tags and its role, if published."""
    return (
        tag_upsert(tags_of_published(f"(SELECT {position}.id AS id, {position}.status AS status)")),
        role_upsert(
            roles_of_published(
                f"(SELECT {position}.appearance_id AS appearance_id, {position}.status AS status)"
            )
        ),
    )


def uncounted(position):
    """Take ``position`` (``OLD``) from the tallies of its tags and its role, if published:
    from existing rows only (see ``MOVED``)."""
    return (
        tag_subtract(
            tags_of_published(f"(SELECT {position}.id AS id, {position}.status AS status)")
        ),
        role_subtract(
            roles_of_published(
                f"(SELECT {position}.appearance_id AS appearance_id, {position}.status AS status)"
            )
        ),
    )


SQLITE_TRIGGERS = [
    (
        "item_insert",
        f"AFTER INSERT ON taggit_taggeditem WHEN {item_is_counted('NEW')}",
        [tag_upsert("SELECT NEW.tag_id AS tag_id, 1 AS n")],
    ),
    (
        "item_delete",
        f"AFTER DELETE ON taggit_taggeditem WHEN {item_is_counted('OLD')}",
        [tag_subtract("SELECT OLD.tag_id AS tag_id, 1 AS n")],
    ),
    (
        "item_update",
        "AFTER UPDATE OF tag_id, object_id, content_type_id ON taggit_taggeditem",
        [
            tag_subtract(f"SELECT OLD.tag_id AS tag_id, 1 AS n WHERE {item_is_counted('OLD')}"),
            tag_upsert(f"SELECT NEW.tag_id AS tag_id, 1 AS n WHERE {item_is_counted('NEW')}"),
        ],
    ),
    ("position_insert", "AFTER INSERT ON proceedings_position", [*counted("NEW")]),
    ("position_delete", "AFTER DELETE ON proceedings_position", [*uncounted("OLD")]),
    (
        "position_update",
        "AFTER UPDATE OF status, appearance_id ON proceedings_position"
        " WHEN OLD.status IS NOT NEW.status OR OLD.appearance_id IS NOT NEW.appearance_id",
        [*uncounted("OLD"), *counted("NEW")],
    ),
]
SQLITE = [
    f"CREATE TRIGGER proceedings_tally_{name} {when} BEGIN {'; '.join(statements)}; END"
    for name, when, statements in SQLITE_TRIGGERS
]
SQLITE_REVERSE = [
    f"DROP TRIGGER IF EXISTS proceedings_tally_{name}" for name, *_ in SQLITE_TRIGGERS
]


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for sql in {"postgresql": POSTGRESQL, "sqlite": SQLITE}[vendor] + BACKFILL:
        schema_editor.execute(sql)


def drop_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for sql in {"postgresql": POSTGRESQL_REVERSE, "sqlite": SQLITE_REVERSE}[vendor]:
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("proceedings", "0019_position_language_index"),
        ("taggit", "0006_rename_taggeditem_content_type_object_id_taggit_tagg_content_8fc721_idx"),
    ]

    operations = [
        migrations.CreateModel(
            name="TagTally",
            fields=[
                (
                    "tag",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="tally",
                        serialize=False,
                        to="taggit.tag",
                        verbose_name="tag",
                    ),
                ),
                ("positions", models.IntegerField(default=0, verbose_name="published positions")),
            ],
            options={
                "verbose_name": "tag tally",
                "verbose_name_plural": "tag tallies",
            },
        ),
        migrations.CreateModel(
            name="AppearanceTally",
            fields=[
                (
                    "appearance",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="tally",
                        serialize=False,
                        to="proceedings.appearance",
                        verbose_name="role",
                    ),
                ),
                ("positions", models.IntegerField(default=0, verbose_name="published positions")),
            ],
            options={
                "verbose_name": "role tally",
                "verbose_name_plural": "role tallies",
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
