import django.db.models.functions.text
from django.db import migrations, models


def analyse_positions(apps, schema_editor):
    # The planners' statistics for the two new indexes (this one and 0018's). SQLite has none
    # for an index until ANALYZE, and then took the (status, published_at, id) index for any
    # "status = 'published'": a question's page at 100,000 positions went from 42 ms to
    # 441 ms, a forum's voice balance from 24 to 539 (bench/README.md, "Session 19").
    # PostgreSQL's statistics on UPPER(language) also come from ANALYZE.
    schema_editor.execute("ANALYZE proceedings_position")


class Migration(migrations.Migration):

    dependencies = [
        ('proceedings', '0018_position_newest_index'),
        ('taggit', '0006_rename_taggeditem_content_type_object_id_taggit_tagg_content_8fc721_idx'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='position',
            index=models.Index(
                django.db.models.functions.text.Upper('language'),
                models.F('order'),
                name='position_language_idx',
            ),
        ),
        migrations.RunPython(analyse_positions, migrations.RunPython.noop, elidable=True),
    ]
