"""
Reports in, draft rows out: storing a report with its proposals, and the review actions.

``create_report`` extracts, proposes and matches (nothing is written when the upload cannot be
read or names no speaker). ``accept`` turns one proposal into a draft ``Position`` through the
same models and validation (``full_clean``) as every other write path, creating on first use
the draft forum, its source document and session, the person (new or matched), the
institution and the role as printed. Every row written keeps its history, with the reason
"Accepted from report <title>". Nothing here publishes anything.
"""

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from proceedings.interchange.merging import REASON_MAX_LENGTH, NameIndex
from proceedings.models import (
    Appearance,
    Forum,
    KeyPhrase,
    Position,
    Question,
    Session,
    SourceDocument,
)
from proceedings.models import Theme as ThemeModel
from speakers.models import Institution, Sector, Speaker

from .engine import propose
from .extraction import ExtractionError, extract
from .models import Proposal, ProposedSpeaker, ProposedTheme, Report, State

TO_TRANSLATE_TAG = "to-translate"
SECTOR_HINTS = [
    (
        Sector.FINANCE,
        r"創投|创投|資本|资本|基金|銀行|银行|證券|证券|Capital|Bank|Fund|Finance|\bRe\b",
    ),
    (Sector.ACADEMIA, r"大學|大学|學院|学院|University|College|School"),
    (
        Sector.RESEARCH,
        r"研究院|研究所|研究室|實驗室|实验室|中心|Institute|Lab|Academy|Centre|Center",
    ),
    (Sector.GOVERNMENT, r"部$|局$|政府|辦公室|办公室|委員會|委员会|Ministry|Agency|Office|Board"),
    (Sector.ASSOCIATION, r"會$|会$|協會|协会|學會|学会|Trust|Association|Society|Council"),
    (Sector.ENTERPRISE, r"公司|集團|集团|Inc|Ltd|Group|Corp|Company"),
]


def guess_language(text):
    """Return zh-Hant, zh-Hans or en from the script of ``text``."""
    from .engine import _converters

    han = [ch for ch in text if "\u3400" <= ch <= "\u9fff"]
    if len(han) < 0.2 * max(1, sum(1 for ch in text if ch.isalpha())):
        return "en"
    sample = "".join(han[:5000])
    t2s, s2t = _converters()
    traditional = sum(a != b for a, b in zip(sample, t2s.convert(sample), strict=False))
    simplified = sum(a != b for a, b in zip(sample, s2t.convert(sample), strict=False))
    return "zh-Hant" if traditional >= simplified else "zh-Hans"


def guess_sector(name):
    for sector, pattern in SECTOR_HINTS:
        if re.search(pattern, name or ""):
            return sector
    return Sector.RESEARCH


def _reason(report):
    return (_("Accepted from report %(name)s") % {"name": report.title})[:REASON_MAX_LENGTH]


def _save(obj, report, user):
    """Validate like every other write path, then save with a history reason and user."""
    obj.full_clean()
    obj._change_reason = _reason(report)  # read by simple-history
    obj._history_user = user
    obj.save()
    return obj


def _unique_slug(model, base, fallback, field="slug", **scope):
    base = slugify(unicodedata.normalize("NFKC", base))[:100].strip("-")
    if not re.search("[a-z]", base):
        base = fallback
    slug, n = base, 2
    while model.objects.filter(**{field: slug}, **scope).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


# ---------------------------------------------------------------------------------------------
# Upload
# ---------------------------------------------------------------------------------------------


