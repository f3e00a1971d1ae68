"""
The translation catalogues are complete: every string marked in the code and templates is in
each of locale/{zh_Hant,zh_Hans,en}, translated (no empty msgstr, no fuzzy entry), and the
compiled .mo files match the .po files (scripts/check-mo).

The strings in the code are found the way ``make messages`` finds them: ``makemessages`` runs
on a copy of the project, into a temporary locale directory, and its catalogue is compared with
each committed one.
"""

import ast
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ["zh_Hant", "zh_Hans", "en"]
# What `make messages` leaves out, and what is not source.
NOT_SCANNED = [".*", "locale", "tests", "staticfiles", "media", "__pycache__", "*.sqlite3"]

needs_gettext = pytest.mark.skipif(
    shutil.which("xgettext") is None or shutil.which("msgfmt") is None,
    reason="GNU gettext is not installed (apt-get install gettext; .ci/run installs it)",
)


def catalogue(locale):
    return ROOT / "locale" / locale / "LC_MESSAGES" / "django.po"


def read_po(path):
    """Return ``{(msgctxt, msgid): entry}`` of a .po file, header and obsolete entries left out.

    Each entry is ``{"plural": msgid_plural or None, "msgstr": [forms], "fuzzy": bool}``.
    """
    entries = {}
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        fields, flags, current = {}, set(), None
        for line in block.splitlines():
            if line.startswith("#,"):
                flags.update(flag.strip() for flag in line[2:].split(","))
            elif line.startswith("#"):
                continue  # comments, references, obsolete (#~) entries
            elif line.startswith('"'):
                fields[current] += ast.literal_eval(line)
            elif line.strip():
                current, _space, value = line.partition(" ")
                fields[current] = ast.literal_eval(value)
        if not fields.get("msgid"):
            continue  # the header, or a block of obsolete entries
        forms = [value for key, value in sorted(fields.items()) if key.startswith("msgstr")]
        entries[fields.get("msgctxt"), fields["msgid"]] = {
            "plural": fields.get("msgid_plural"),
            "msgstr": forms,
            "fuzzy": "fuzzy" in flags,
        }
    return entries


@pytest.fixture(scope="module")
def strings_in_the_code(tmp_path_factory):
    """Return the entries ``makemessages`` extracts from a copy of the project (zh_Hant run)."""
    copy = tmp_path_factory.mktemp("project") / "project"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(*NOT_SCANNED))
    (copy / "locale").mkdir()
    with override_settings(LOCALE_PATHS=[copy / "locale"]):
        previous = Path.cwd()
        try:
            os.chdir(copy)
            call_command("makemessages", locale=["zh_Hant"], verbosity=0, no_obsolete=True)
        finally:
            os.chdir(previous)
    return read_po(copy / "locale" / "zh_Hant" / "LC_MESSAGES" / "django.po")


@pytest.mark.parametrize("locale", LOCALES)
def test_every_entry_is_translated_and_none_is_fuzzy(locale):
    entries = read_po(catalogue(locale))

    untranslated = [key for key, entry in entries.items() if not all(entry["msgstr"])]
    fuzzy = [key for key, entry in entries.items() if entry["fuzzy"]]

    assert len(entries) > 400
    assert (untranslated, fuzzy) == ([], [])


@needs_gettext
@pytest.mark.parametrize("locale", LOCALES)
def test_every_string_in_the_code_is_in_the_catalogue(locale, strings_in_the_code):
    entries = read_po(catalogue(locale))

    missing = sorted(set(strings_in_the_code) - set(entries), key=str)
    stale = sorted(set(entries) - set(strings_in_the_code), key=str)
    plurals = {key: entry["plural"] for key, entry in entries.items()}

    assert (missing, stale) == ([], []), "run `make messages` and translate the new entries"
    assert {key: entry["plural"] for key, entry in strings_in_the_code.items()} == plurals


@needs_gettext
def test_compiled_catalogues_match_their_sources():
    result = subprocess.run(  # noqa: S603 - a script of this repository, no shell
        [ROOT / "scripts" / "check-mo"], capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stdout + result.stderr
