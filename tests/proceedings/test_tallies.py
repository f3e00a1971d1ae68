"""
The tallies the database keeps through whatever path writes tags and positions: for each tag
(``TagTally``) and each role (``AppearanceTally``), the number of its published positions. The
tag list and the lists of everyone read them.
"""

import io

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import connection
from django.db.models import Count
from django.urls import reverse
from taggit.models import Tag, TaggedItem

from proceedings.models import (
    Appearance,
    AppearanceTally,
    Position,
    PositionSearchDocument,
    Status,
    TagTally,
    published_tag_counts,
)
from proceedings.workflow import transition
from tests.factories import (
    make_appearance,
    make_forum,
    make_position,
    make_session,
    make_speaker,
)

pytestmark = pytest.mark.django_db


def recounted():
    """The number of published positions carrying each tag, counted from the tagged items."""
    return dict(
        TaggedItem.objects.filter(
            content_type=ContentType.objects.get_for_model(Position),
            object_id__in=Position.objects.filter(status=Status.PUBLISHED).values("pk"),
        )
        .values("tag__name")
        .annotate(n=Count("*"))
        .values_list("tag__name", "n")
    )


def roles_recounted():
    return dict(
        Position.objects.filter(status=Status.PUBLISHED)
        .values("appearance")
        .annotate(n=Count("*"))
        .values_list("appearance", "n")
    )


def roles_tallied():
    assert not AppearanceTally.objects.filter(positions__lt=0).exists()
    return dict(
        AppearanceTally.objects.filter(positions__gt=0).values_list("appearance", "positions")
    )


def tallied():
    assert not TagTally.objects.filter(positions__lt=0).exists()
    return dict(TagTally.objects.filter(positions__gt=0).values_list("tag__name", "positions"))


@pytest.fixture
def role():
    forum = make_forum(published=True)
    return make_appearance(session=make_session(forum=forum), speaker=make_speaker())


def test_the_bundled_forum_is_tallied_as_counted(pujiang):
    counts = recounted()
    assert tallied() == counts
    assert len(counts) > 20
    roles = roles_recounted()
    assert roles_tallied() == roles
    assert sum(roles.values()) == Position.objects.filter(status=Status.PUBLISHED).count() > 10


def test_adding_and_removing_tags_moves_the_tally(role):
    first = make_position(appearance=role, tags=["耐心資本", "產業創新"])
    second = make_position(appearance=role, tags=["耐心資本"])
    make_position(appearance=role, tags=["耐心資本"], published=False)

    assert tallied() == {"耐心資本": 2, "產業創新": 1}
    first.tags.remove("耐心資本")
    second.tags.add("人才")
    assert tallied() == {"耐心資本": 1, "產業創新": 1, "人才": 1} == recounted()
    first.tags.clear()
    second.tags.set(["產業創新"])
    assert tallied() == {"產業創新": 1} == recounted()


def test_publishing_unpublishing_and_deleting_positions_moves_the_tally(role):
    draft = make_position(appearance=role, tags=["耐心資本"], published=False)
    published = make_position(appearance=role, tags=["耐心資本", "人才"])

    transition(objects=[draft], to=Status.PUBLISHED)
    assert tallied() == {"耐心資本": 2, "人才": 1}
    transition(objects=[published], to=Status.WITHDRAWN)
    assert tallied() == {"耐心資本": 1} == recounted()
    # A bulk update and a save that leaves the status as it was.
    Position.objects.filter(pk=draft.pk).update(status=Status.DRAFT)
    assert tallied() == {}
    Position.objects.filter(pk__in=[draft.pk, published.pk]).update(status=Status.PUBLISHED)
    draft.refresh_from_db()
    draft.text = "改寫後的觀點"
    draft.save()
    assert tallied() == {"耐心資本": 2, "人才": 1} == recounted()
    published.delete()
    assert tallied() == {"耐心資本": 1} == recounted()


def test_a_position_deleted_in_sql_before_its_tags_is_untallied_once(role):
    position = make_position(appearance=role, tags=["耐心資本"])
    make_position(appearance=role, tags=["耐心資本"])
    PositionSearchDocument.objects.filter(position=position).delete()
    table = connection.ops.quote_name(Position._meta.db_table)
    tagged = connection.ops.quote_name(TaggedItem._meta.db_table)

    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE id = %s", [position.pk])  # noqa: S608
        assert tallied() == {"耐心資本": 1}
        cursor.execute(f"DELETE FROM {tagged} WHERE object_id = %s", [position.pk])  # noqa: S608
    assert tallied() == {"耐心資本": 1} == recounted()


def test_retagging_and_deleting_tags_moves_the_tally(role):
    make_position(appearance=role, tags=["耐心資本", "科技金融"])
    make_position(appearance=role, tags=["人才"])
    patient, talent = Tag.objects.get(name="耐心資本"), Tag.objects.get(name="人才")

    # As merging tags does: the tagged items move to another tag.
    TaggedItem.objects.filter(tag=talent).update(tag=patient)
    assert tallied() == {"耐心資本": 2, "科技金融": 1} == recounted()
    patient.delete()
    assert tallied() == {"科技金融": 1} == recounted()


def test_tags_of_other_models_are_not_tallied(role):
    make_position(appearance=role, tags=["耐心資本"])
    forum_type = ContentType.objects.get(app_label="proceedings", model="forum")
    TaggedItem.objects.create(
        tag=Tag.objects.get(name="耐心資本"), content_type=forum_type, object_id=role.pk
    )

    assert tallied() == {"耐心資本": 1}