def create_report(
    *,
    forum_name,
    forum_year,
    title,
    author="",
    publisher="",
    content=b"",
    filename="",
    text=None,
    user=None,
):
    """Extract and propose; store the report and its proposals. Raise ``ExtractionError``."""
    extracted = extract(content, filename, text=text)
    proposals = propose(extracted.paragraphs, extracted.headings)
    if not any(s.capacity == "speaker" for s in proposals.speakers) or not proposals.spans:
        raise ExtractionError(
            _(
                "No speaker could be recognised in this report (no “institution + role + name "
                "+ said” or “Name, role of Institution, said”). Nothing was created; add the "
                "forum by hand or with the JSON import."
            )
        )
    speakers_index = NameIndex.for_speakers()
    institutions_index = NameIndex.for_institutions()
    with transaction.atomic():
        report = Report.objects.create(
            forum_name=forum_name,
            forum_year=forum_year,
            title=title,
            author=author or "",
            publisher=publisher or "",
            filename=filename or "",
            format=extracted.format,
            encoding=extracted.encoding,
            language=guess_language(extracted.full_text),
            full_text=extracted.full_text,
            headings=extracted.headings,
            furniture="\n".join(extracted.furniture),
            questions=proposals.questions,
            byline=proposals.byline[:500],
            created_by=user if user and user.is_authenticated else None,
        )
        by_key = {}
        for order, guess in enumerate(proposals.speakers):
            row = ProposedSpeaker(
                report=report,
                name=guess.name,
                name_en=guess.name_en,
                role=guess.role,
                institution_name=guess.institution,
                as_printed=guess.as_printed,
                capacity=guess.capacity,
                paragraph=guess.paragraph,
                confidence=guess.confidence,
                order=order,
            )
            match_speaker(row, speakers_index, institutions_index)
            row.save()
            by_key[guess.key] = row
        Proposal.objects.bulk_create(
            Proposal(
                report=report,
                speaker=by_key[span.speaker],
                paragraph=span.paragraph,
                start=span.start,
                end=span.end,
                text=span.text,
                fidelity=span.fidelity,
                fidelity_confidence=span.fidelity_confidence,
                confidence=span.confidence,
                key_phrases=span.key_phrases,
                attribution_note=span.note,
                order=order,
            )
            for order, span in enumerate(proposals.spans)
        )
        themes = []
        for order, guess in enumerate(proposals.themes):
            theme = ProposedTheme.objects.create(
                report=report,
                title=guess.title[:300],
                paragraph=guess.paragraph,
                kind=guess.kind,
                parent=themes[guess.parent] if guess.parent is not None else None,
                order=order,
            )
            themes.append(theme)
    return report


def match_speaker(row, speakers_index, institutions_index):
    """Match a proposed speaker to a person and institution; flag a same-name stranger.

    A person with the same name (either script, or an alias) is the same person only when
    nothing says otherwise: when the report prints an institution that is not one of the
    institutions of their earlier roles, they are flagged, not merged (acceptance then creates
    a new person unless the editor picks the existing one).
    """
    institution = institutions_index.match(row.institution_name) if row.institution_name else None
    row.institution = institution.obj if institution else None
    found = speakers_index.match(row.name, row.name_en)
    if found.ambiguous:
        row.match = ProposedSpeaker.Match.FLAGGED
        row.candidate = found.ambiguous[0]
        row.match_note = _("Several people have this name: %(names)s") % {
            "names": "; ".join(str(p) for p in found.ambiguous)
        }
        return
    if found.obj is None:
        row.match = ProposedSpeaker.Match.NEW
        return
    person = found.obj
    earlier = set(
        Appearance.objects.filter(speaker=person, institution__isnull=False).values_list(
            "institution_id", flat=True
        )
    )
    if (
        row.institution_name
        and earlier
        and (row.institution is None or row.institution.pk not in earlier)
    ):
        row.match = ProposedSpeaker.Match.FLAGGED
        row.candidate = person
        row.match_note = _(
            "%(person)s already exists, with other institutions (%(institutions)s); this "
            "report prints %(printed)s. A new person will be created unless you pick them."
        ) % {
            "person": person,
            "institutions": ", ".join(
                Institution.objects.filter(pk__in=earlier).values_list("name", flat=True)
            ),
            "printed": row.institution_name,
        }
        return
    row.match = ProposedSpeaker.Match.MATCHED
    row.speaker = person
    row.match_note = found.how_label


# ---------------------------------------------------------------------------------------------
# Review actions
# ---------------------------------------------------------------------------------------------


