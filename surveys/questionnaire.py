"""The questionnaire, fixed and versioned in code, and the derivation of the two Destatis definitions.

A campaign records the version it was opened with; a new version is a new set of questions here, never an
edit of an old one. Every question can be answered with "keine Angabe" (prefer not to say).

Migration background is never asked directly; it is derived at submission:

* *Migrationshintergrund* (Destatis, Mikrozensus): the person or at least one parent was not German by birth.
* *Einwanderungsgeschichte* (Destatis since 2023): the person, or both parents, immigrated since 1950.

Both are three-valued (yes / no / unknown): "keine Angabe" makes a result unknown only where the other
answers do not already decide it (Kleene's logic: yes OR unknown is yes, no AND unknown is no).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from vielfalt.models import TargetGroup

VERSION = "2024-1"
IMMIGRATION_CUTOFF_YEAR = 1950
NO_ANSWER = "na"


class Citizenship(models.TextChoices):
    GERMAN = "german", _("German")
    NOT_GERMAN = "not_german", _("Not German")
    NO_ANSWER = NO_ANSWER, _("Prefer not to say")


class BirthCountry(models.TextChoices):
    GERMANY = "germany", _("Germany")
    ABROAD = "abroad", _("Abroad")
    NO_ANSWER = NO_ANSWER, _("Prefer not to say")


class YesNo(models.TextChoices):
    YES = "yes", _("Yes")
    NO = "no", _("No")
    NO_ANSWER = NO_ANSWER, _("Prefer not to say")


class Derived(models.TextChoices):
    YES = "yes", _("yes")
    NO = "no", _("no")
    UNKNOWN = "unknown", _("unknown")


class TargetGroupAnswer(models.TextChoices):
    TRAINEE = TargetGroup.TRAINEE.value, TargetGroup.TRAINEE.label
    PUBLIC_FACING = TargetGroup.PUBLIC_FACING.value, TargetGroup.PUBLIC_FACING.label
    MANAGER = TargetGroup.MANAGER.value, TargetGroup.MANAGER.label
    OTHER = TargetGroup.OTHER.value, TargetGroup.OTHER.label
    NO_ANSWER = NO_ANSWER, _("Prefer not to say")


# Languages used with citizens at work (multi-select). Codes are stored, so never reuse one for another language.
LANGUAGES = [
    ("de", _("German")),
    ("en", _("English")),
    ("tr", _("Turkish")),
    ("ar", _("Arabic")),
    ("pl", _("Polish")),
    ("ru", _("Russian")),
    ("uk", _("Ukrainian")),
    ("ro", _("Romanian")),
    ("bg", _("Bulgarian")),
    ("fr", _("French")),
    ("ku", _("Kurdish")),
    ("other", _("Other language")),
]
LANGUAGE_CODES = [code for code, _label in LANGUAGES]


def _or(*values: str) -> str:
    if Derived.YES in values:
        return Derived.YES
    if Derived.UNKNOWN in values:
        return Derived.UNKNOWN
    return Derived.NO


def _and(*values: str) -> str:
    if Derived.NO in values:
        return Derived.NO
    if Derived.UNKNOWN in values:
        return Derived.UNKNOWN
    return Derived.YES


def _not_german(citizenship: str) -> str:
    return {
        Citizenship.GERMAN: Derived.NO,
        Citizenship.NOT_GERMAN: Derived.YES,
    }.get(citizenship, Derived.UNKNOWN)


def _immigrated(answer: str) -> str:
    return {YesNo.YES: Derived.YES, YesNo.NO: Derived.NO}.get(answer, Derived.UNKNOWN)


def person_immigrated_since_cutoff(birth_country: str, immigration_year: int | None) -> str:
    """Born abroad and immigrated in or after 1950 (an unknown year leaves it unknown)."""
    if birth_country == BirthCountry.GERMANY:
        return Derived.NO
    if birth_country == BirthCountry.ABROAD:
        if immigration_year is None:
            return Derived.UNKNOWN
        return Derived.YES if immigration_year >= IMMIGRATION_CUTOFF_YEAR else Derived.NO
    return Derived.UNKNOWN


def derive_migration_background(
    *, own_citizenship: str, mother_citizenship: str, father_citizenship: str
) -> str:
    return _or(_not_german(own_citizenship), _not_german(mother_citizenship), _not_german(father_citizenship))


def derive_immigration_history(
    *, birth_country: str, immigration_year: int | None, mother_immigrated: str, father_immigrated: str
) -> str:
    return _or(
        person_immigrated_since_cutoff(birth_country, immigration_year),
        _and(_immigrated(mother_immigrated), _immigrated(father_immigrated)),
    )
