"""German is the default language: the catalogue must be complete."""

import re
import shutil
import subprocess
import sys

from django.conf import settings

from tests.conftest import need

PO = settings.BASE_DIR / "locale" / "de" / "LC_MESSAGES" / "django.po"


def entries():
    for block in PO.read_text(encoding="utf-8").split("\n\n")[1:]:
        if block.strip() and not block.lstrip().startswith("#~"):
            yield block


def test_no_entry_is_fuzzy():
    assert [b for b in entries() if re.search(r"^#,.*\bfuzzy\b", b, re.M)] == []


def translations(block: str) -> list[str]:
    """The msgstr values of one entry (several for plural forms), continuation lines joined."""
    values, current = [], None
    for line in block.splitlines():
        if line.startswith("msgstr"):
            current = len(values)
            values.append(line.split(" ", 1)[1].strip('"'))
        elif line.startswith('"') and current is not None:
            values[current] += line.strip('"')
        else:
            current = None
    return values


def test_every_entry_is_translated():
    untranslated = [block for block in entries() if "" in translations(block)]
    assert untranslated == []


# What makemessages reads: the project's code and templates (the tests' strings are no user's).
SOURCES = ["manage.py", "vielfalt", "partnerships", "trainings", "surveys", "templates", "locale"]


def test_every_message_of_the_code_and_templates_is_in_the_catalogue(tmp_path):
    """makemessages, run on a copy of the project (never on the catalogue itself: it rewrites the whole file),
    finds no message without its German translation (a changed message comes back as a fuzzy entry)."""
    need(shutil.which("xgettext") is not None, "gettext (Debian package gettext)")
    for name in SOURCES:
        source, copy = settings.BASE_DIR / name, tmp_path / name
        if source.is_dir():
            shutil.copytree(source, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
        else:
            shutil.copy(source, copy)
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "de", "--no-location", "-v", "0"],
        cwd=tmp_path,
        check=True,
    )
    blocks = [
        block
        for block in (tmp_path / PO.relative_to(settings.BASE_DIR))
        .read_text(encoding="utf-8")
        .split("\n\n")[1:]
        if block.strip() and not block.lstrip().startswith("#~")
    ]
    missing = [
        block for block in blocks if "" in translations(block) or re.search(r"^#,.*\bfuzzy\b", block, re.M)
    ]
    assert missing == []
    # A message the code no longer says is dead weight a translator keeps maintaining (and a wrong hint of what
    # the portal says): makemessages marks it obsolete. Only a library's own message, whose German the portal
    # words differently, stays without being in the project's code.
    obsolete = [
        msgid
        for block in (tmp_path / PO.relative_to(settings.BASE_DIR)).read_text(encoding="utf-8").split("\n\n")
        if (msgid := obsolete_msgid(block)) is not None and msgid not in LIBRARY_MESSAGES
    ]
    assert obsolete == []


# Messages of Django and the libraries that the catalogue translates in the portal's own words.
LIBRARY_MESSAGES = {"- Select an option -"}  # Django's blank choice of a select


def obsolete_msgid(block: str) -> str | None:
    """The msgid of an entry makemessages marked obsolete ("#~ msgid"), continuation lines joined."""
    lines = [line[3:] for line in block.splitlines() if line.startswith("#~ ")]
    start = next((i for i, line in enumerate(lines) if line.startswith("msgid ")), None)
    if start is None:
        return None
    msgid = [lines[start].split(" ", 1)[1]]
    for line in lines[start + 1 :]:
        if not line.startswith('"'):
            break
        msgid.append(line)
    return "".join(part.strip('"') for part in msgid)