def ensure_forum(report, user):
    """Create (once) the draft forum, its source document and session for ``report``."""
    if report.session_id:
        return report.session
    forum = _save(
        Forum(
            slug=_unique_slug(
                Forum,
                f"{report.forum_name}-{report.forum_year}",
                f"forum-{report.forum_year}-{report.pk}",
            ),
            name=report.forum_name,
            edition_year=report.forum_year,
        ),
        report,
        user,
    )
    source = _save(
        SourceDocument(
            slug=_unique_slug(SourceDocument, report.title, f"report-{report.pk}"),
            title=report.title,
            author=report.author,
            publisher=report.publisher,
            language=report.language,
            full_text=report.full_text,
        ),
        report,
        user,
    )
    session = _save(
        Session(forum=forum, slug="report", title=report.title, source=source, order=1),
        report,
        user,
    )
    for order, title in enumerate(report.questions, start=1):
        _save(
            Question(
                forum=forum,
                slug=_unique_slug(Question, title, f"question-{order}", forum=forum),
                title=title[:300],
                order=order,
            ),
            report,
            user,
        )
    report.forum, report.source, report.session = forum, source, session
    report.save(update_fields=["forum", "source", "session"])
    return session


def _person(proposed, report, user):
    if proposed.speaker_id:
        return proposed.speaker
    name_en = proposed.name_en or (proposed.name if slugify(proposed.name) else "")
    person = _save(
        Speaker(
            slug=_unique_slug(Speaker, name_en or "", f"person-r{report.pk}-{proposed.order + 1}"),
            name=proposed.name,
            # Required fields; a Chinese name without romanisation keeps its own script until
            # an editor romanises it.
            name_en=name_en or proposed.name,
            sort_name=name_en or proposed.name,
        ),
        report,
        user,
    )
    proposed.speaker = person
    proposed.save(update_fields=["speaker"])
    return person


def _institution(proposed, report, user):
    if proposed.institution_id:
        return proposed.institution
    if not proposed.institution_name:
        return None
    name = proposed.institution_name
    existing = NameIndex.for_institutions().match(name)
    if existing.obj is not None:
        institution = existing.obj
    else:
        english = name if slugify(name) else ""
        institution = _save(
            Institution(
                slug=_unique_slug(
                    Institution, english, f"institution-r{report.pk}-{proposed.order + 1}"
                ),
                name=name,
                name_en=english or name,
                sector=guess_sector(name),
            ),
            report,
            user,
        )
    proposed.institution = institution
    proposed.save(update_fields=["institution"])
    return institution


def _appearance(proposed, report, user):
    session = ensure_forum(report, user)
    person = _person(proposed, report, user)
    appearance = Appearance.objects.filter(session=session, speaker=person).first()
    if appearance:
        return appearance
    return _save(
        Appearance(
            session=session,
            speaker=person,
            capacity=proposed.capacity,
            role=proposed.role,
            institution=_institution(proposed, report, user),
            as_printed=proposed.as_printed,
            order=proposed.order + 1,
        ),
        report,
        user,
    )


@transaction.atomic
def accept(proposal, user):
    """Create the draft position of ``proposal`` (and what it needs); return it."""
    if proposal.state == State.ACCEPTED and proposal.position_id:
        return proposal.position
    report = proposal.report
    appearance = _appearance(proposal.speaker, report, user)
    position = _save(
        Position(
            ref=_unique_slug(
                Position,
                f"{report.forum.slug}-p{proposal.pk}",
                f"r{report.pk}-p{proposal.pk}",
                field="ref",
            ),
            appearance=appearance,
            text=proposal.text,
            language=report.language,
            fidelity=proposal.fidelity,
            source=report.source,
            paragraph=proposal.paragraph,
            translation="",
            order=proposal.order + 1,
        ),
        report,
        user,
    )
    # No invented text: the translation is left empty and the position marked for translators.
    position.tags.add(TO_TRANSLATE_TAG)
    proposal.state, proposal.position = State.ACCEPTED, position
    proposal.save(update_fields=["state", "position"])
    return position


@transaction.atomic
def accept_person(proposed_speaker, user):
    """Create the role (appearance) of a proposed person without a position: the rapporteur."""
    return _appearance(proposed_speaker, proposed_speaker.report, user)


