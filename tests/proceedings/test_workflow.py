import io
import json

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import translation

from forum_portal.workflow import TRANSITIONS, Status
from proceedings.models import Forum, Position, Theme
from proceedings.workflow import TransitionNotAllowed, transition
from speakers.models import Speaker

pytestmark = pytest.mark.django_db

EDITOR_MOVES = {(Status.DRAFT, Status.REVIEW), (Status.REVIEW, Status.DRAFT)}
# A published bundled position without key phrases, and its translation as bundled.
REF = "wang-zhan-market-and-government"
TRANSLATION = (
    "An effective market achieves the efficient allocation of innovation resources; a proactive "
    "government is not merely a supplier of policy but must also play its part well as the "
    "organiser and leader of innovation."
)
EDITED = "An effective market allocates innovation resources efficiently."


@pytest.fixture
def make_user(django_user_model):
    def make(group=None, *, username=None):
        user = django_user_model.objects.create_user(
            username or (group or "nobody").lower(), password="pw", is_staff=True
        )
        if group:
            user.groups.add(Group.objects.get(name=group))
        return user

    return make


def staff_client(client, user):
    client.force_login(user)
    return client


@pytest.mark.parametrize(("old", "new"), sorted(TRANSITIONS), ids=lambda s: str(s))
@pytest.mark.parametrize("model", [Position, Theme, Speaker, Forum], ids=lambda m: m.__name__)
def test_each_role_may_make_exactly_its_transitions(pujiang, make_user, model, old, new):
    editor, publisher, outsider = make_user("Editors"), make_user("Publishers"), make_user()
    obj = model.objects.order_by("pk").first()
    model.objects.filter(pk=obj.pk).update(status=old)
    obj.refresh_from_db()

    allowed = {}
    for name, user in (("editor", editor), ("publisher", publisher), ("outsider", outsider)):
        try:
            transition(objects=[obj], to=new, user=user)
        except TransitionNotAllowed:
            allowed[name] = False
        else:
            allowed[name] = True
            model.objects.filter(pk=obj.pk).update(status=old)
        obj.refresh_from_db()

    assert allowed == {
        "editor": (old, new) in EDITOR_MOVES,
        "publisher": True,
        "outsider": False,
    }


def test_moves_outside_the_workflow_are_refused_even_for_publishers(pujiang, make_user):
    position = Position.objects.get(ref=REF)
    transition(objects=[position], to=Status.DRAFT)

    with pytest.raises(TransitionNotAllowed):
        transition(objects=[position], to=Status.WITHDRAWN, user=make_user("Publishers"))

    position.refresh_from_db()
    assert position.status == Status.DRAFT


def test_refused_batch_changes_nothing(pujiang, make_user):
    drafts = list(
        Position.objects.filter(ref__in=["li-zhe-multi-tier-exit", "song-qi-photon-ct-roadmap"])
    )
    transition(objects=drafts[:1], to=Status.DRAFT)  # one draft, one published
    batch = list(Position.objects.filter(pk__in=[p.pk for p in drafts]))

    with pytest.raises(TransitionNotAllowed):
        transition(objects=batch, to=Status.REVIEW, user=make_user("Editors"))

    assert sorted(
        Position.objects.filter(pk__in=[p.pk for p in drafts]).values_list("status", flat=True)
    ) == [
        "draft",
        "published",
    ]


def test_publishing_stamps_the_first_publication_time_only(pujiang):
    position = Position.objects.get(ref=REF)
    first = position.published_at
    transition(objects=[position], to=Status.WITHDRAWN)

    transition(objects=[position], to=Status.PUBLISHED)

    position.refresh_from_db()
    assert position.published_at == first


def test_transition_is_recorded_in_history_with_user_and_reason(pujiang, make_user):
    publisher = make_user("Publishers")
    position = Position.objects.get(ref=REF)

    with translation.override("en"):
        transition(objects=[position], to=Status.WITHDRAWN, user=publisher)

    latest = position.history.first()
    assert (latest.status, latest.history_user, latest.history_change_reason) == (
        "withdrawn",
        publisher,
        "Status changed to “Withdrawn”",
    )


def test_import_is_recorded_in_history_as_the_import(pujiang):
    position = Position.objects.get(ref=REF)

    # Created, then its themes set (simple-history records many-to-many changes separately).
    assert [(h.history_type, h.history_change_reason) for h in position.history.all()] == [
        ("~", "Import of pujiang-2025.json"),
        ("+", "Import of pujiang-2025.json"),
    ]


# --- the admin enforces the same rules -------------------------------------------------------


def test_editor_cannot_publish_with_the_admin_action(client, pujiang, make_user):
    position = Position.objects.get(ref=REF)
    transition(objects=[position], to=Status.REVIEW)
    client = staff_client(client, make_user("Editors"))
    url = reverse("admin:proceedings_position_changelist")

    offered = [
        name for name, _label in client.get(url).context["action_form"].fields["action"].choices
    ]
    client.post(url, {"action": "publish", "_selected_action": [position.pk]})

    assert offered == ["", "submit_for_review", "return_to_draft", "export_csv", "export_json"]
    position.refresh_from_db()
    assert position.status == Status.REVIEW


def test_editor_submits_for_review_with_the_admin_action(client, pujiang, make_user):
    position = Position.objects.get(ref=REF)
    transition(objects=[position], to=Status.DRAFT)
    client = staff_client(client, make_user("Editors"))

    client.post(
        reverse("admin:proceedings_position_changelist"),
        {"action": "submit_for_review", "_selected_action": [position.pk]},
    )

    position.refresh_from_db()
    assert position.status == Status.REVIEW


