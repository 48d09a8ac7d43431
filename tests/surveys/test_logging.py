"""No answer and no token in any log record, with every logger at DEBUG and SQL logging on."""

import logging
import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from surveys.services import campaign_close
from tests.surveys import conftest
from tests.surveys.conftest import open_campaign_with_invitations

LOGGERS = [
    "",
    "django",
    "django.request",
    "django.server",
    "django.db.backends",
    "surveys",
    "vielfalt",
    "celery",
]
ANSWERS = {
    "own_citizenship": "not_german",
    "birth_country": "abroad",
    "immigration_year": "1987",
    "mother_citizenship": "not_german",
    "mother_immigrated": "yes",
    "father_citizenship": "not_german",
    "father_immigrated": "yes",
    "target_group": "manager",
    "org_unit": "other",
    "languages": ["ku", "uk"],
}
ANSWER_TRACES = ["not_german", "abroad", "1987", "manager", "|ku|", "'ku'", "'uk'"]


def form_key(client) -> dict:
    return {"form_key": conftest.form_key(client)}


def _record_text(record: logging.LogRecord) -> str:
    request = getattr(record, "request", None)
    return " ".join(
        [
            record.getMessage(),
            repr(record.args),
            str(getattr(record, "sql", "")),
            repr(getattr(record, "params", "")),
            getattr(request, "get_full_path", lambda: "")(),
            str(record.exc_text or ""),
        ]
    )


@pytest.mark.django_db
def test_a_full_survey_run_logs_no_answer_and_no_token(caplog, settings, django_capture_on_commit_callbacks):
    settings.DEBUG = True  # Django logs every SQL query with its parameters
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)

    campaign, _unused, hr = open_campaign_with_invitations(employees=12, k=5, issue_tokens=False)
    caplog.clear()  # the setup's employees have target groups too; what counts is the survey run
    hr_client = Client()
    hr_client.force_login(hr)
    with django_capture_on_commit_callbacks(execute=True):
        hr_client.post(reverse("surveys:send", args=[campaign.pk]))
    tokens = [
        line.split("/surveys/t/")[1].strip("/")
        for m in mail.outbox
        for line in m.body.splitlines()
        if "/surveys/t/" in line and not line.endswith("/leicht/")  # the same link, for easy-to-read
    ]
    assert len(tokens) == 12

    for number, token in enumerate(tokens[:10]):
        respondent = Client()
        respondent.get(f"/surveys/t/{token}/")
        respondent.get("/surveys/answer/")
        if number == 0:  # a validation error on the way
            assert (
                respondent.post(
                    "/surveys/answer/", {**ANSWERS, "languages": ["na", "ku"], **form_key(respondent)}
                ).status_code
                == 422
            )
        assert respondent.post("/surveys/answer/", {**ANSWERS, **form_key(respondent)}).status_code == 302
        respondent.get("/surveys/answer/")
    replay = Client()
    replay.get(f"/surveys/t/{tokens[0]}/")
    assert replay.post("/surveys/answer/", {**ANSWERS, **form_key(replay)}).status_code == 302
    codes = list(
        dict.fromkeys(  # each mail names its code twice: in standard and in easy-to-read language
            m.body.splitlines()[m.body.splitlines().index(line) + 1]
            for m in mail.outbox
            for line in m.body.splitlines()
            if "/umfrage/" in line
        )
    )
    assert len(codes) == 12
    typing = Client()
    assert typing.post("/umfrage/", {"code": codes[10]}).status_code == 302
    assert typing.post("/umfrage/", {"code": codes[11][:-1] + "Z"}).status_code in (302, 422)
    Client().get(f"/surveys/t/{tokens[11]}x/")
    Client().get(f"/surveys/t/{tokens[11]}/and/more")
    campaign_close(actor=hr, campaign=campaign)
    assert hr_client.get(reverse("surveys:results", args=[campaign.pk])).status_code == 200
    hr_client.get(reverse("surveys:results_export", args=[campaign.pk, "csv"]))

    records = caplog.records
    assert any(r.name == "django.db.backends" for r in records), "SQL logging was not on"
    assert any(r.name == "django.request" for r in records)  # the 410/404 pages were logged, without tokens
    texts = [_record_text(record) for record in records]
    for token in tokens:
        assert not [t for t in texts if token in t or token[:20] in t]
    for code in codes:
        assert not [t for t in texts if code in t or code.replace("-", "") in t]
    for trace in ANSWER_TRACES:
        pattern = re.compile(rf"(?<![\w.]){re.escape(trace)}(?![\w.])")
        assert not [t for t in texts if pattern.search(t)], trace
