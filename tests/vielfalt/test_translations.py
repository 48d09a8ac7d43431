"""German is the default language: the catalogue must be complete."""

import re

from django.conf import settings

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