def test_publisher_publishes_with_the_admin_action(client, pujiang, make_user):
    position = Position.objects.get(ref=REF)
    transition(objects=[position], to=Status.REVIEW)
    client = staff_client(client, make_user("Publishers"))

    client.post(
        reverse("admin:proceedings_position_changelist"),
        {"action": "publish", "_selected_action": [position.pk]},
    )

    position.refresh_from_db()
    assert position.status == Status.PUBLISHED


def test_editor_sees_published_positions_read_only(client, pujiang, make_user):
    position = Position.objects.get(ref=REF)
    client = staff_client(client, make_user("Editors"))
    url = reverse("admin:proceedings_position_change", args=[position.pk])

    page = client.get(url)
    post = client.post(url, {"text": "改掉", "fidelity": "paraphrase"})

    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    assert post.status_code == 403
    position.refresh_from_db()
    assert position.text == (
        "有效市場實現創新資源有效配置,有為政府不只是政策供給方,還要扮演好創新組織者和引領者。"
    )


def test_editor_cannot_delete(client, pujiang, make_user):
    position = Position.objects.get(ref=REF)
    transition(objects=[position], to=Status.DRAFT)
    client = staff_client(client, make_user("Editors"))

    response = client.post(
        reverse("admin:proceedings_position_delete", args=[position.pk]), {"post": "yes"}
    )

    assert response.status_code == 403
    assert Position.objects.filter(pk=position.pk).exists()


def change_form_data(client, url, **changes):
    """Return the POST data of the admin change form at ``url`` as it stands, inlines included."""
    form = client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update(_inline_management(client, url))
    data.update(changes)
    return data


def test_status_in_a_posted_form_is_ignored(client, pujiang, make_user):
    position = Position.objects.get(ref=REF)
    transition(objects=[position], to=Status.DRAFT)
    client = staff_client(client, make_user("Editors"))
    url = reverse("admin:proceedings_position_change", args=[position.pk])
    data = change_form_data(
        client,
        url,
        status="published",
        themes=[t.pk for t in position.themes.all()],
        tags="科技治理",
    )

    response = client.post(url, data)

    assert response.status_code == 302
    position.refresh_from_db()
    assert position.status == Status.DRAFT


def test_history_shows_a_diff_and_revert_restores_the_old_version(
    client, pujiang, django_user_model
):
    admin = django_user_model.objects.create_superuser("admin", "a@example.org", "pw")
    client.force_login(admin)
    position = Position.objects.get(ref=REF)
    url = reverse("admin:proceedings_position_change", args=[position.pk])
    themes = [t.pk for t in position.themes.all()]
    client.post(
        url,
        change_form_data(client, url, translation=EDITED, themes=themes, tags="科技治理"),
    )
    original = position.history.earliest()

    history = client.get(
        reverse("admin:proceedings_position_history", args=[position.pk]),
        headers={"accept-language": "en"},
    )

    changes = [
        (change["field"], change["old"], change["new"])
        for record in history.context["page_obj"]
        for change in getattr(record, "history_delta_changes", [])
    ]
    # The history page shortens long values, keeping their start and end.
    shortened = f"{TRANSLATION[:82]}[125 chars]{TRANSLATION[-5:]}"
    assert ("English translation", shortened, EDITED) in changes
    assert history.context["page_obj"][0].history_user == admin

    revert_url = reverse(
        "admin:proceedings_position_simple_history", args=[position.pk, original.history_id]
    )
    data = change_form_data(client, revert_url, themes=themes, tags="科技治理")
    client.post(revert_url, data)

    position.refresh_from_db()
    assert position.translation == TRANSLATION
    assert position.history.count() == 4  # import (row, themes), edit, revert


def test_import_command_is_named_in_history(tmp_path):
    from django.core.management import call_command

    from tests.proceedings.test_import import minimal_document

    path = tmp_path / "demo.json"
    path.write_text(json.dumps(minimal_document(), ensure_ascii=False), encoding="utf-8")

    call_command("import_forum", str(path), stdout=io.StringIO())

    record = Forum.history.get(slug="demo")
    assert (record.history_user, record.history_change_reason) == (
        None,
        "Import of demo.json (manage.py import_forum)",
    )


def test_changing_a_theme_slug_in_the_admin_redirects_the_old_url(
    client, pujiang, django_user_model
):
    client.force_login(django_user_model.objects.create_superuser("admin", "a@example.org", "pw"))
    theme = Theme.objects.get(slug="regional-ecosystems")
    old_url = theme.get_absolute_url()
    url = reverse("admin:proceedings_theme_change", args=[theme.pk])
    data = change_form_data(client, url, slug="regional-innovation-ecosystems")
    data.update({k: v for k, v in _inline_management(client, url).items() if k not in data})

    response = client.post(url, data)

    assert response.status_code == 302
    redirect = client.get(old_url)
    assert (redirect.status_code, redirect["Location"]) == (
        301,
        reverse(
            "proceedings:theme-detail", args=["pujiang-2025", "regional-innovation-ecosystems"]
        ),
    )


def _inline_management(client, url):
    """Return the inline formsets' management and row fields of an admin change form."""
    data = {}
    for formset in client.get(url).context.get("inline_admin_formsets", []):
        management = formset.formset.management_form
        data.update(
            {management[name].html_name: management[name].value() for name in management.fields}
        )
        for form in formset.formset.forms:
            data.update(
                {
                    form[name].html_name: form[name].value()
                    for name in form.fields
                    if form[name].value() is not None
                }
            )
    return data
