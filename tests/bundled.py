"""Verbatim quotations that tests add to the bundled Pujiang 2025 forum.

The bundled file has no verbatim position: the phrases the report quotes inside a paraphrase
(蝴蝶模型, 裸泳…) are key phrases of that paraphrase. Tests that exercise a verbatim quotation
build one with ``add_quote``: a published verbatim position of the same speaker, paragraph,
themes and tags as the phrase's parent, placed right after it in reading order. Its text occurs
in quotation marks in its source paragraph, so it is a valid verbatim quotation.
"""

from django.utils import timezone

from proceedings.models import Position, Status

# ref: (parent ref, text, translation, tags)
QUOTES = {
    "fan-jianping-butterfly-model-term": (
        "fan-jianping-butterfly-model",
        "蝴蝶模型",
        "butterfly model",
        ["蝴蝶模型"],
    ),
    "wang-zhan-naked-swimming": (
        "wang-zhan-ethics-law-design",
        "裸泳",
        "swimming naked",
        ["科技倫理", "科技治理"],
    ),
    "zhu-pengcheng-plug-and-play": (
        "zhu-pengcheng-atlatl-motherboard",
        "即插即用",
        "plug and play",
        ["共享實驗室"],
    ),
    "fan-jianping-expand-human-activity": (
        "fan-jianping-future-frontiers",
        "開拓人類活動疆域",
        "expanding the frontiers of human activity",
        ["前沿探索", "未來產業"],
    ),
    "fan-jianping-surpass-human-limits": (
        "fan-jianping-future-frontiers",
        "突破人類自身極限",
        "breaking through the limits of humankind itself",
        ["前沿探索", "未來產業"],
    ),
}


def add_quote(ref, **fields):
    """Add the verbatim quotation ``ref`` of ``QUOTES`` to the loaded Pujiang forum."""
    parent_ref, text, translation, tags = QUOTES[ref]
    parent = Position.objects.get(ref=parent_ref)
    values = {
        "appearance": parent.appearance,
        "text": text,
        "language": parent.language,
        "fidelity": Position.Fidelity.VERBATIM,
        "translation": translation,
        "translation_language": "en",
        "translation_provenance": parent.translation_provenance,
        "source": parent.source,
        "paragraph": parent.paragraph,
        "status": Status.PUBLISHED,
        "published_at": timezone.now(),
        "order": parent.order,
    }
    values.update(fields)
    position = Position.objects.create(ref=ref, **values)
    position.themes.set(parent.themes.all())
    position.tags.add(*tags)
    return position
