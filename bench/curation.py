"""
Assisted curation benchmark: the extractor's proposals against curated reports.

    python bench/curation.py            # the four reports, then the 30-page timing
    python bench/curation.py --verbose  # also every miss and every wrong proposal

Cases: the bundled Pujiang report (``proceedings/data/sources/`` or ``--pujiang``) against
``proceedings/data/pujiang-2025.json``, and the fictional reports in ``bench/curation/`` (each a
report file and a JSON of its expected curation: speakers with role and institution as printed,
positions with paragraph and fidelity, guiding questions, themes).

Scoring. A speaker is found when a proposed speaker has the same name (either script); role
and institution are "exact" when the proposed role equals the curated one and the proposed
institution equals the curated institution's name or one of its aliases. A curated position is
found when one proposed span of the same speaker in the same paragraph covers ≥ 80 % of its
characters. A proposal is correct (precision) when ≥ 50 % of its characters lie inside curated
positions of that speaker in that paragraph. Fidelity agrees when the tightest covering proposal
has the curated label, or the curated position is verbatim and is one of that proposal's key
phrases (counted apart: "via key phrase").
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from curation.engine import propose  # noqa: E402
from curation.extraction import extract  # noqa: E402
from proceedings.interchange.merging import name_key  # noqa: E402

CASES = ROOT / "bench" / "curation"
PUJIANG_REPORT = ROOT / "proceedings" / "data" / "sources" / "pujiang-2025-report.txt"
PUJIANG_JSON = ROOT / "proceedings" / "data" / "pujiang-2025.json"


def pujiang_case(report):
    data = json.loads(PUJIANG_JSON.read_text())
    institutions = {i["slug"]: i for i in data["institutions"]}
    people = {p["slug"]: p for p in data["people"]}
    forum = data["forums"][0]
    speakers = []
    for a in forum["appearances"]:
        inst = institutions.get(a["institution"], {})
        speakers.append(
            {
                "name": people[a["person"]]["name"],
                "role": a["role"],
                "institution": inst.get("name", ""),
                "institution_aliases": inst.get("aliases", []),
                "capacity": a["capacity"],
            }
        )
    positions = [
        {
            "speaker": people[p["speaker"]]["name"],
            "paragraph": p["paragraph"],
            "text": p["text"],
            "fidelity": p["fidelity"],
        }
        for p in forum["positions"]
    ]
    themes = [t["title"] for t in forum["themes"]]
    questions = [q["title"] for q in forum["questions"]]
    return {
        "name": "pujiang-2025 (zh-Hant, curated)",
        "file": report,
        "speakers": speakers,
        "positions": positions,
        "themes": themes,
        "questions": questions,
    }


def file_cases():
    for path in sorted(CASES.glob("*.json")):
        case = json.loads(path.read_text())
        yield {**case, "name": path.stem, "file": CASES / case["report"]}


def _cover(a, b):
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


def score(case, verbose=False):
    path = Path(case["file"])
    extracted = extract(path.read_bytes(), path.name)
    result = propose(extracted.paragraphs, extracted.headings)
    paragraphs = extracted.paragraphs
    out = {"name": case["name"], "paragraphs": len(paragraphs)}

    proposed = {s.key: s for s in result.speakers}
    curated_speakers = [s for s in case["speakers"] if s["capacity"] == "speaker"]
    rapporteurs = [s for s in case["speakers"] if s["capacity"] == "rapporteur"]
    found = exact = 0
    for s in curated_speakers:
        guess = proposed.get(name_key(s["name"]))
        if not guess:
            verbose and print("  speaker missed:", s["name"])
            continue
        found += 1
        names = {name_key(n) for n in [s["institution"], *s.get("institution_aliases", [])]}
        if guess.role == s["role"] and name_key(guess.institution) in names:
            exact += 1
        elif verbose:
            print(
                "  role/inst:",
                s["name"],
                (guess.role, guess.institution),
                "≠",
                s["role"],
                s["institution"],
            )
    out["speakers"] = f"{found}/{len(curated_speakers)}"
    out["roles_exact"] = f"{exact}/{len(curated_speakers)}"
    out["rapporteur"] = all(
        (g := proposed.get(name_key(r["name"]))) is not None and g.capacity == "rapporteur"
        for r in rapporteurs
    ) and bool(rapporteurs)
    extra = [
        s.name
        for s in result.speakers
        if not any(name_key(c["name"]) == s.key for c in case["speakers"])
    ]
    out["extra_speakers"] = len(extra)
    if verbose and extra:
        print("  extra speakers:", extra)

    # Positions
    curated = []
    for p in case["positions"]:
        paragraph = paragraphs[p["paragraph"] - 1] if p["paragraph"] <= len(paragraphs) else ""
        start = paragraph.find(p["text"])
        if start < 0:
            raise SystemExit(f"{case['name']}: curated text not in ¶{p['paragraph']}: {p['text']}")
        curated.append(
            {**p, "key": name_key(p["speaker"]), "span": (start, start + len(p["text"]))}
        )
    found_positions = agree = via_phrase = 0
    for c in curated:
        covering = [
            s for s in result.spans
            if s.speaker == c["key"] and s.paragraph == c["paragraph"]
            and _cover((s.start, s.end), c["span"]) >= 0.8 * len(c["text"])
        ]  # fmt: skip
        if not covering:
            verbose and print("  position missed:", c["speaker"], c["paragraph"], c["text"][:40])
            continue
        found_positions += 1
        tightest = min(covering, key=lambda s: s.end - s.start)
        if tightest.fidelity == c["fidelity"]:
            agree += 1
        elif c["fidelity"] == "verbatim" and c["text"] in tightest.key_phrases:
            agree += 1
            via_phrase += 1
        elif verbose:
            print("  fidelity:", c["text"][:30], tightest.fidelity, "≠", c["fidelity"])
    correct = 0
    for s in result.spans:
        mine = [
            c["span"] for c in curated if c["key"] == s.speaker and c["paragraph"] == s.paragraph
        ]
        inside = sum(1 for i in range(s.start, s.end) if any(a <= i < b for a, b in mine))
        if inside >= 0.5 * (s.end - s.start):
            correct += 1
        elif verbose:
            print("  wrong proposal:", s.speaker, s.paragraph, s.fidelity, s.text[:40])
    n = len(curated)
    out["positions_found"] = f"{found_positions}/{n} ({100 * found_positions / n:.0f} %)"
    out["precision"] = (
        f"{correct}/{len(result.spans)} ({100 * correct / max(1, len(result.spans)):.0f} %)"
    )
    out["fidelity"] = (
        f"{agree}/{found_positions} ({100 * agree / max(1, found_positions):.0f} %)"
        + (f", {via_phrase} via key phrase" if via_phrase else "")
    )
    titles = [t.title for t in result.themes]
    out["themes"] = f"{sum(1 for t in case['themes'] if t in titles)}/{len(case['themes'])}"
    out["questions"] = (
        f"{sum(1 for q in case['questions'] if q in result.questions)}/{len(case['questions'])}"
    )
    return out


def timing(report, pages=30):
    """Extract and propose on a report of ``pages`` pages (about 1,500 characters a page)."""
    text = report.read_text()
    copies = max(1, (pages * 1500) // len(text) + 1)
    big = "\n".join([text] * copies).encode()
    started = time.perf_counter()
    extracted = extract(big, "big.txt")
    result = propose(extracted.paragraphs, extracted.headings)
    elapsed = time.perf_counter() - started
    return len(big.decode()), len(extracted.paragraphs), len(result.spans), elapsed


def _pages_text(report, pages):
    text = report.read_text()
    copies = max(1, (pages * 1500) // len(text) + 1)
    return "\n".join([text] * copies)


def timing_formats(report, pages=30):
    """Extraction alone of the same 30 pages as DOCX and as PDF (CJK text, reportlab)."""
    import io

    import docx
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    lines = [line for line in _pages_text(report, pages).splitlines() if line.strip()]
    document = docx.Document()
    for line in lines:
        document.add_paragraph(line)
    out = io.BytesIO()
    document.save(out)
    docx_bytes = out.getvalue()

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=A4)
    page.setFont("STSong-Light", 10)
    y, count = 800, 1
    for line in lines:
        for start in range(0, len(line), 45):  # wrapped as on a printed page
            page.drawString(40, y, line[start : start + 45])
            y -= 14
            if y < 40:
                page.showPage()
                page.setFont("STSong-Light", 10)
                y, count = 800, count + 1
        y -= 8
    page.save()
    pdf_bytes = out.getvalue()
    figures = {}
    for name, content in (("docx", docx_bytes), ("pdf", pdf_bytes)):
        started = time.perf_counter()
        extracted = extract(content, f"big.{name}")
        propose(extracted.paragraphs, extracted.headings)
        figures[name] = (len(extracted.paragraphs), time.perf_counter() - started)
    return count, figures


def timing_request(report, pages=30):
    """The admin upload end to end (test database): POST, extraction, proposals, rows."""
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import reverse

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        from curation.models import Report

        user = get_user_model().objects.create_superuser("bench", "b@example.org", "pw")
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        client.force_login(user)
        content = _pages_text(report, pages).encode()
        started = time.perf_counter()
        response = client.post(
            reverse("admin:curation_report_new"),
            {
                "forum_name": "Bench forum",
                "forum_year": 2025,
                "title": "Bench report",
                "file": SimpleUploadedFile("big.txt", content),
            },
        )
        upload = time.perf_counter() - started
        if response.status_code != 302:
            raise SystemExit(f"upload answered {response.status_code}, not a redirect")
        report_row = Report.objects.get()
        started = time.perf_counter()
        page = client.get(response["Location"])
        review = time.perf_counter() - started
        if page.status_code != 200:
            raise SystemExit(f"review page answered {page.status_code}")
        return report_row.proposals.count(), upload, review, connection.vendor
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--pujiang", type=Path, default=PUJIANG_REPORT)
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument(
        "--skip-formats", action="store_true", help="only the text timing (no DOCX/PDF/admin)"
    )
    args = parser.parse_args()
    cases = [pujiang_case(args.pujiang), *file_cases()]
    columns = [
        "name", "paragraphs", "speakers", "roles_exact", "rapporteur", "extra_speakers",
        "positions_found", "precision", "fidelity", "themes", "questions",
    ]  # fmt: skip
    rows = []
    for case in cases:
        args.verbose and print(case["name"])
        rows.append(score(case, verbose=args.verbose))
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(str(row[c]) for c in columns) + " |")
    chars, paragraphs, spans, elapsed = timing(args.pujiang)
    print(
        f"\n30-page report ({chars:,} characters, {paragraphs} paragraphs, {spans} proposals): "
        f"extract + propose {elapsed:.2f} s"
    )
    if args.skip_formats:
        return
    pages, figures = timing_formats(args.pujiang)
    for name, (count, seconds) in figures.items():
        print(
            f"the same as {name.upper()} ({pages} PDF pages), {count} paragraphs: {seconds:.2f} s"
        )
    proposals, upload, review, vendor = timing_request(args.pujiang)
    print(
        f"admin upload of the 30-page text ({vendor}): {upload:.2f} s to store {proposals} "
        f"proposals; review page {review:.2f} s"
    )


if __name__ == "__main__":
    main()
