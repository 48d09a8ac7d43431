"""Two organisers editing one course date: the second save undid the first (a new room, more seats), and with it
the calendar update the participants had been sent. The date's calendar version (`sequence`) is the version the
form compares (vielfalt.concurrency)."""

import pytest
from django.urls import reverse

from tests.factories import UserFactory
from tests.helpers import form_data, logged_in, opened_forms
from trainings.models import CourseDate
from vielfalt.models import Role

pytestmark = pytest.mark.django_db


def test_a_colleague_saving_meanwhile_is_not_undone(organiser, oberhausen, course_date):
    colleague = UserFactory(username="schulung-oberhausen-2", roles=[(oberhausen, Role.ORGANISER)])
    url = reverse("trainings:date_update", args=[course_date.pk])
    (mine, opened), (theirs, other) = opened_forms(url, organiser, colleague)
    other["location"] = "Rathaus Oberhausen, Raum 214"
    assert theirs.post(url, other).status_code == 302

    opened["capacity"] = "20"
    response = mine.post(url, opened)
    assert response.status_code == 200
    assert "schulung-oberhausen-2 hat diesen Datensatz am" in response.content.decode()
    course_date.refresh_from_db()
    assert (course_date.location, course_date.capacity) == ("Rathaus Oberhausen, Raum 214", 12)

    again = form_data(response.content.decode())
    assert again["capacity"] == "20"
    assert mine.post(url, again).status_code == 302
    assert CourseDate.objects.get(pk=course_date.pk).capacity == 20


def test_saving_without_a_change_is_no_conflict(organiser, course_date):
    """The calendar version grows only with a change: a colleague's save that changed nothing is none."""
    client = logged_in(organiser)
    url = reverse("trainings:date_update", args=[course_date.pk])
    # Once through the form: the factory's times have seconds, which the form's minutes drop (a change).
    assert client.post(url, form_data(client.get(url).content.decode())).status_code == 302
    opened = form_data(client.get(url).content.decode())
    unchanged = client.post(url, form_data(client.get(url).content.decode()))
    assert unchanged.status_code == 302, unchanged.content.decode().split("error-summary")[1][:1500]
    opened["capacity"] = "14"
    assert client.post(url, opened).status_code == 302
    assert CourseDate.objects.get(pk=course_date.pk).capacity == 14


def test_a_colleague_editing_the_course_meanwhile_is_not_undone(organiser, oberhausen, course):
    """The course itself (title, description, duration): the same as its dates."""
    from trainings.models import Course

    colleague = UserFactory(username="schulung-oberhausen-2", roles=[(oberhausen, Role.ORGANISER)])
    url = reverse("trainings:course_update", args=[course.pk])
    (mine, opened), (theirs, other) = opened_forms(url, organiser, colleague)
    other["description"] = "Mit Rollenspielen aus dem Bürgeramt"
    assert theirs.post(url, other).status_code == 302

    opened["duration_hours"] = "6"
    response = mine.post(url, opened)
    assert "schulung-oberhausen-2 hat diesen Datensatz am" in response.content.decode()
    course = Course.objects.get(pk=course.pk)
    assert course.description == "Mit Rollenspielen aus dem Bürgeramt"
    assert str(course.duration_hours) != "6"

    again = form_data(response.content.decode())
    assert mine.post(url, again).status_code == 302
    assert str(Course.objects.get(pk=course.pk).duration_hours).rstrip("0").rstrip(".") == "6"


def test_a_colleague_saving_the_course_unchanged_does_not_refuse_mine(organiser, oberhausen, course):
    from trainings.models import Course

    colleague = UserFactory(username="schulung-oberhausen-2", roles=[(oberhausen, Role.ORGANISER)])
    url = reverse("trainings:course_update", args=[course.pk])
    (mine, opened), (theirs, unchanged) = opened_forms(url, organiser, colleague)
    assert theirs.post(url, unchanged).status_code == 302
    opened["title"] = "Interkulturelle Sensibilisierung im Bürgeramt"
    assert mine.post(url, opened).status_code == 302
    assert Course.objects.get(pk=course.pk).title == "Interkulturelle Sensibilisierung im Bürgeramt"
