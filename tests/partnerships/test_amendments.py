"""An amendment is the agreement as changed, in full (a copy of its text, signatories and commitments): once it
takes effect, the agreement it amends ends. Before, both stayed "signed": the partner had two agreements in force,
the programme counted every commitment twice and the ministry got two expiry notices for one agreement."""

import datetime

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from partnerships.models import Agreement, AgreementDocument
from partnerships.services import (
    agreement_sign,
    agreement_update,
    agreements_announce_expiring,
    agreements_end_expired,
    amendment_create,
    document_store,
    progress_report_create,
)
from vielfalt.models import AuditEntry, Role
from vielfalt.permissions import SYSTEM

from .conftest import MINIMAL_PDF, make_signed
from .factories import AgreementFactory

pytestmark = pytest.mark.django_db

Status = Agreement.Status


def ready_to_sign(amendment: Agreement, *, signed_on: datetime.date, valid_from=None) -> Agreement:
    """The amendment as the ministry takes it to signing: dates set, the signed copy uploaded."""
    Agreement.objects.filter(pk=amendment.pk).update(
        status=Status.READY_FOR_SIGNATURE, signed_on=signed_on, valid_from=valid_from
    )
    amendment.refresh_from_db()
    document_store(actor=SYSTEM, agreement=amendment, kind=AgreementDocument.Kind.SIGNED, content=MINIMAL_PDF)
    return amendment


def test_signing_an_amendment_ends_the_agreement_it_amends(staff, signed_agreement, client):
    amendment = ready_to_sign(
        amendment_create(actor=staff, agreement=signed_agreement), signed_on=timezone.localdate()
    )
    agreement_sign(actor=staff, agreement=amendment, reason="Unterschrieben")

    statuses = dict(Agreement.objects.values_list("pk", "status"))
    assert statuses == {signed_agreement.pk: "ended", amendment.pk: "signed"}
    change = signed_agreement.status_changes.get(to_status="ended")
    assert (change.from_status, change.changed_by) == ("signed", staff)
    entry = AuditEntry.objects.filter(object_id=str(signed_agreement.pk)).order_by("pk").last()
    today = timezone.localdate().strftime("%d.%m.%Y")
    assert entry.changes == {
        "status": ["signed", "ended"],
        "reason": f"Ersetzt durch die Änderungsvereinbarung „{amendment.title}“, unterzeichnet am {today}.",
    }
    client.force_login(staff)
    page = client.get(signed_agreement.get_absolute_url()).text
    assert "Ersetzt durch die Änderungsvereinbarung" in page  # the status history with its reason
    assert "ist durch ihre Änderungsvereinbarung ersetzt" in page
    assert reverse("partnerships:amend", args=[signed_agreement.pk]) not in page  # amend the one in force
    assert reverse("partnerships:amend", args=[amendment.pk]) in client.get(amendment.get_absolute_url()).text


def test_an_amendment_valid_from_a_later_day_ends_it_that_night(staff, signed_agreement):
    today = timezone.localdate()
    later = today + datetime.timedelta(days=10)
    amendment = ready_to_sign(
        amendment_create(actor=staff, agreement=signed_agreement), signed_on=today, valid_from=later
    )
    agreement_sign(actor=staff, agreement=amendment, reason="Unterschrieben")
    signed_agreement.refresh_from_db()
    assert signed_agreement.status == Status.SIGNED  # still in force until the amendment takes effect

    assert agreements_end_expired(actor=SYSTEM, today=later - datetime.timedelta(days=1)) == 0
    assert agreements_end_expired(actor=SYSTEM, today=later) == 1
    signed_agreement.refresh_from_db()
    amendment.refresh_from_db()
    assert (signed_agreement.status, amendment.status) == (Status.ENDED, Status.SIGNED)
    assert agreements_end_expired(actor=SYSTEM, today=later) == 0


