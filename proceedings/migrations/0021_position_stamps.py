from django.db import migrations, models

# The triggers that keep proceedings_positionstamp (PositionStamp): every statement that
# writes positions moves on the stamps of the forums, sessions, people, institutions and
# themes of the positions it wrote, to the clock's time in microseconds or one past the
# stamp's last value, whichever is greater: a stamp never goes back, and a row made again (a
# database emptied and loaded again) starts past every value it had. Written out here, not
# imported: a migration keeps the SQL of its day.

STAMP = "proceedings_positionstamp"


def scopes(rows):
    """``SELECT scope, key``: what the positions ``rows`` (``id``, ``appearance_id``) belong
    to, each once."""
    role = (
        f"FROM {rows} r INNER JOIN proceedings_appearance a ON a.id = r.appearance_id"
    )
    return (
        "SELECT 'forum' AS scope, s.forum_id AS \"key\""
        f" {role} INNER JOIN proceedings_session s ON s.id = a.session_id"
        f" UNION SELECT 'session', a.session_id {role}"
        f" UNION SELECT 'speaker', a.speaker_id {role}"
        f" UNION SELECT 'institution', a.institution_id {role}"
        " WHERE a.institution_id IS NOT NULL"
        f" UNION SELECT 'theme', pt.theme_id FROM {rows} r"
        " INNER JOIN proceedings_position_themes pt ON pt.position_id = r.id"
    )


def stamped(rows, now, greatest):
    """Move on the stamps of what the positions ``rows`` belong to."""
    return (
        f'INSERT INTO {STAMP} (scope, "key", stamp) SELECT k.scope, k."key", {now}'
        f' FROM ({scopes(rows)}) k WHERE true ORDER BY k.scope, k."key"'
        f' ON CONFLICT (scope, "key") DO UPDATE'
        f" SET stamp = {greatest}({STAMP}.stamp + 1, excluded.stamp)"
    )


# PostgreSQL: a trigger a statement and event, which sees the statement's rows as a table
# (REFERENCING; one event each, as transition tables require), as migration 0020's.
PG_NOW = "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint"

# (name, event, referencing, rows)
POSTGRESQL_TRIGGERS = [
    ("insert", "INSERT", "NEW TABLE AS added", "added"),
    ("delete", "DELETE", "OLD TABLE AS removed", "removed"),
    (
        "update",
        "UPDATE",
        "OLD TABLE AS before_rows NEW TABLE AS after_rows",
        "(SELECT id, appearance_id FROM before_rows"
        " UNION SELECT id, appearance_id FROM after_rows)",
    ),
]
POSTGRESQL = []
POSTGRESQL_REVERSE = []
for name, event, referencing, rows in POSTGRESQL_TRIGGERS:
    POSTGRESQL += [
        f"""
        CREATE FUNCTION proceedings_positionstamp_{name}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN {stamped(rows, PG_NOW, "GREATEST")}; RETURN NULL; END $$
        """,
        f"""
        CREATE TRIGGER proceedings_positionstamp_{name} AFTER {event} ON proceedings_position
        REFERENCING {referencing} FOR EACH STATEMENT
        EXECUTE FUNCTION proceedings_positionstamp_{name}()
        """,
    ]
    POSTGRESQL_REVERSE += [
        f"DROP TRIGGER IF EXISTS proceedings_positionstamp_{name} ON proceedings_position",
        f"DROP FUNCTION IF EXISTS proceedings_positionstamp_{name}()",
    ]

# SQLite: row triggers (it has no other kind). julianday() is to the millisecond, and the
# same through one statement: the stamp then moves on by one.
SQLITE_NOW = "CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)"


def row(*positions):
    return "(" + " UNION ".join(
        f"SELECT {p}.id AS id, {p}.appearance_id AS appearance_id" for p in positions
    ) + ")"


SQLITE_TRIGGERS = [
    ("insert", "AFTER INSERT", row("NEW")),
    ("delete", "AFTER DELETE", row("OLD")),
    ("update", "AFTER UPDATE", row("OLD", "NEW")),
]
SQLITE = [
    f"CREATE TRIGGER proceedings_positionstamp_{name} {event} ON proceedings_position"
    f" BEGIN {stamped(rows, SQLITE_NOW, 'MAX')}; END"
    for name, event, rows in SQLITE_TRIGGERS
]
SQLITE_REVERSE = [
    f"DROP TRIGGER IF EXISTS proceedings_positionstamp_{name}" for name, *_ in SQLITE_TRIGGERS
]


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for sql in {"postgresql": POSTGRESQL, "sqlite": SQLITE}[vendor]:
        schema_editor.execute(sql)


def drop_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for sql in {"postgresql": POSTGRESQL_REVERSE, "sqlite": SQLITE_REVERSE}[vendor]:
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("proceedings", "0020_tallies"),
    ]

    operations = [
        migrations.CreateModel(
            name="PositionStamp",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "scope",
                    models.CharField(
                        choices=[
                            ("forum", "forum"),
                            ("session", "session"),
                            ("theme", "theme"),
                            ("speaker", "speaker"),
                            ("institution", "institution"),
                        ],
                        max_length=12,
                        verbose_name="scope",
                    ),
                ),
                ("key", models.BigIntegerField(verbose_name="id")),
                ("stamp", models.BigIntegerField(default=0, verbose_name="stamp")),
            ],
            options={
                "verbose_name": "positions' stamp",
                "verbose_name_plural": "positions' stamps",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("scope", "key"), name="position_stamp_scope_key"
                    )
                ],
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
