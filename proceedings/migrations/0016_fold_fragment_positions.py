"""
Fold fragment positions into key phrases of the position they repeat.

A fragment is a verbatim position whose text occurs inside another position of the same speaker
and role (appearance) and the same source paragraph: the phrase the report quotes in the middle
of a paraphrase (蝴蝶模型 inside the butterfly-model paraphrase). It becomes a key phrase of that
parent; its tags and themes join the parent's; its permalink redirects permanently to the
parent's ``#kp-N``. Existing search indexes need ``manage.py reindex`` afterwards.

Editors and Publishers get the permissions of the new key phrases and tag names, as 0006 gave
them those of the other content (only Publishers delete).
"""

from django.contrib.auth.management import create_permissions

from django.conf import settings
from django.db import migrations


def fragments(Position):
    """Yield ``(fragment, parent)`` pairs, the longest parent text first for each fragment."""
    verbatim = Position.objects.filter(fidelity="verbatim").exclude(paragraph=None)
    for fragment in verbatim.order_by("pk"):
        parents = (
            Position.objects.filter(
                appearance_id=fragment.appearance_id,
                paragraph=fragment.paragraph,
                text__contains=fragment.text,
            )
            .exclude(pk=fragment.pk)
            .order_by("pk")
        )
        parent = max(parents, key=lambda p: len(p.text), default=None)
        if parent is not None and len(parent.text) > len(fragment.text):
            yield fragment, parent


def fold_fragments(apps, schema_editor):
    Position = apps.get_model("proceedings", "Position")
    KeyPhrase = apps.get_model("proceedings", "KeyPhrase")
    TaggedItem = apps.get_model("taggit", "TaggedItem")
    ContentType = apps.get_model("contenttypes", "ContentType")
    Redirect = apps.get_model("redirects", "Redirect")
    Site = apps.get_model("sites", "Site")

    pairs = list(fragments(Position))
    if not pairs:
        return
    position_type = ContentType.objects.get(app_label="proceedings", model="position")
    site, _created = Site.objects.get_or_create(
        pk=settings.SITE_ID, defaults={"domain": "example.com", "name": "example.com"}
    )
    folded = set()
    for fragment, parent in pairs:
        if parent.pk in folded or fragment.pk in folded:
            continue  # a fragment of a fragment: its parent is folded already
        phrases = KeyPhrase.objects.filter(position=parent)
        if phrases.filter(text=fragment.text).exists():
            number = list(phrases.order_by("order", "pk").values_list("text", flat=True)).index(
                fragment.text
            ) + 1
        else:
            number = phrases.count() + 1
            KeyPhrase.objects.create(
                position=parent,
                text=fragment.text,
                translation=fragment.translation[:500],
                order=number,
            )
        tag_ids = set(
            TaggedItem.objects.filter(
                content_type=position_type, object_id=parent.pk
            ).values_list("tag_id", flat=True)
        )
        for tag_id in TaggedItem.objects.filter(
            content_type=position_type, object_id=fragment.pk
        ).values_list("tag_id", flat=True):
            if tag_id not in tag_ids:
                TaggedItem.objects.create(
                    content_type=position_type, object_id=parent.pk, tag_id=tag_id
                )
        parent.themes.add(*fragment.themes.all())
        if fragment.featured and not parent.featured:
            Position.objects.filter(pk=parent.pk).update(featured=True)

        old_path = f"/positions/{fragment.pk}/"
        new_path = f"/positions/{parent.pk}/#kp-{number}"
        # Redirects to the fragment follow it, so none chains.
        Redirect.objects.filter(site=site, new_path=old_path).update(new_path=new_path)
        Redirect.objects.update_or_create(
            site=site, old_path=old_path, defaults={"new_path": new_path}
        )
        TaggedItem.objects.filter(content_type=position_type, object_id=fragment.pk).delete()
        fragment.delete()
        folded.add(fragment.pk)


def grant_permissions(apps, schema_editor):
    app_config = apps.get_app_config("proceedings")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    new = Permission.objects.filter(
        content_type__app_label="proceedings", content_type__model__in=["keyphrase", "tagname"]
    )
    for name, permissions in (
        ("Editors", new.exclude(codename__startswith="delete_")),
        ("Publishers", new),
    ):
        group = Group.objects.filter(name=name).first()
        if group is not None:
            group.permissions.add(*permissions)


class Migration(migrations.Migration):
    dependencies = [
        ("proceedings", "0015_record_notes_key_phrases_tag_names"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("redirects", "0002_alter_redirect_new_path_help_text"),
        ("sites", "0002_alter_domain_unique"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("taggit", "0006_rename_taggeditem_content_type_object_id_taggit_tagg_content_8fc721_idx"),
    ]

    operations = [
        migrations.RunPython(grant_permissions, migrations.RunPython.noop),
        migrations.RunPython(fold_fragments, migrations.RunPython.noop),
    ]
