"""
Signal receivers that keep search documents up to date after single-object edits.

The style guide keeps domain flow out of signals; a search index is the exception it is in
Wagtail (``wagtail.search.signal_handlers``): a document is derived data that must follow *every*
way a position, or anything shown on it, can change (admin forms, inlines, shells, other apps'
code), and a missed path would make search silently wrong. The receivers only name the
positions concerned; ``indexing.schedule_reindex`` does the work (at once, or at the end of a
``deferred_indexing()`` block such as an import). Connected in ``ProceedingsConfig.ready()``.

Bulk writes send no model signals: ``PositionQuerySet.update()``/``bulk_create()`` send
``positions_bulk_written`` instead, and the services that write other models in bulk call
``reindex_positions``.
"""

from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from django.dispatch import receiver
from taggit.models import Tag, TaggedItem

from speakers.models import Institution, Speaker

from ..models import (
    Appearance,
    Forum,
    KeyPhrase,
    Position,
    Question,
    Session,
    SourceDocument,
    TagName,
    Theme,
    positions_bulk_written,
)
from .indexing import schedule_records, schedule_reindex
from .records import SOURCE, forum_record_keys, position_record_keys


def _ids(queryset):
    return list(queryset.values_list("pk", flat=True).distinct())


@receiver(post_save, sender=Position, dispatch_uid="search_position_saved")
def position_saved(sender, instance, raw=False, **kwargs):
    if not raw:  # loaddata: `manage.py reindex` afterwards
        schedule_reindex([instance.pk])


@receiver(positions_bulk_written, sender=Position, dispatch_uid="search_positions_bulk_written")
def positions_written(sender, ids, **kwargs):
    schedule_reindex(ids)


@receiver(m2m_changed, sender=Position.themes.through, dispatch_uid="search_position_themes")
def position_themes_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if reverse:  # theme.positions.add(...): pk_set holds positions
        if action == "pre_clear":
            instance._search_position_ids = _ids(instance.positions.all())
        elif action == "post_clear":
            schedule_reindex(getattr(instance, "_search_position_ids", []))
        elif action in ("post_add", "post_remove"):
            schedule_reindex(pk_set or [])
    elif action in ("post_add", "post_remove", "post_clear"):
        schedule_reindex([instance.pk])


@receiver(m2m_changed, sender=TaggedItem, dispatch_uid="search_position_tags")
def position_tags_changed(sender, instance, action, **kwargs):
    if isinstance(instance, Position) and action in ("post_add", "post_remove", "post_clear"):
        schedule_reindex([instance.pk])


@receiver(m2m_changed, sender=Theme.questions.through, dispatch_uid="search_theme_questions")
def theme_questions_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    themes = Theme.objects.filter(questions=instance) if reverse else [instance]
    schedule_reindex(positions_of_themes(themes))


@receiver(post_save, sender=Speaker, dispatch_uid="search_speaker_saved")
def speaker_saved(sender, instance, created=False, raw=False, **kwargs):
    if not created and not raw:
        schedule_reindex(_ids(Position.objects.filter(appearance__speaker=instance)))


@receiver(post_save, sender=Institution, dispatch_uid="search_institution_saved")
def institution_saved(sender, instance, created=False, raw=False, **kwargs):
    if not created and not raw:
        schedule_reindex(_ids(Position.objects.filter(appearance__institution=instance)))


@receiver(post_save, sender=Appearance, dispatch_uid="search_appearance_saved")
def appearance_saved(sender, instance, created=False, raw=False, **kwargs):
    if not created and not raw:
        schedule_reindex(_ids(instance.positions.all()))


@receiver(post_save, sender=Session, dispatch_uid="search_session_saved")
def session_saved(sender, instance, created=False, raw=False, **kwargs):
    if not created and not raw:  # the date said is part of the ordering key
        schedule_reindex(_ids(Position.objects.filter(appearance__session=instance)))


@receiver(post_save, sender=Forum, dispatch_uid="search_forum_saved")
def forum_saved(sender, instance, created=False, raw=False, **kwargs):
    if not created and not raw:  # publishing a forum publishes its positions
        schedule_reindex(_ids(Position.objects.filter(appearance__session__forum=instance)))


@receiver(post_save, sender=Theme, dispatch_uid="search_theme_saved")
def theme_saved(sender, instance, created=False, raw=False, **kwargs):
    if not created and not raw:
        schedule_reindex(positions_of_themes([instance]))


@receiver(post_save, sender=Tag, dispatch_uid="search_tag_saved")
def tag_saved(sender, instance, created=False, raw=False, **kwargs):
    if not created and not raw:
        schedule_reindex(_ids(Position.objects.filter(tags=instance)))


@receiver(post_save, sender=KeyPhrase, dispatch_uid="search_key_phrase_saved")
@receiver(post_delete, sender=KeyPhrase, dispatch_uid="search_key_phrase_deleted")
def key_phrase_changed(sender, instance, raw=False, **kwargs):
    if not raw:
        schedule_reindex([instance.position_id])


