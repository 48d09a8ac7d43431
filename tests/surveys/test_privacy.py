"""What HR's Art. 15 export of an employee says about the survey (surveys/privacy.py)."""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from surveys import services
from surveys.models import Invitation
from tests.surveys.conftest import answer, open_campaign_with_invitations
from vielfalt.programme.privacy import access_export


def _survey_rows(export: dict) -> list[dict]:
    (section,) = [s for s in export["sections"] if str(s["title"]) == "Survey invitations"]
    return [{str(key): value for key, value in row.items()} for row in section["rows"]]


@pytest.mark.django_db
def test_hr_s_access_export_does_not_tell_who_was_reminded_so_not_who_had_answered(settings):
    """Reminders go only to the invitations not used yet: a reminder's time stamp in the export HR produces
    told HR that the employee had not answered when the reminders went out, and its absence that they had.
    Two colleagues invited alike, one answering before the reminders, look the same in HR's export."""
    settings.LANGUAGE_CODE = "en"
    campaign, tokens, hr = open_campaign_with_invitations(employees=2, k=3)
    invitations = list(Invitation.objects.filter(campaign=campaign).select_related("employee", "campaign"))
    Invitation.objects.filter(campaign=campaign).update(sent_at=timezone.now())
    answered, not_answered = invitations
    token = services.invitation_issue(actor=hr, invitation=answered).token
    assert answer(Client(), token).status_code == 302
    for invitation in invitations:  # what the reminder job does: the used invitation gets none
        services.invitation_issue(actor=hr, invitation=invitation, reminder=True)
    assert Invitation.objects.filter(reminded_at__isnull=False).get() == not_answered

    answered_rows = _survey_rows(access_export(actor=hr, employee=answered.employee))
    not_answered_rows = _survey_rows(access_export(actor=hr, employee=not_answered.employee))
    assert answered_rows == not_answered_rows
    client = Client()
    client.force_login(hr)
    pages = [
        client.get(reverse("employee_access", args=[invitation.employee_id])).content.decode()
        for invitation in invitations
    ]
    assert "reminder sent" not in pages[0] + pages[1]
