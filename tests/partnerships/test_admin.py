"""The Django admin keeps to the agreement's life cycle: a signed agreement is read-only there, the status is
never edited by hand, and what the admin may change leaves an audit entry like a change through the portal."""

import re
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from partnerships.models import Agreement, ProgressReport
from partnerships.services import progress_report_create
from tests.factories import OrganisationFactory
from tests.helpers import form_data
from vielfalt.models import AuditEntry

from .conftest import make_signed
from .factories import AgreementFactory, CommitmentFactory

pytestmark = pytest.mark.django_db


def change_url(agreement) -> str:
    return reverse("admin:partnerships_agreement_change", args=[agreement.pk])


def test_a_signed_agreement_is_shown_read_only(client, superuser, signed_agreement):
    client.force_login(superuser)
    response = client.get(change_url(signed_agreement))
    assert response.status_code == 200
    html = response.content.decode()
    assert signed_agreement.body in html  # shown
    fields = form_data(html, "agreement_form")
    assert [name for name in ("title", "body", "status", "signatories-0-name") if name in fields] == []
    assert reverse("admin:partnerships_agreement_delete", args=[signed_agreement.pk]) not in html


def test_editing_a_signed_agreements_title_through_the_admin_is_refused(client, superuser, agreement):
    """The edit form of the draft, still open in a browser tab when the agreement was signed, is sent."""
    client.force_login(superuser)
    data = form_data(client.get(change_url(agreement)).content.decode(), "agreement_form")
    make_signed(agreement)
    entries = AuditEntry.objects.count()
    data["title"] = "Eine ganz andere Vereinbarung"
    data["body"] = "Ein ganz anderer Text."
    data["signatories-0-name"] = "Jemand anderes"
    response = client.post(change_url(agreement), data)
    assert response.status_code == 403
    stored = Agreement.objects.get(pk=agreement.pk)
    assert (stored.title, stored.body, stored.status) == (
        agreement.title,
        agreement.body,
        Agreement.Status.SIGNED,
    )
    assert stored.signatories.filter(name="Jemand anderes").exists() is False
    assert AuditEntry.objects.count() == entries


def test_a_signed_agreement_cannot_be_deleted_through_the_admin(client, superuser, signed_agreement):
    client.force_login(superuser)
    url = reverse("admin:partnerships_agreement_delete", args=[signed_agreement.pk])
    assert client.post(url, {"post": "yes"}).status_code == 403
    assert Agreement.objects.filter(pk=signed_agreement.pk).exists()


def test_a_draft_edited_in_the_admin_leaves_an_audit_entry(client, superuser, agreement, duisburg):
    client.force_login(superuser)
    data = form_data(client.get(change_url(agreement)).content.decode(), "agreement_form")
    old_title = agreement.title
    data["title"] = "Vereinbarung, überarbeitet"
    data["signatories-0-name"] = "Sören Link-Neu"
    response = client.post(change_url(agreement), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    entry = AuditEntry.objects.get(action=AuditEntry.Action.CHANGE)
    assert (entry.actor, entry.organisation, entry.object_id) == (superuser, duisburg, str(agreement.pk))
    assert entry.changes == {
        "via": "admin",
        "title": [old_title, "Vereinbarung, überarbeitet"],
        "signatories": {"created": 0, "changed": 1, "deleted": 0},
    }


def test_the_status_is_not_edited_in_the_admin(client, superuser, agreement):
    """A draft does not become signed by a field edit (no checks, no status change record)."""
    client.force_login(superuser)
    data = form_data(client.get(change_url(agreement)).content.decode(), "agreement_form")
    assert "status" not in data
    data["status"] = Agreement.Status.SIGNED
    assert client.post(change_url(agreement), data).status_code == 302
    assert Agreement.objects.get(pk=agreement.pk).status == Agreement.Status.DRAFT


def test_which_commitment_a_commitment_continues_is_shown_not_chosen(client, superuser, agreement):
    """Set by an amendment's copy; as a field, each commitment of the draft would list every commitment of the
    programme (4,000 at full scale) as options."""
    client.force_login(superuser)
    html = client.get(change_url(agreement)).content.decode()
    fields = form_data(html, "agreement_form")
    assert "commitments-0-field_of_action" in fields
    assert "commitments-0-continues" not in fields


def _changelist_queries(client, query: dict) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("admin:partnerships_agreement_changelist"), query)
    assert response.status_code == 200
    return [query["sql"] for query in queries.captured_queries]