@receiver(post_save, sender=TagName, dispatch_uid="search_tag_name_saved")
@receiver(post_delete, sender=TagName, dispatch_uid="search_tag_name_deleted")
def tag_name_changed(sender, instance, raw=False, **kwargs):
    if not raw:  # a tag's English name finds its positions
        schedule_reindex(_ids(Position.objects.filter(tags__pk=instance.tag_id)))


# Deleting a theme, question or tag removes its links to positions without m2m signals: note
# the positions before, re-index them after.
@receiver(pre_delete, sender=Theme, dispatch_uid="search_theme_deleting")
def theme_deleting(sender, instance, **kwargs):
    instance._search_position_ids = positions_of_themes([instance])


@receiver(pre_delete, sender=Question, dispatch_uid="search_question_deleting")
def question_deleting(sender, instance, **kwargs):
    instance._search_position_ids = positions_of_themes(Theme.objects.filter(questions=instance))


@receiver(pre_delete, sender=Tag, dispatch_uid="search_tag_deleting")
def tag_deleting(sender, instance, **kwargs):
    instance._search_position_ids = _ids(Position.objects.filter(tags=instance))


@receiver(post_delete, sender=Theme, dispatch_uid="search_theme_deleted")
@receiver(post_delete, sender=Question, dispatch_uid="search_question_deleted")
@receiver(post_delete, sender=Tag, dispatch_uid="search_tag_deleted")
def linked_row_deleted(sender, instance, **kwargs):
    schedule_reindex(getattr(instance, "_search_position_ids", []))


def positions_of_themes(themes):
    """Return the ids of the positions in ``themes`` or in any of their descendants."""
    theme_ids = {theme.pk for theme in themes}
    frontier = set(theme_ids)
    while frontier:  # themes are a shallow tree (outlook → tasks)
        frontier = (
            set(Theme.objects.filter(parent__in=frontier).values_list("pk", flat=True)) - theme_ids
        )
        theme_ids |= frontier
    return _ids(Position.objects.filter(themes__in=theme_ids))


# -- the other records (report passages, themes, questions, people, forums, sessions) ------------
# New rows count too here: a new theme is a new document. Positions reach their records through
# reindex_positions (indexing.py); a deleted position's are noted before it goes.


@receiver(post_save, sender=Forum, dispatch_uid="search_records_forum_saved")
@receiver(post_delete, sender=Forum, dispatch_uid="search_records_forum_deleted")
def forum_records_changed(sender, instance, raw=False, **kwargs):
    if not raw:  # publishing a forum publishes (and unpublishing hides) all of its records
        schedule_records(forum_record_keys([instance.pk]) | {("forum", instance.pk)})


@receiver(post_save, sender=Session, dispatch_uid="search_records_session_saved")
@receiver(post_delete, sender=Session, dispatch_uid="search_records_session_deleted")
def session_records_changed(sender, instance, raw=False, **kwargs):
    if not raw:
        schedule_records({("session", instance.pk), (SOURCE, instance.source_id)})


@receiver(post_save, sender=Theme, dispatch_uid="search_records_theme_saved")
@receiver(post_delete, sender=Theme, dispatch_uid="search_records_theme_deleted")
@receiver(post_save, sender=Question, dispatch_uid="search_records_question_saved")
@receiver(post_delete, sender=Question, dispatch_uid="search_records_question_deleted")
@receiver(post_save, sender=Institution, dispatch_uid="search_records_institution_saved")
@receiver(post_delete, sender=Institution, dispatch_uid="search_records_institution_deleted")
def record_changed(sender, instance, raw=False, **kwargs):
    if not raw:
        schedule_records({(sender._meta.model_name, instance.pk)})


@receiver(post_save, sender=Speaker, dispatch_uid="search_records_speaker_saved")
@receiver(post_delete, sender=Speaker, dispatch_uid="search_records_speaker_deleted")
def speaker_records_changed(sender, instance, raw=False, **kwargs):
    if raw:
        return
    # Passages show the names of the people citing them.
    sources = Position.objects.filter(appearance__speaker=instance.pk, source__isnull=False)
    schedule_records(
        {("speaker", instance.pk)}
        | {(SOURCE, pk) for pk in sources.values_list("source_id", flat=True).distinct()}
    )


@receiver(post_save, sender=Appearance, dispatch_uid="search_records_appearance_saved")
@receiver(post_delete, sender=Appearance, dispatch_uid="search_records_appearance_deleted")
def appearance_records_changed(sender, instance, raw=False, **kwargs):
    if not raw:  # a role makes a person and an institution public
        schedule_records(
            {("speaker", instance.speaker_id), ("institution", instance.institution_id)}
        )


@receiver(post_save, sender=SourceDocument, dispatch_uid="search_records_source_saved")
@receiver(post_delete, sender=SourceDocument, dispatch_uid="search_records_source_deleted")
def source_records_changed(sender, instance, raw=False, **kwargs):
    if not raw:
        schedule_records({(SOURCE, instance.pk)})


@receiver(pre_delete, sender=Position, dispatch_uid="search_records_position_deleting")
def position_deleting(sender, instance, **kwargs):
    instance._search_record_keys = position_record_keys([instance.pk])


@receiver(post_delete, sender=Position, dispatch_uid="search_records_position_deleted")
def position_deleted(sender, instance, **kwargs):
    schedule_records(getattr(instance, "_search_record_keys", ()))
