import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.urls import reverse

from proceedings.models import (
    Appearance,
    CorrectionRequest,
    Forum,
    Position,
    SearchQueryStat,
    Status,
)
from tests.bundled import add_quote

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("admin", "admin@example.org", "pw")
    client.force_login(user)
    return client


def registered_models():
    return sorted(admin.site._registry, key=lambda model: model._meta.label)


@pytest.mark.parametrize("model", registered_models(), ids=lambda m: m._meta.label)
def test_admin_changelist_and_add_pages_render(admin_client, pujiang, model):
    opts = model._meta
    changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")

    assert admin_client.get(changelist).status_code == 200
    assert admin_client.get(f"{changelist}?q=創新").status_code == 200
    add = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
    # Readers file correction requests and searches write statistics: no one adds them by hand.
    assert add.status_code == (403 if model in (CorrectionRequest, SearchQueryStat) else 200)


@pytest.mark.parametrize("model", registered_models(), ids=lambda m: m._meta.label)
def test_admin_change_page_renders_a_pujiang_record(admin_client, pujiang, model):
    obj = model._default_manager.order_by("pk").first()
    if obj is None:
        pytest.skip(f"no {model._meta.label} in the Pujiang data")
    opts = model._meta

    response = admin_client.get(
        reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    )

    assert response.status_code == 200
    assert response.context["original"] == obj


def test_position_changelist_filters_by_fidelity(admin_client, pujiang):
    url = reverse("admin:proceedings_position_changelist")

    response = admin_client.get(url, {"fidelity__exact": "summary"})

    assert sorted(p.ref for p in response.context["cl"].result_list) == [
        "ding-lieming-drug-review-reform",
        "li-zhe-finance-as-blood",
        "liu-dongmei-cede-powers-to-enterprises",
        "liu-dongmei-enterprise-as-bridge",
        "song-qi-photon-ct-roadmap",
        "wang-zhan-market-and-government",
        "xiao-jian-one-stop-ecosystem",
        "zhu-pengcheng-atlatl-motherboard",
    ]


def test_position_change_page_shows_the_source_paragraph(admin_client, pujiang):
    position = Position.objects.get(ref="wang-zhan-market-and-government")

    response = admin_client.get(reverse("admin:proceedings_position_change", args=[position.pk]))

    assert "¶12: 面向新一輪科技革命和產業變革" in response.content.decode()


def test_editing_a_verbatim_quote_to_text_not_in_source_shows_an_error(admin_client, pujiang):
    position = add_quote("wang-zhan-naked-swimming")
    url = reverse("admin:proceedings_position_change", args=[position.pk])
    form = admin_client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update(text="穿衣游泳", themes=[t.pk for t in position.themes.all()], tags="科技倫理")
    data.update({"key_phrases-TOTAL_FORMS": "0", "key_phrases-INITIAL_FORMS": "0"})

    response = admin_client.post(url, data, headers={"accept-language": "en"})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["text"] == [
        "This is marked as a verbatim quotation, but the text does not occur exactly in "
        "“2025浦江創新論壇科技政策論壇綜述”. Copy it from the source, or change the fidelity."
    ]
    position.refresh_from_db()
    assert position.text == "裸泳"


def test_editor_changes_a_quote_translation_in_the_admin(admin_client, pujiang):
    position = Position.objects.get(ref="wang-zhan-market-and-government")
    url = reverse("admin:proceedings_position_change", args=[position.pk])
    form = admin_client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update(
        translation="Markets allocate; governments organise and lead.",
        themes=[t.pk for t in position.themes.all()],
        tags="有效市場與有為政府, 科技治理",
    )
    # The key phrases inline (none added here).
    data.update(
        {
            "key_phrases-TOTAL_FORMS": "0",
            "key_phrases-INITIAL_FORMS": str(position.key_phrases.count()),
        }
    )
    for n, phrase in enumerate(position.key_phrases.all()):
        fields = {"id": phrase.pk, "position": position.pk, "text": phrase.text}
        fields.update(translation=phrase.translation, order=phrase.order)
        fields["paragraph"] = phrase.paragraph or ""
        data.update({f"key_phrases-{n}-{name}": value for name, value in fields.items()})
    data["key_phrases-TOTAL_FORMS"] = data["key_phrases-INITIAL_FORMS"]

    response = admin_client.post(url, data)

    assert response.status_code == 302
    position.refresh_from_db()
    assert position.translation == "Markets allocate; governments organise and lead."


def test_publish_and_unpublish_actions(admin_client, pujiang):
    url = reverse("admin:proceedings_position_changelist")
    refs = ["wang-zhan-market-and-government", "song-qi-photon-ct-roadmap"]
    pks = list(Position.objects.filter(ref__in=refs).values_list("pk", flat=True))

    admin_client.post(url, {"action": "return_to_draft", "_selected_action": pks})

    assert sorted(
        Position.objects.filter(status=Status.DRAFT).values_list("ref", flat=True)
    ) == sorted(refs)

    admin_client.post(url, {"action": "publish", "_selected_action": pks})

    assert Position.objects.filter(status=Status.DRAFT).count() == 0


def group_permissions(name):
    return set(Group.objects.get(name=name).permissions.values_list("codename", flat=True))


def test_editors_curate_content_but_neither_publish_delete_nor_manage_users():
    editors = group_permissions("Editors")

    assert {"add_position", "change_position", "change_speaker", "change_tag"} <= editors
    assert {"view_searchquerystat", "change_correctionrequest"} <= editors
    assert not {p for p in editors if p.startswith(("delete_", "publish_"))}
    assert (
        not Group.objects.get(name="Editors")
        .permissions.filter(content_type__app_label="auth")
        .exists()
    )


def test_publishers_also_publish_and_delete():
    publishers = group_permissions("Publishers")

    assert {
        "publish_forum",
        "publish_theme",
        "publish_position",
        "publish_speaker",
        "delete_position",
        "delete_speaker",
    } <= publishers
    assert group_permissions("Editors") < publishers
    assert "change_searchquerystat" not in publishers


def test_deleting_a_speaker_with_positions_is_refused(admin_client, pujiang):
    appearance = Appearance.objects.get(speaker__slug="wang-zhan")
    url = reverse("admin:speakers_speaker_delete", args=[appearance.speaker.pk])

    response = admin_client.post(url, {"post": "yes"})

    assert response.status_code == 200  # the "cannot delete" page, listing what protects it
    assert Position.objects.filter(appearance=appearance).count() == 2
    assert Forum.objects.count() == 1
