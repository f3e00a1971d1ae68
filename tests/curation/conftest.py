from pathlib import Path

import pytest
from django.contrib.auth.models import Group

SEED = (
    Path(__file__).resolve().parents[2]
    / "proceedings"
    / "data"
    / "sources"
    / "pujiang-2025-report.txt"
)
BENCH = Path(__file__).resolve().parents[2] / "bench" / "curation"

# A small report in Simplified Chinese: two speakers, one continuation, one quotation.
SIMPLE_REPORT = (
    "2026数字治理论坛综述\n\n"
    "一、数据共享\n\n"
    "北京数据研究院院长王明远认为，公共数据应当分级开放。他强调，开放要有安全底线。\n\n"
    "南方科技大学教授刘冬梅表示：“数据不流动，价值就无从谈起。”\n\n"
    "二、结语\n\n"
    "本文由数字治理研究中心研究员陈小青执笔。\n"
)


@pytest.fixture
def seed_bytes():
    if not SEED.exists():
        pytest.skip(f"{SEED} is not on this machine")
    return SEED.read_bytes()


@pytest.fixture
def editor(django_user_model):
    user = django_user_model.objects.create_user("editor", "e@example.org", "pw", is_staff=True)
    user.groups.add(Group.objects.get(name="Editors"))
    return user


@pytest.fixture
def publisher(django_user_model):
    user = django_user_model.objects.create_user("pub", "p@example.org", "pw", is_staff=True)
    user.groups.add(Group.objects.get(name="Publishers"))
    return user


@pytest.fixture(autouse=True)
def english(default_language):
    """Messages are asserted in English (the catalogues translate them on zh pages)."""
    from django.utils import translation

    translation.activate("en")
