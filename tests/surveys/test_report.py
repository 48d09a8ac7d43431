"""The PDF report's table headings break only at German syllables (issue 13)."""

import re

import pyphen
import pytest
from django.urls import reverse
from pypdf import PdfReader

from surveys.services import campaign_close
from tests.surveys.conftest import open_campaign_with_invitations
from tests.surveys.test_results import add_response
from vielfalt.models import Job


@pytest.mark.django_db
def test_report_headings_hyphenate_only_at_syllables(client, django_capture_on_commit_callbacks):
    campaign, _tokens, hr = open_campaign_with_invitations(employees=20, units=2)
    for i in range(12):
        add_response(
            campaign, group="public_facing", mh="yes" if i < 6 else "no", eg="yes" if i < 5 else "no"
        )
    campaign_close(actor=hr, campaign=campaign)
    client.force_login(hr)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("surveys:report", args=[campaign.pk]), HTTP_ACCEPT_LANGUAGE="de")
    job = Job.objects.get(kind="surveys.render_report")
    assert job.status == Job.Status.READY, job.error
    lines = [
        line.strip()
        for page in PdfReader(job.result_file.open("rb")).pages
        for line in page.extract_text().splitlines()
    ]
    text = "\n".join(lines)
    assert "Migrationshint-" not in text and "Migrationshinte\n" not in text
    dictionary = pyphen.Pyphen(lang="de_DE")
    breaks = []
    words = {"Migrationshintergrund", "Einwanderungsgeschichte", "Publikumskontakt", "unbekannt"}
    for line, following in zip(lines, lines[1:], strict=False):
        if line and following:  # a heading word broken without a hyphen (as overflow-wrap: anywhere did)
            assert line.split()[-1] + following.split()[0] not in words, (line, following)
        match = re.search(r"(\w+)[-\u00ad\u2010]$", line)
        if match and following:
            head, tail = match.group(1), re.match(r"\w*", following).group(0)
            breaks.append((head, tail))
            word = head + tail
            assert len(head) in dictionary.positions(word), (head, tail, dictionary.inserted(word))
    assert breaks, "the narrow headings should need a hyphen somewhere"
