"""The e-mails of the partnerships' own daily runs that the mail server does not take: the expiry notices to
ministry staff and the archive check's alert to administrators. Each is its own task, retried, and after the last
retry marked where an administrator sees it (before: sent inside the beat task, a refusal recorded nowhere). A real
worker, an SMTP backend pointed at a closed port."""

import datetime
import re

import pytest
from django.urls import reverse

from partnerships.models import ExpiryNotice
from partnerships.services import agreements_announce_expiring, documents_check_archive
from partnerships.tasks import task_send_archive_alert, task_send_expiry_notice
from tests.factories import UserFactory
from tests.mailfailure import few_retries, unreachable_mail_server, wait_for
from vielfalt.models import Role, User
from vielfalt.permissions import SYSTEM

from .conftest import make_signed
from .factories import AgreementFactory

pytestmark = [
    pytest.mark.allow_error_log,  # Celery reports the task's final failure
    pytest.mark.django_db(transaction=True),
]


def test_an_expiry_notice_the_mail_server_refused_is_retried_and_then_marked_on_the_agreement(
    celery_worker, settings, monkeypatch, client, superuser, staff, duisburg, ministry
):
    today = datetime.date.today()
    agreement = make_signed(
        AgreementFactory(
            partner=duisburg, state_party=ministry, valid_until=today + datetime.timedelta(days=90)
        )
    )
    unreachable_mail_server(settings)
    few_retries(monkeypatch, task_send_expiry_notice)
    assert agreements_announce_expiring(actor=SYSTEM, today=today) == 1
    notice = wait_for(
        lambda: ExpiryNotice.objects.filter(agreement=agreement, mail_failed_at__isnull=False).first(),
        what="the expiry notice's mail failure",
    )
    assert notice.days == 90
    client.force_login(superuser)
    page = client.get(
        reverse("admin:partnerships_agreement_change", args=[agreement.pk]), HTTP_ACCEPT_LANGUAGE="de"
    ).text
    assert "E-Mail nicht zugestellt" in page
    assert re.search(r'class="field-mail_failed_at">\s*<p>[^<-]', page)  # a date, not "-"


def test_an_archive_alert_the_mail_server_refused_is_retried_and_then_marked_on_the_account(
    celery_worker, settings, monkeypatch, signed_agreement, ministry
):
    administrator = UserFactory(username="admin", roles=[(ministry, Role.ADMIN)])
    document = signed_agreement.documents.get()
    documents_check_archive(actor=SYSTEM)
    document.file.storage.delete(document.file.name)
    unreachable_mail_server(settings)
    few_retries(monkeypatch, task_send_archive_alert)
    assert documents_check_archive(actor=SYSTEM)["missing"] == 1
    wait_for(
        lambda: User.objects.filter(pk=administrator.pk, mail_failed_at__isnull=False).exists(),
        what="the archive alert's mail failure",
    )