@pytest.mark.parametrize("query", [{}, {"q": "Vielfalt"}, {"status__exact": "draft"}])
def test_the_agreement_list_reads_the_same_number_of_queries_for_any_number_of_agreements(
    postgres, client, superuser, agreement, ministry, query
):
    """Each row's partner comes with the row (Django joins a foreign key of `list_display` by itself): no query
    per agreement, unfiltered, searched or filtered."""
    client.force_login(superuser)
    _changelist_queries(client, query)  # the first request of a session writes to it
    one = _changelist_queries(client, query)
    for slug in ("oberhausen", "essen", "bochum"):
        AgreementFactory(partner=OrganisationFactory(slug=slug, name=slug.title()), state_party=ministry)
    many = _changelist_queries(client, query)
    assert len(many) == len(one), "\n".join(many)
    assert "Oberhausen" in client.get(reverse("admin:partnerships_agreement_changelist"), query).text


def test_a_commitments_responsible_unit_is_chosen_from_the_partners_units(
    client, superuser, agreement, duisburg, oberhausen
):
    """The inline listed every org unit of every partner (3 × 2,041 at full scale) and took any of them."""
    own = duisburg.units.create(name="Personalamt")
    other = oberhausen.units.create(name="Hauptamt")
    client.force_login(superuser)
    html = client.get(change_url(agreement)).content.decode()
    select = re.search(r'<select name="commitments-0-responsible_unit".*?</select>', html, re.S).group(0)
    assert re.findall(r'<option value="(\d+)"', select) == [str(own.pk)]
    data = form_data(html, "agreement_form")
    data["commitments-0-responsible_unit"] = str(other.pk)
    response = client.post(change_url(agreement), data)
    assert response.status_code == 200  # the form again, with the error
    assert not agreement.commitments.filter(responsible_unit=other).exists()
    data["commitments-0-responsible_unit"] = str(own.pk)
    assert client.post(change_url(agreement), data).status_code == 302
    assert agreement.commitments.filter(responsible_unit=own).count() == 1
    # A new agreement has no partner yet: its commitments name a unit once it is saved with one.
    html = client.get(reverse("admin:partnerships_agreement_add")).content.decode()
    select = re.search(r'<select name="commitments-__prefix__-responsible_unit".*?</select>', html, re.S)
    assert re.findall(r'<option value="(\d+)"', select.group(0)) == []


def test_a_partners_progress_report_is_not_added_changed_or_deleted_in_the_admin(
    client, superuser, signed_agreement, agreement, hr_duisburg
):
    """A report is the partner's own statement of what came of a commitment (progress_report_create: partner HR,
    a signed agreement only). In the admin its figure could be raised afterwards, still under the partner's name,
    deleted, or one added for a draft; the programme's figures add them up."""
    commitment = signed_agreement.commitments.first()
    report = progress_report_create(
        actor=hr_duisburg, commitment=commitment, reported_on=date(2014, 1, 1), value_reached=Decimal(3)
    )
    draft = AgreementFactory(partner=agreement.partner, state_party=agreement.state_party)
    draft_commitment = CommitmentFactory(agreement=draft)
    client.force_login(superuser)
    url = reverse("admin:partnerships_progressreport_change", args=[report.pk])
    assert client.get(url).status_code == 200  # to look at
    data = {
        "commitment": commitment.pk,
        "reported_on": "01.01.2014",
        "value_reached": "300",
        "text": "",
        "reported_by": hr_duisburg.pk,
    }
    assert client.post(url, data).status_code == 403
    added = {**data, "commitment": draft_commitment.pk}
    assert client.post(reverse("admin:partnerships_progressreport_add"), added).status_code == 403
    delete = reverse("admin:partnerships_progressreport_delete", args=[report.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert list(ProgressReport.objects.values_list("commitment", "value_reached")) == [(commitment.pk, 3)]
