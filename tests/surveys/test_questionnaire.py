"""The derivation of both Destatis definitions, for every combination of answers including "keine Angabe".

The oracle is independent of the implementation: a result is known if every way of filling in the
"keine Angabe" answers leads to the same result, and unknown otherwise."""

import itertools

import pytest

from surveys import questionnaire as q
from surveys.services import Answers, response_fields

CITIZENSHIP = ["german", "not_german", "na"]
YES_NO = ["yes", "no", "na"]
# Birth country with the year of immigration: born in Germany (year irrelevant), abroad before / since 1950 /
# year not given, or "keine Angabe".
PERSON = [("germany", None), ("abroad", 1949), ("abroad", 1950), ("abroad", None), ("na", None)]


def _completions(value, known):
    return known if value == "na" else [value]


def _mh_truth(own, mother, father):
    return "not_german" in (own, mother, father)


def oracle_migration_background(own, mother, father):
    outcomes = {
        _mh_truth(o, m, f)
        for o in _completions(own, ["german", "not_german"])
        for m in _completions(mother, ["german", "not_german"])
        for f in _completions(father, ["german", "not_german"])
    }
    return "unknown" if len(outcomes) == 2 else ("yes" if outcomes.pop() else "no")


def _person_completions(birth_country, year):
    if birth_country == "germany":
        return [False]
    if birth_country == "abroad":
        return [year >= 1950] if year is not None else [False, True]
    # keine Angabe: born in Germany, or abroad before or since 1950
    return [False, True]


def oracle_immigration_history(birth_country, year, mother, father):
    outcomes = {
        person or (m and f)
        for person in _person_completions(birth_country, year)
        for m in ([True, False] if mother == "na" else [mother == "yes"])
        for f in ([True, False] if father == "na" else [father == "yes"])
    }
    return "unknown" if len(outcomes) == 2 else ("yes" if outcomes.pop() else "no")


MH_CASES = list(itertools.product(CITIZENSHIP, repeat=3))
EG_CASES = [(*person, m, f) for person in PERSON for m in YES_NO for f in YES_NO]


@pytest.mark.parametrize(("own", "mother", "father"), MH_CASES)
def test_migration_background_for_every_combination(own, mother, father):
    derived = q.derive_migration_background(
        own_citizenship=own, mother_citizenship=mother, father_citizenship=father
    )
    assert derived == oracle_migration_background(own, mother, father)


@pytest.mark.parametrize(("birth_country", "year", "mother", "father"), EG_CASES)
def test_immigration_history_for_every_combination(birth_country, year, mother, father):
    derived = q.derive_immigration_history(
        birth_country=birth_country, immigration_year=year, mother_immigrated=mother, father_immigrated=father
    )
    assert derived == oracle_immigration_history(birth_country, year, mother, father)


def test_every_combination_of_the_whole_questionnaire_as_stored_at_submission():
    """All 27 × 45 answer sets through `response_fields`, the function the submission uses."""
    seen = set()
    for (own, mother, father), (birth, year, mother_imm, father_imm) in itertools.product(MH_CASES, EG_CASES):
        answers = Answers(
            own_citizenship=own,
            birth_country=birth,
            immigration_year=year,
            mother_citizenship=mother,
            father_citizenship=father,
            mother_immigrated=mother_imm,
            father_immigrated=father_imm,
            target_group="na",
            org_unit=None,
            org_unit_other=False,
            languages=(),
        )
        fields = response_fields(answers)
        assert fields["migration_background"] == oracle_migration_background(own, mother, father)
        assert fields["immigration_history"] == oracle_immigration_history(
            birth, year, mother_imm, father_imm
        )
        assert "immigration_year" not in fields  # only before/since 1950 is kept
        seen.add((fields["migration_background"], fields["immigration_history"]))
    assert seen == {(mh, eg) for mh in ("yes", "no", "unknown") for eg in ("yes", "no", "unknown")}


@pytest.mark.parametrize(
    ("own", "mother", "father", "expected"),
    [
        ("german", "german", "german", "no"),
        ("not_german", "na", "na", "yes"),  # one known "not German" decides it
        ("german", "german", "na", "unknown"),
        ("german", "not_german", "german", "yes"),  # one parent suffices
    ],
)
def test_migration_background_examples(own, mother, father, expected):
    assert (
        q.derive_migration_background(
            own_citizenship=own, mother_citizenship=mother, father_citizenship=father
        )
        == expected
    )


@pytest.mark.parametrize(
    ("birth_country", "year", "mother", "father", "expected"),
    [
        ("abroad", 1990, "no", "no", "yes"),
        ("abroad", 1949, "no", "no", "no"),  # before 1950 does not count
        ("germany", None, "yes", "no", "no"),  # one parent is not enough
        ("germany", None, "yes", "yes", "yes"),  # both parents
        ("germany", None, "yes", "na", "unknown"),
        ("germany", None, "no", "na", "no"),  # one known "no" decides "both parents"
        ("abroad", None, "no", "no", "unknown"),
    ],
)
def test_immigration_history_examples(birth_country, year, mother, father, expected):
    assert (
        q.derive_immigration_history(
            birth_country=birth_country,
            immigration_year=year,
            mother_immigrated=mother,
            father_immigrated=father,
        )
        == expected
    )