def test_an_agreement_is_replaced_once(staff, signed_agreement):
    """Two amendments of one agreement drafted side by side: the first signed replaces it; the second cannot be
    signed (it would be a second agreement in force beside the first), and nothing amends the replaced one."""
    first = amendment_create(actor=staff, agreement=signed_agreement)
    second = amendment_create(actor=staff, agreement=signed_agreement)
    today = timezone.localdate()
    agreement_sign(actor=staff, agreement=ready_to_sign(first, signed_on=today), reason="Unterschrieben")

    second = ready_to_sign(second, signed_on=today)
    with pytest.raises(ValidationError) as refused:
        agreement_sign(actor=staff, agreement=second, reason="Unterschrieben")
    assert f"bereits durch die Änderungsvereinbarung „{first.title}“ vom" in refused.value.messages[-1]
    second.refresh_from_db()
    assert second.status == Status.READY_FOR_SIGNATURE

    with pytest.raises(ValidationError) as refused:
        amendment_create(actor=staff, agreement=signed_agreement)
    assert "ersetzt" in refused.value.messages[0]
    assert Agreement.objects.filter(amends=signed_agreement).count() == 2
    amendment_create(actor=staff, agreement=first)  # the one in force is amended


def test_the_sign_page_says_why_a_second_amendment_cannot_be_signed(staff, signed_agreement, client):
    first = amendment_create(actor=staff, agreement=signed_agreement)
    second = ready_to_sign(
        amendment_create(actor=staff, agreement=signed_agreement), signed_on=timezone.localdate()
    )
    agreement_sign(
        actor=staff, agreement=ready_to_sign(first, signed_on=timezone.localdate()), reason="Unterschrieben"
    )
    client.force_login(staff)
    page = client.get(second.get_absolute_url()).text
    assert "bitte ändern Sie diese" in page
    response = client.post(reverse("partnerships:amend", args=[signed_agreement.pk]), follow=True)
    assert "ersetzt" in response.text
    assert Agreement.objects.count() == 3


def test_only_the_amendment_in_force_is_announced_before_it_expires(
    staff, agreement, django_capture_on_commit_callbacks
):
    today = timezone.localdate()
    Agreement.objects.filter(pk=agreement.pk).update(valid_until=today + datetime.timedelta(days=60))
    signed_agreement = make_signed(agreement)
    amendment = ready_to_sign(
        amendment_create(actor=staff, agreement=signed_agreement),
        signed_on=today,
        valid_from=today + datetime.timedelta(days=5),
    )
    agreement_sign(actor=staff, agreement=amendment, reason="Unterschrieben")
    with django_capture_on_commit_callbacks(execute=True):
        assert agreements_announce_expiring(actor=SYSTEM, today=today) == 1
    assert len(mail.outbox) == 1
    assert amendment.get_absolute_url() in mail.outbox[0].body


def test_progress_reported_on_the_amended_agreement_carries_over(
    staff, hr_duisburg, signed_agreement, client
):
    """The amendment's commitments are copies of the agreement's: what the partner reported on them stays their
    progress, also where the amendment changed a target, instead of starting afresh with "no report"."""
    first, second = signed_agreement.commitments.order_by("order", "pk")
    progress_report_create(
        actor=hr_duisburg, commitment=first, reported_on=datetime.date(2014, 1, 10), value_reached=40
    )
    progress_report_create(
        actor=hr_duisburg,
        commitment=first,
        reported_on=datetime.date(2015, 1, 10),
        value_reached=70,
        text="Gut",
    )
    amendment = amendment_create(actor=staff, agreement=signed_agreement)
    copy_of_first, copy_of_second = amendment.commitments.order_by("order", "pk")
    agreement_update(
        actor=staff,
        agreement=amendment,
        commitments=[
            {"id": copy_of_first.pk, "field_of_action": first.field_of_action, "description": "Neu",
             "target_value": 200},
            {"id": copy_of_second.pk, "field_of_action": second.field_of_action, "description": "Neu"},
        ],
    )  # fmt: skip
    agreement_sign(
        actor=staff,
        agreement=ready_to_sign(amendment, signed_on=timezone.localdate()),
        reason="Unterschrieben",
    )

    assert list(copy_of_first.progress_reports.values_list("reported_on", "value_reached", "text")) == [
        (datetime.date(2015, 1, 10), 70, "Gut"),
        (datetime.date(2014, 1, 10), 40, ""),
    ]
    assert copy_of_first.progress_reports.first().reported_by == hr_duisburg
    assert not copy_of_second.progress_reports.exists()
    assert first.progress_reports.count() == 2  # the ended agreement keeps its own

    # From now on progress is reported on the amendment.
    with pytest.raises(ValidationError) as refused:
        progress_report_create(
            actor=hr_duisburg, commitment=first, reported_on=timezone.localdate(), value_reached=90
        )
    assert "ersetzt" in refused.value.messages[0]
    progress_report_create(
        actor=hr_duisburg, commitment=copy_of_first, reported_on=timezone.localdate(), value_reached=90
    )
    client.force_login(hr_duisburg)
    assert "Fortschritt melden" not in client.get(signed_agreement.get_absolute_url()).text
    assert "Fortschritt melden" in client.get(amendment.get_absolute_url()).text


