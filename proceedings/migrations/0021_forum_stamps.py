import django.db.models.deletion
from django.db import migrations, models

# The triggers that keep proceedings_forumstamp (ForumStamp): every statement that writes
# positions moves on the stamp of each forum whose positions it wrote, to the clock's time in
# microseconds or one past the stamp's last value, whichever is greater: a stamp never goes
# back, and a row made again (a forum's row deleted with it, a database emptied and loaded
# again) starts past every value it had. Written out here, not imported: a migration keeps
# the SQL of its day.

STAMP = "proceedings_forumstamp"


def stamped(roles, now, greatest):
    """Move on the stamps of the forums of ``roles`` (``SELECT appearance_id``)."""
    return (
        f"INSERT INTO {STAMP} (forum_id, stamp) SELECT f.forum_id, {now} FROM ("
        "SELECT DISTINCT s.forum_id FROM proceedings_appearance a"
        " INNER JOIN proceedings_session s ON s.id = a.session_id"
        f" WHERE a.id IN ({roles})) f WHERE true ORDER BY f.forum_id"
        f" ON CONFLICT (forum_id) DO UPDATE SET stamp = {greatest}({STAMP}.stamp + 1, excluded.stamp)"
    )


# PostgreSQL: a trigger a statement and event, which sees the statement's rows as a table
# (REFERENCING; one event each, as transition tables require), as migration 0020's.
PG_NOW = "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint"


def pg_stamped(roles):
    return stamped(roles, PG_NOW, "GREATEST")


# (name, event, referencing, roles)
POSTGRESQL_TRIGGERS = [
    ("insert", "INSERT", "NEW TABLE AS added", "SELECT appearance_id FROM added"),
    ("delete", "DELETE", "OLD TABLE AS removed", "SELECT appearance_id FROM removed"),
    (
        "update",
        "UPDATE",
        "OLD TABLE AS before_rows NEW TABLE AS after_rows",
        "SELECT appearance_id FROM before_rows UNION SELECT appearance_id FROM after_rows",
    ),
]
POSTGRESQL = []
POSTGRESQL_REVERSE = []
for name, event, referencing, roles in POSTGRESQL_TRIGGERS:
    POSTGRESQL += [
        f"""
        CREATE FUNCTION proceedings_forumstamp_{name}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN {pg_stamped(roles)}; RETURN NULL; END $$
        """,
        f"""
        CREATE TRIGGER proceedings_forumstamp_{name} AFTER {event} ON proceedings_position
        REFERENCING {referencing} FOR EACH STATEMENT
        EXECUTE FUNCTION proceedings_forumstamp_{name}()
        """,
    ]
    POSTGRESQL_REVERSE += [
        f"DROP TRIGGER IF EXISTS proceedings_forumstamp_{name} ON proceedings_position",
        f"DROP FUNCTION IF EXISTS proceedings_forumstamp_{name}()",
    ]

# SQLite: row triggers (it has no other kind). julianday() is to the millisecond, and the
# same through one statement: the stamp then moves on by one.
SQLITE_NOW = "CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)"
SQLITE_TRIGGERS = [
    ("insert", "AFTER INSERT", "NEW.appearance_id"),
    ("delete", "AFTER DELETE", "OLD.appearance_id"),
    ("update", "AFTER UPDATE", "OLD.appearance_id, NEW.appearance_id"),
]
SQLITE = [
    f"CREATE TRIGGER proceedings_forumstamp_{name} {event} ON proceedings_position"
    f" BEGIN {stamped(roles, SQLITE_NOW, 'MAX')}; END"
    for name, event, roles in SQLITE_TRIGGERS
]
SQLITE_REVERSE = [
    f"DROP TRIGGER IF EXISTS proceedings_forumstamp_{name}" for name, *_ in SQLITE_TRIGGERS
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
            name="ForumStamp",
            fields=[
                (
                    "forum",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.DB_CASCADE,
                        primary_key=True,
                        related_name="positions_stamp",
                        serialize=False,
                        to="proceedings.forum",
                        verbose_name="forum",
                    ),
                ),
                ("stamp", models.BigIntegerField(default=0, verbose_name="stamp")),
            ],
            options={
                "verbose_name": "forum's stamp",
                "verbose_name_plural": "forums' stamps",
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
