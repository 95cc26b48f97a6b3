"""Every text marked for translation has its Chinese, and the committed .mo files say what the .po files say.

makemessages runs on a copy of each app (it needs GNU gettext, which bin/test installs), so a text added
to the code or a template without its translation fails here, not in front of a Chinese reader.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ["web", "tracker", "api"]


def _catalogue(app: str) -> Path:
    return ROOT / app / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def _untranslated(po: polib.POFile) -> list[str]:
    missing = []
    for entry in po:
        if entry.obsolete:
            continue
        forms = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        if "fuzzy" in entry.flags or not all(form.strip() for form in forms):
            missing.append(entry.msgid)
    return missing


@pytest.mark.parametrize("app", APPS)
def test_every_entry_of_the_catalogue_has_its_chinese(app):
    po = polib.pofile(str(_catalogue(app)))
    assert len(po) > 10
    assert not _untranslated(po)
    assert not po.metadata_is_fuzzy  # a fuzzy header is skipped by msgfmt: no plural rule then
    assert po.metadata["Plural-Forms"] == "nplurals=1; plural=0;"


@pytest.mark.parametrize("app", APPS)
def test_the_committed_mo_file_matches_the_po_file(app):
    po = polib.pofile(str(_catalogue(app)))
    mo = polib.mofile(str(_catalogue(app).with_suffix(".mo")))

    def entries(catalogue) -> dict:
        return {
            (e.msgctxt, e.msgid): (e.msgstr, tuple(sorted(e.msgstr_plural.items())))
            for e in catalogue
            if not e.obsolete and "fuzzy" not in e.flags
        }

    assert entries(mo) == entries(po)


@pytest.mark.parametrize("app", APPS)
def test_makemessages_finds_no_text_without_its_translation(app, tmp_path):
    assert shutil.which("xgettext"), "GNU gettext is needed (bin/test installs the Debian package gettext)"
    copy = tmp_path / app
    shutil.copytree(ROOT / app, copy, ignore=shutil.ignore_patterns("__pycache__", "static"))
    # -P: the copy's own modules (tracker/selectors.py) must not shadow the standard library's.
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    subprocess.run(
        [sys.executable, "-P", "-m", "django", "makemessages", "-l", "zh_Hans", "--no-location", "-v", "0"],
        cwd=copy,
        env=env,
        check=True,
        timeout=120,
    )
    extracted = polib.pofile(str(copy / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"))
    assert not _untranslated(extracted), f"texts of {app}/ without Chinese: run makemessages and translate them"