@transaction.atomic
def accept_phrase(proposal, phrase, user):
    """Accept one of ``proposal``'s key phrases as a key phrase of its draft position.

    A phrase quoted inside a statement is part of that statement, not one of its own: the
    proposal is accepted first when it is still pending (its draft position holds the phrase),
    then the phrase is added to that position, in the order the proposal lists it. Accepting it
    again returns the same key phrase. Returns the ``KeyPhrase``.
    """
    if phrase not in proposal.key_phrases:
        raise ValidationError(_("That is not one of this proposal's key phrases."))
    if proposal.state == State.REJECTED:
        raise ValidationError(_("This proposal was rejected: accept it before its key phrases."))
    position = accept(proposal, user)
    existing = position.key_phrases.filter(text=phrase).first()
    if existing is not None:
        return existing
    key_phrase = KeyPhrase(position=position, text=phrase, order=proposal.key_phrases.index(phrase))
    # The phrase must occur in the position's text (and in its source paragraph).
    key_phrase.full_clean()
    key_phrase.save()
    return key_phrase


def accept_all(proposed_speaker, user):
    """Accept every pending proposal of one speaker; return how many were accepted."""
    pending = list(proposed_speaker.proposals.filter(state=State.PENDING))
    with transaction.atomic():
        for proposal in pending:
            accept(proposal, user)
    return len(pending)


def reject(proposal):
    if proposal.state == State.ACCEPTED:
        raise ValidationError(_("This proposal is already a draft position; edit that instead."))
    proposal.state = State.REJECTED
    proposal.save(update_fields=["state"])


def edit(proposal, *, text=None, start=None, end=None, speaker=None, fidelity=None):
    """Change a pending proposal's span (by text or by bounds), speaker or fidelity."""
    if proposal.state == State.ACCEPTED:
        raise ValidationError(_("This proposal is already a draft position; edit that instead."))
    paragraph = proposal.report.paragraphs[proposal.paragraph - 1]
    if text is not None and text.strip() and text.strip() != proposal.text:
        text = text.strip()
        # Bounds that hold exactly this text (a selection on the review screen) say which of
        # its occurrences is meant; otherwise the first occurrence is.
        if not (start is not None and end is not None and paragraph[start:end].strip() == text):
            found = paragraph.find(text)
            if found < 0:
                raise ValidationError(
                    {"text": _("This text is not in paragraph %(n)s.") % {"n": proposal.paragraph}}
                )
            start, end = found, found + len(text)
    if start is not None or end is not None:
        start = proposal.start if start is None else start
        end = proposal.end if end is None else end
        if not 0 <= start < end <= len(paragraph):
            raise ValidationError(
                _("The span must lie within paragraph %(n)s (0 to %(length)s).")
                % {"n": proposal.paragraph, "length": len(paragraph)}
            )
        proposal.start, proposal.end, proposal.text = start, end, paragraph[start:end]
    if speaker is not None:
        if speaker.report_id != proposal.report_id:
            raise ValidationError(_("That speaker belongs to another report."))
        proposal.speaker = speaker
    if fidelity is not None:
        if fidelity not in Position.Fidelity.values:
            raise ValidationError(_("Unknown fidelity."))
        proposal.fidelity = fidelity
    proposal.state = State.PENDING
    proposal.save()
    return proposal


@transaction.atomic
def accept_themes(report, user):
    """Create draft themes from the pending proposed themes (tasks under their outlook)."""
    ensure_forum(report, user)
    created = 0
    for proposed in report.themes.filter(state=State.PENDING).order_by("order", "pk"):
        parent = proposed.parent.theme if proposed.parent_id else None
        theme = _save(
            ThemeModel(
                forum=report.forum,
                slug=_unique_slug(
                    ThemeModel, proposed.title, f"theme-{proposed.order + 1}", forum=report.forum
                ),
                title=proposed.title,
                kind=proposed.kind,
                parent=parent,
                order=proposed.order + 1,
            ),
            report,
            user,
        )
        proposed.state, proposed.theme = State.ACCEPTED, theme
        proposed.save(update_fields=["state", "theme"])
        created += 1
    return created