def test_only_a_signed_agreement_of_the_same_partner_can_be_amended_whichever_path_sets_it(
    staff, signed_agreement, oberhausen, ministry
):
    """Signing an amendment ends the agreement it amends: set through the admin (a raw id) or a service to
    another partner's agreement, or to a draft, it would have ended that one."""
    foreign = AgreementFactory(partner=oberhausen, state_party=ministry)
    draft = AgreementFactory(partner=signed_agreement.partner, state_party=ministry)
    amendment = amendment_create(actor=staff, agreement=signed_agreement)
    with pytest.raises(ValidationError) as refused:
        agreement_update(actor=staff, agreement=amendment, amends=foreign)
    assert refused.value.message_dict == {
        "amends": ["Die geänderte Partnervereinbarung gehört zu einem anderen Partner."]
    }
    with pytest.raises(ValidationError) as refused:
        agreement_update(actor=staff, agreement=amendment, amends=draft)
    assert refused.value.message_dict == {
        "amends": ["Nur eine unterschriebene Partnervereinbarung kann geändert werden."]
    }
    amendment.refresh_from_db()
    assert amendment.amends == signed_agreement


def test_an_amendment_signed_before_this_release_ends_what_it_amends_the_first_night(staff, signed_agreement):
    """Both stayed "signed" when amendments did not end what they amend; the nightly run puts that right."""
    amendment = amendment_create(actor=staff, agreement=signed_agreement)
    Agreement.objects.filter(pk=amendment.pk).update(status=Status.SIGNED, signed_on=timezone.localdate())
    assert agreements_end_expired(actor=SYSTEM) == 1
    signed_agreement.refresh_from_db()
    assert signed_agreement.status == Status.ENDED
    assert agreements_end_expired(actor=SYSTEM) == 0


@pytest.mark.django_db(transaction=True)
def test_two_amendments_signed_at_once_replace_the_agreement_once(postgres, staff, signed_agreement):
    """Two colleagues sign two amendments of one agreement at the same moment (real PostgreSQL, a thread each):
    one replaces it, the other is refused, saying which one did. Without the lock on the amended agreement both
    saw no replacement yet, and the partner had two amendments in force."""
    from tests.trainings.test_services import run_in_threads

    today = timezone.localdate()
    first = ready_to_sign(amendment_create(actor=staff, agreement=signed_agreement), signed_on=today)
    second = ready_to_sign(amendment_create(actor=staff, agreement=signed_agreement), signed_on=today)
    staff.organisation_ids(Role.MINISTRY)
    calls = [
        lambda amendment=amendment: agreement_sign(actor=staff, agreement=amendment, reason="Unterschrieben")
        for amendment in (first, second)
    ]
    outcomes = run_in_threads(calls, hold_date=signed_agreement)  # both queue on the amended agreement
    refused = [outcome for outcome in outcomes if isinstance(outcome, ValidationError)]
    assert len(refused) == 1, outcomes
    statuses = dict(Agreement.objects.values_list("pk", "status"))
    assert statuses[signed_agreement.pk] == Status.ENDED
    assert sorted([statuses[first.pk], statuses[second.pk]]) == [Status.READY_FOR_SIGNATURE, Status.SIGNED]
    assert "already been replaced by the amendment" in refused[0].messages[-1]
