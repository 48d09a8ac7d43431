"""`get_<field>_display()` looks the label up in a dictionary built once per field (vielfalt.models.choice_display)
instead of rebuilding the field's choices on every call, and still answers in the active language."""

from django.db.models import CharField
from django.utils import translation

from partnerships.models import Agreement
from trainings.models import CourseDate


def test_labels_follow_the_active_language():
    agreement = Agreement(status=Agreement.Status.SIGNED)
    with translation.override("de"):
        assert agreement.get_status_display() == "unterschrieben"
    with translation.override("en"):
        assert agreement.get_status_display() == "signed"
    assert CourseDate(target_group="").get_target_group_display() == ""
    assert Agreement(status="no-such-status").get_status_display() == "no-such-status"


def test_the_choices_are_not_rebuilt_on_every_call(monkeypatch):
    agreement = Agreement(status=Agreement.Status.SIGNED)
    agreement.get_status_display()
    built = []
    original = CharField.flatchoices
    monkeypatch.setattr(
        CharField, "flatchoices", property(lambda field: built.append(field) or original.fget(field))
    )
    for _round in range(3):
        assert agreement.get_status_display() == "unterschrieben"
    assert built == []
