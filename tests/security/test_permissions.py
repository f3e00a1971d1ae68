"""
One rule for published content: what a published page shows is changed only by a Publisher.

Sessions, questions, sources, roles, institutions and tags have no status of their own; they
are public through a published forum, position or person. An Editor sees those public rows
read-only and a POST changing one is refused (403, the row unchanged), whatever the admin page
(change form, the changelist's editable columns, an inline, taggit's merge); the same Editor
still edits rows no published page shows; a Publisher edits both.
"""

import pytest
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from taggit.models import Tag, TaggedItem

from proceedings.models import Appearance, Position, Question, Session, SourceDocument
from speakers.models import Institution
from tests.factories import (
    make_appearance,
    make_forum,
    make_institution,
    make_position,
    make_question,
    make_session,
    make_source,
    make_speaker,
)

pytestmark = pytest.mark.django_db

# model, field changed, its new value
CHANGES = {
    "session": (Session, "title", "改名的分論壇"),
    "question": (Question, "title", "改名的問題"),
    "source": (SourceDocument, "title", "改名的報告"),
    "appearance": (Appearance, "role", "改名的職務"),
    "institution": (Institution, "name", "改名的機構"),
    "tag": (Tag, "name", "改名的標籤"),
}


def make_rows(*, public):
    """Return one row of each model, shown on a published page or not shown anywhere."""
    forum = make_forum(published=public)
    source = make_source()
    session = make_session(forum=forum, source=source)
    institution = make_institution()
    speaker = make_speaker()
    appearance = make_appearance(session=session, speaker=speaker, institution=institution)
    tag = f"公開標籤{public}"
    make_position(appearance=appearance, tags=[tag], published=public)
    return {
        "session": session,
        "question": make_question(forum=forum),
        "source": source,
        "appearance": appearance,
        "institution": institution,
        "tag": Tag.objects.get(name=tag),
    }


@pytest.fixture
def staff(django_user_model):
    def make(group):
        """Return the staff user of ``group`` (Editors or Publishers), made the first time."""
        user, created = django_user_model.objects.get_or_create(
            username=group.lower(), defaults={"is_staff": True}
        )
        if created:
            user.groups.add(Group.objects.get(name=group))
        return user

    return make


def change_url(obj):
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def change_form_data(client, url, **changes):
    """Return the POST data of the change form at ``url`` as it stands, inlines included."""
    response = client.get(url)
    data = {}
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        forms += [formset.management_form, *formset.forms]
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value is not None:
                data[form.add_prefix(name)] = value
    data.update(changes)
    return data


@pytest.mark.parametrize("name", list(CHANGES))
def test_public_rows_are_changed_by_publishers_only(client, staff, name):
    model, field, value = CHANGES[name]
    public = make_rows(public=True)[name]
    hidden = make_rows(public=False)[name]
    before = getattr(public, field)
    publisher = staff("Publishers")
    client.force_login(publisher)
    public_data = change_form_data(client, change_url(public), **{field: value})
    hidden_data = change_form_data(client, change_url(hidden), **{field: f"{value}（草稿）"})

    client.force_login(staff("Editors"))
    page = client.get(change_url(public))
    refused = client.post(change_url(public), public_data)
    after_editor = model.objects.values_list(field, flat=True).get(pk=public.pk)
    hidden_saved = client.post(change_url(hidden), hidden_data)
    client.force_login(publisher)
    saved = client.post(change_url(public), public_data)

    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    assert '<input type="submit" value="儲存" class="default" name="_save">' not in (
        page.content.decode()
    )
    assert (refused.status_code, after_editor) == (403, before)
    assert hidden_saved.status_code == 302
    assert model.objects.values_list(field, flat=True).get(pk=hidden.pk) == f"{value}（草稿）"
    assert saved.status_code == 302
    assert model.objects.values_list(field, flat=True).get(pk=public.pk) == value


def test_editable_changelist_columns_of_public_rows_are_closed_to_editors(client, staff):
    public = make_question(forum=make_forum(), order=1)
    hidden = make_question(forum=make_forum(published=False), order=1)
    url = reverse("admin:proceedings_question_changelist")
    data = {
        "form-TOTAL_FORMS": "2",
        "form-INITIAL_FORMS": "2",
        "form-0-id": str(public.pk),
        "form-0-order": "7",
        "form-1-id": str(hidden.pk),
        "form-1-order": "7",
        "_save": "儲存",
    }
    client.force_login(staff("Editors"))

    page = client.get(url)
    client.post(url, data)
    orders_after_editor = [Question.objects.get(pk=q.pk).order for q in (public, hidden)]
    client.force_login(staff("Publishers"))
    client.post(url, data)

    # Django leaves out the editable column of a row the user may not change.
    editable = [
        form.instance for form in page.context["cl"].formset.forms if "order" in form.fields
    ]
    assert editable == [hidden]
    assert orders_after_editor == [1, 7]
    assert Question.objects.get(pk=public.pk).order == 7


def test_editor_cannot_make_a_row_public_by_adding_it(client, staff):
    forum = make_forum()
    client.force_login(staff("Editors"))

    response = client.post(
        reverse("admin:proceedings_question_add"),
        {"forum": forum.pk, "title": "新的問題", "title_en": "", "slug": "new-q", "order": 0},
    )

    assert response.status_code == 403
    assert list(Question.objects.filter(forum=forum)) == []


def test_editor_cannot_publish_a_tag_by_attaching_it_to_a_public_position(client, staff):
    forum = make_forum()
    appearance = make_appearance(session=make_session(forum=forum), speaker=make_speaker())
    position = make_position(appearance=appearance)
    draft = make_position(appearance=appearance, published=False, tags=["草稿標籤"])
    tag = Tag.objects.get(name="草稿標籤")
    client.force_login(staff("Publishers"))
    page = client.get(change_url(tag))
    [inline] = [
        i.formset for i in page.context["inline_admin_formsets"] if i.formset.model is TaggedItem
    ]
    new_item = inline.forms[inline.initial_form_count()].prefix
    data = change_form_data(
        client,
        change_url(tag),
        **{
            f"{new_item}-content_type": ContentType.objects.get_for_model(Position).pk,
            f"{new_item}-object_id": position.pk,
        },
    )
    client.force_login(staff("Editors"))

    refused = client.post(change_url(tag), data)
    client.force_login(staff("Publishers"))
    saved = client.post(change_url(tag), data)

    assert refused.status_code == 403
    assert saved.status_code == 302
    assert sorted(p.pk for p in Position.objects.filter(tags=tag)) == sorted(
        [draft.pk, position.pk]
    )


def test_editor_cannot_merge_public_tags(client, staff):
    forum = make_forum()
    appearance = make_appearance(session=make_session(forum=forum), speaker=make_speaker())
    make_position(appearance=appearance, tags=["甲", "乙"])
    ids = [str(pk) for pk in Tag.objects.order_by("name").values_list("pk", flat=True)]
    client.force_login(staff("Editors"))
    session = client.session
    session["selected_tag_ids"] = ",".join(ids)
    session.save()

    response = client.post(reverse("admin:taggit_tag_merge_tags"), {"new_tag_name": "甲乙"})

    assert response.status_code == 403
    assert sorted(Tag.objects.values_list("name", flat=True)) == ["乙", "甲"]
