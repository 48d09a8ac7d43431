"""The report jobs with a real Celery worker on Redis: the PDF lands on the job, in the requester's language."""

import io

import pytest
from django.utils import translation
from pypdf import PdfReader

from tests.helpers import wait_until_finished
from vielfalt.models import Job
from vielfalt.programme.figures import programme, report_request

from .conftest import make_partner

pytestmark = pytest.mark.django_db(transaction=True)


def test_activity_report_job_with_a_real_worker(celery_worker, staff):
    partner = make_partner(1, posts=(3, 4))
    with translation.override("en"):
        job = wait_until_finished(report_request(actor=staff, year=2014, organisation=partner))
    assert job.status == Job.Status.READY, job.error
    assert job.result_name == "taetigkeitsbericht-partner-1-2014.pdf"
    text = " ".join(
        " ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(job.result_file.read())).pages
    )
    row = programme(organisation_ids=frozenset([partner.pk]), year=2014).partners[0]
    assert f"Posts filled through anonymised procedures {row.posts_filled} " in text
    assert "Activity report 2014: Partner 001" in text