def test_the_public_counts_leave_out_roles_that_are_not_public(role):
    make_position(appearance=role, tags=["耐心資本", "人才"])
    forum = role.session.forum
    hidden_speaker = make_appearance(session=role.session, speaker=make_speaker(published=False))
    make_position(appearance=hidden_speaker, tags=["耐心資本"])
    draft_forum = make_appearance(
        session=make_session(forum=make_forum(published=False)), speaker=role.speaker
    )
    make_position(appearance=draft_forum, tags=["科技金融"])
    talent, patient = Tag.objects.get(name="人才"), Tag.objects.get(name="耐心資本")

    assert tallied() == {"耐心資本": 2, "人才": 1, "科技金融": 1}
    assert published_tag_counts() == {patient.pk: 1, talent.pk: 1}
    transition(objects=[forum], to=Status.DRAFT)
    assert published_tag_counts() == {}


def test_the_tag_list_counts_what_the_public_sees(client, role, django_user_model):
    make_position(appearance=role, tags=["耐心資本", "人才"])
    make_position(appearance=role, tags=["耐心資本"])
    make_position(appearance=role, tags=["人才", "草稿標籤"], published=False)

    public = client.get(reverse("proceedings:tag-list")).context["tag_list"]
    client.force_login(django_user_model.objects.create_user("staff", is_staff=True))
    staff = client.get(reverse("proceedings:tag-list")).context["tag_list"]

    assert [(tag.name, tag.position_count) for tag in public] == [("耐心資本", 2), ("人才", 1)]
    assert [(tag.name, tag.position_count) for tag in staff] == [
        ("人才", 2),
        ("耐心資本", 2),
        ("草稿標籤", 1),
    ]


def test_each_roles_published_positions_are_tallied_through_every_write(role):
    other = make_appearance(session=role.session, speaker=make_speaker())
    draft = make_position(appearance=role, published=False)
    first = make_position(appearance=role)
    make_position(appearance=other)
    assert roles_tallied() == {role.pk: 1, other.pk: 1}

    transition(objects=[draft], to=Status.PUBLISHED)
    assert roles_tallied() == {role.pk: 2, other.pk: 1}
    # Moved to another role, published or not; updated in bulk; saved unchanged.
    first.appearance = other
    first.save()
    assert roles_tallied() == {role.pk: 1, other.pk: 2}
    Position.objects.filter(pk=draft.pk).update(appearance=other, status=Status.DRAFT)
    assert roles_tallied() == {other.pk: 2}
    Position.objects.filter(pk=draft.pk).update(appearance=role)
    assert roles_tallied() == {other.pk: 2}
    Position.objects.update(status=Status.PUBLISHED)
    first.save()
    assert roles_tallied() == {role.pk: 1, other.pk: 2} == roles_recounted()
    first.delete()
    assert roles_tallied() == {role.pk: 1, other.pk: 1} == roles_recounted()
    # A role's positions go first (they protect it), then the role with its tally.
    Position.objects.filter(appearance=other).delete()
    assert roles_tallied() == {role.pk: 1} == roles_recounted()
    Appearance.objects.filter(pk=other.pk).delete()
    assert not AppearanceTally.objects.filter(appearance=other.pk).exists()


def test_the_speaker_list_counts_from_the_tally(client, role, django_user_model):
    make_position(appearance=role)
    make_position(appearance=role)
    make_position(appearance=role, published=False)

    def counts(response):
        return [
            (person.pk, person.position_count)
            for _value, _label, people in response.context["speakers_by_sector"]
            for person in people
        ]

    public = client.get(reverse("proceedings:speaker-list"))
    client.force_login(django_user_model.objects.create_user("staff", is_staff=True))
    staff = client.get(reverse("proceedings:speaker-list"))

    assert counts(public) == [(role.speaker_id, 2)]
    assert counts(staff) == [(role.speaker_id, 3)]


@pytest.mark.django_db(transaction=True)
def test_a_flush_empties_the_tallies_with_everything_else(role):
    # A flush (transactional tests end with one) empties every table, on SQLite one DELETE a
    # table, each row's triggers firing: here the tallies first, then the tags and roles,
    # then the positions, whose triggers must not write a row naming a deleted tag or role.
    make_position(appearance=role, tags=["耐心資本", "人才"])
    assert roles_tallied() == {role.pk: 1}
    first = [TagTally._meta.db_table, AppearanceTally._meta.db_table]
    tables = first + sorted(set(connection.introspection.django_table_names()) - set(first))

    connection.ops.execute_sql_flush(connection.ops.sql_flush(no_style(), tables))

    assert not TagTally.objects.exists()
    assert not AppearanceTally.objects.exists()
    assert not Position.objects.exists()


def test_recounting_mends_tallies_written_around_the_triggers(role):
    make_position(appearance=role, tags=["耐心資本", "人才"])
    make_position(appearance=role, tags=["耐心資本"])
    TagTally.objects.filter(tag__name="人才").delete()
    TagTally.objects.filter(tag__name="耐心資本").update(positions=7)
    AppearanceTally.objects.update(positions=0)
    out = io.StringIO()

    call_command("recount_tallies", stdout=out)

    assert out.getvalue() == "Tallies counted again: 3 rows were wrong.\n"
    assert tallied() == {"耐心資本": 2, "人才": 1} == recounted()
    assert roles_tallied() == {role.pk: 2} == roles_recounted()
    call_command("recount_tallies", stdout=out)
    assert out.getvalue().endswith("Tallies counted again: 0 rows were wrong.\n")
