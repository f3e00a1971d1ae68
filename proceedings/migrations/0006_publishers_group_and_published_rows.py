from django.contrib.auth.management import create_permissions
from django.db import migrations

CONTENT_APPS = ["proceedings", "speakers", "taggit"]
# Rows the public cannot see or that only software writes: editors read them, never edit.
READ_ONLY = {"positionsearchdocument", "searchquerystat"}
PUBLISH = ["publish_forum", "publish_theme", "publish_position", "publish_speaker"]


def set_up_groups(apps, schema_editor):
    """Editors create, edit and submit for review; Publishers also publish and delete."""
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    content = (
        Permission.objects.filter(content_type__app_label__in=CONTENT_APPS)
        .exclude(codename__in=PUBLISH)
        # History is read and reverted through the model's own admin and permissions.
        .exclude(content_type__model__startswith="historical")
    )
    read_only = content.filter(content_type__model__in=READ_ONLY)
    editable = content.exclude(content_type__model__in=READ_ONLY)

    editors, _ = Group.objects.get_or_create(name="Editors")
    editors.permissions.set(
        [
            *editable.exclude(codename__startswith="delete_"),
            *read_only.filter(codename__startswith="view_"),
        ]
    )
    publishers, _ = Group.objects.get_or_create(name="Publishers")
    publishers.permissions.set(
        [
            *editable,
            *read_only.filter(codename__startswith="view_"),
            *Permission.objects.filter(codename__in=PUBLISH),
        ]
    )


def publish_existing_rows(apps, schema_editor):
    # Themes and speakers had no status before this migration and were public whenever their
    # forum was: keep them so.
    for app_label, model in (("proceedings", "Theme"), ("speakers", "Speaker")):
        apps.get_model(app_label, model).objects.update(status="published")


def remove_publishers(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="Publishers").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("proceedings", "0005_workflow_history_corrections_search_stats"),
        ("speakers", "0002_workflow_and_history"),
    ]

    operations = [
        migrations.RunPython(publish_existing_rows, migrations.RunPython.noop),
        migrations.RunPython(set_up_groups, remove_publishers),
    ]
