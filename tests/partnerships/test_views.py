"""Pages of the partnerships app: who sees what, the form with its inline rows, uploads and downloads."""

import datetime
import re
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from partnerships.models import Agreement, AgreementDocument, ProgressReport
from partnerships.services import SIGNED_COPY_MAX_BYTES, agreement_sign
from tests.helpers import statements_with
from vielfalt.audit import audit_entries_for
from vielfalt.models import AuditEntry, Job

from .conftest import MINIMAL_PDF
from .factories import AgreementFactory, CommitmentFactory, SignatoryFactory

pytestmark = pytest.mark.django_db

HOSTILE = '<img src="file:///etc/passwd"> {{ request.user }} {% debug %} <script>alert(1)</script>'


def formset_data(prefix, rows, initial=0):
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"{prefix}-{index}-{key}"] = value
    return data


def agreement_post(partner, ministry, *, signatories, commitments, **fields):
    data = {
        "partner": partner.pk,
        "state_party": ministry.pk,
        "title": "Vielfalt verbindet. Interkulturelle Öffnung als Erfolgsfaktor",
        "preamble": "",
        "body": "",
        "place": "Duisburg",
        "signed_on": "",
        "valid_from": "2013-03-07",
        "valid_until": "",
        "amends": "",
        **fields,
    }
    data.update(formset_data("signatories", signatories))
    data.update(formset_data("commitments", commitments))
    return data


def test_anonymous_users_are_sent_to_login(client, agreement):
    for url in (
        reverse("partnerships:index"),
        reverse("partnerships:detail", args=[agreement.pk]),
        reverse("partnerships:create"),
        reverse("partnerships:export"),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))


def test_ministry_sees_every_agreement(client, staff, agreement, oberhausen, ministry):
    other = AgreementFactory(partner=oberhausen, state_party=ministry)
    client.force_login(staff)
    response = client.get(reverse("partnerships:index"))
    assert sorted(a["pk"] for a in response.context["object_list"]) == sorted([agreement.pk, other.pk])
    assert client.get(reverse("partnerships:detail", args=[other.pk])).status_code == 200


def test_hr_sees_only_its_own_organisations_agreements(client, hr_duisburg, agreement, oberhausen, ministry):
    foreign = AgreementFactory(partner=oberhausen, state_party=ministry, title="Vereinbarung Oberhausen")
    client.force_login(hr_duisburg)
    response = client.get(reverse("partnerships:index"))
    assert [a["pk"] for a in response.context["object_list"]] == [agreement.pk]
    assert "Vereinbarung Oberhausen" not in response.text
    assert client.get(reverse("partnerships:detail", args=[agreement.pk])).status_code == 200
    assert client.get(reverse("partnerships:detail", args=[foreign.pk])).status_code == 404


def test_hr_cannot_edit_or_change_status(client, hr_duisburg, agreement, duisburg, ministry):
    client.force_login(hr_duisburg)
    assert client.get(reverse("partnerships:update", args=[agreement.pk])).status_code == 403
    assert client.get(reverse("partnerships:create")).status_code == 403
    data = agreement_post(duisburg, ministry, signatories=[], commitments=[], body="gehackt")
    assert client.post(reverse("partnerships:update", args=[agreement.pk]), data).status_code == 403
    response = client.post(reverse("partnerships:transition", args=[agreement.pk]), {"to": "in_review"})
    assert response.status_code == 403
    assert client.post(reverse("partnerships:render_pdf", args=[agreement.pk])).status_code == 403
    agreement.refresh_from_db()
    assert (agreement.status, agreement.body) == ("draft", "Die Partner vereinbaren Folgendes.")


def test_users_without_a_role_see_nothing(client, agreement):
    from tests.factories import UserFactory

    client.force_login(UserFactory())
    response = client.get(reverse("partnerships:index"))
    assert (response.status_code, list(response.context["object_list"])) == (200, [])
    assert client.get(reverse("partnerships:detail", args=[agreement.pk])).status_code == 404
    assert client.get(reverse("partnerships:create")).status_code == 403


def test_hr_reports_progress_on_its_signed_agreement(client, hr_duisburg, signed_agreement):
    commitment = signed_agreement.commitments.first()
    client.force_login(hr_duisburg)
    url = reverse("partnerships:report_progress", args=[signed_agreement.pk, commitment.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"reported_on": "2014-01-31", "value_reached": "40", "text": "Gut."})
    assert response.status_code == 302
    report = ProgressReport.objects.get()
    assert (report.commitment, report.value_reached, report.reported_by) == (commitment, 40, hr_duisburg)
    detail = client.get(reverse("partnerships:detail", args=[signed_agreement.pk]))
    assert 'class="progress-' in detail.text


def test_hr_of_another_organisation_gets_404_for_progress(client, hr_oberhausen, signed_agreement):
    commitment = signed_agreement.commitments.first()
    client.force_login(hr_oberhausen)
    url = reverse("partnerships:report_progress", args=[signed_agreement.pk, commitment.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"reported_on": "2014-01-31", "value_reached": "1"}).status_code == 404
    assert not ProgressReport.objects.exists()


def test_ministry_sees_progress_state_of_each_commitment(client, staff, signed_agreement):
    client.force_login(staff)
    response = client.get(reverse("partnerships:detail", args=[signed_agreement.pk]))
    states = [progress for _c, progress, _latest in response.context["commitments"]]
    assert len(states) == 2
    assert set(states) <= {"on_track", "behind", "done"}


@pytest.mark.parametrize("count", [1, 3])
def test_list_query_count_is_constant(client, staff, ministry, django_assert_num_queries, count):
    from tests.factories import OrganisationFactory

    for _ in range(count):
        agreement = AgreementFactory(partner=OrganisationFactory(), state_party=ministry)
        CommitmentFactory(agreement=agreement)
    client.force_login(staff)
    client.get(reverse("partnerships:index"))  # warm up session and caches
    with django_assert_num_queries(6):  # 6 + the second factor's device (django-otp)
        response = client.get(reverse("partnerships:index"), {"ordering": "partner"})
    assert len(response.context["object_list"]) == count


@pytest.mark.parametrize("count", [1, 3])
def test_detail_query_count_does_not_grow_with_commitments(
    client, staff, agreement, django_assert_num_queries, count
):
    agreement.commitments.all().delete()
    for _ in range(count):
        CommitmentFactory(agreement=agreement)
    client.force_login(staff)
    client.get(reverse("partnerships:detail", args=[agreement.pk]))
    with django_assert_num_queries(9):  # 9 + the second factor's device (django-otp)
        client.get(reverse("partnerships:detail", args=[agreement.pk]))


def test_list_filters_search_and_sorting(client, staff, ministry, duisburg, oberhausen):
    from vielfalt.models import Organisation

    signed = AgreementFactory(
        partner=duisburg, state_party=ministry, status="signed", signed_on=datetime.date(2013, 3, 7)
    )
    draft = AgreementFactory(partner=oberhausen, state_party=ministry)
    association = AgreementFactory(
        partner=Organisation.objects.create(slug="verein", name="Verein", kind="association"),
        state_party=ministry,
    )
    client.force_login(staff)

    def pks(**query):
        return [a["pk"] for a in client.get(reverse("partnerships:index"), query).context["object_list"]]

    assert pks(status="signed") == [signed.pk]
    assert pks(year="2013") == [signed.pk]
    assert pks(partner_kind="association") == [association.pk]
    assert pks(q="Oberhausen") == [draft.pk]
    assert pks(ordering="partner") == [signed.pk, draft.pk, association.pk]
    assert pks(ordering="-partner") == [association.pk, draft.pk, signed.pk]


def test_sorting_by_status_follows_the_life_cycle(client, staff, ministry, duisburg):
    """Sorted by their stored codes the statuses came as "Entwurf, beendet, in Prüfung, bereit zur Unterzeichnung,
    unterzeichnet": neither the order of the German names nor that of the life cycle, which the list now keeps."""
    for status in ["signed", "draft", "ended", "ready_for_signature", "in_review"]:
        frozen = status in ("signed", "ended")
        AgreementFactory(
            partner=duisburg,
            state_party=ministry,
            status=status,
            signed_on=datetime.date(2013, 3, 7) if frozen else None,
        )
    client.force_login(staff)

    def statuses(ordering):
        response = client.get(reverse("partnerships:index"), {"ordering": ordering})
        return [row["status"] for row in response.context["object_list"]]

    life_cycle = ["draft", "in_review", "ready_for_signature", "signed", "ended"]
    assert statuses("status") == life_cycle
    assert statuses("-status") == life_cycle[::-1]


def test_the_search_matches_each_table_before_joining_them(client, staff, ministry):
    """A word may be in the title, the place, the partner's name or a signatory's name. PostgreSQL checks each
    of them on its own table: no condition over the agreement and its partner together, which it could only
    check on every pair of the two (and did, for a page: every agreement with every organisation)."""
    from django.db import connection

    from tests.conftest import need
    from vielfalt.models import Organisation

    need(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    partners = [
        Organisation.objects.create(slug=f"p{n}", name=f"Partner {n:04d}", kind="city") for n in range(40)
    ]
    for n, partner in enumerate(partners):
        AgreementFactory(partner=partner, state_party=ministry, place="Düsseldorf", title=f"Vereinbarung {n}")
    SignatoryFactory(agreement=AgreementFactory(partner=partners[0], state_party=ministry), name="Ada Yıldız")
    client.force_login(staff)

    def titles(word):
        rows = client.get(reverse("partnerships:index"), {"q": word}).context["object_list"]
        return sorted(row["title"] for row in rows)

    assert titles("0017") == ["Vereinbarung 17"]  # the partner's name
    assert titles("vereinbarung 39") == ["Vereinbarung 39"]  # every word, in the title or elsewhere
    assert titles("yıldız") == [Agreement.objects.get(signatories__name="Ada Yıldız").title]
    found = client.get(reverse("partnerships:index"), {"q": "düsseldorf"}).context["paginator"].count
    assert found == 40  # the place
    with statements_with("partnerships_agreement", "LIKE") as statements:
        titles("0017")
    (sql, params) = statements[0]
    assert len(statements) == 1, statements  # the page's statement counts its matches too (no COUNT again)
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE) " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        assert not re.search(r"Join Filter: .*~~", plan), plan
        cursor.execute("SET LOCAL enable_seqscan = off")  # 41 signatories: cheaper to read than to look up
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Bitmap Index Scan on signatory_name_search" in plan, plan


def test_list_rows_escape_what_users_typed_and_write_each_cell(client, staff, ministry, duisburg):
    duisburg.name = "Duisburg & <Umgebung>"
    duisburg.save()
    signed = AgreementFactory(
        partner=duisburg,
        state_party=ministry,
        title=HOSTILE,
        status="signed",
        signed_on=datetime.date(2013, 3, 7),
        valid_until=datetime.date(2018, 3, 6),
    )
    draft = AgreementFactory(partner=duisburg, state_party=ministry, title="{0} {1} %s Entwurf")
    client.force_login(staff)
    text = client.get(reverse("partnerships:index")).text
    assert "<script>alert(1)</script>" not in text and '<img src="file' not in text
    assert (
        "<tr>\n      <td>Duisburg &amp; &lt;Umgebung&gt;</td>\n"
        f'      <td><a href="/partnerships/{signed.pk}/">&lt;img src=&quot;file:///etc/passwd&quot;&gt; '
        "{{ request.user }} {% debug %} &lt;script&gt;alert(1)&lt;/script&gt;</a></td>\n"
        '      <td><span class="badge status-signed text-bg-success">unterschrieben</span></td>\n'
        "      <td>07.03.2013</td>\n      <td>06.03.2018</td>\n    </tr>"
    ) in text
    assert (
        f'<td><a href="/partnerships/{draft.pk}/">{{0}} {{1}} %s Entwurf</a></td>\n'
        '      <td><span class="badge status-draft text-bg-light border">Entwurf</span></td>\n'
        "      <td>–</td>\n      <td>–</td>"
    ) in text


def test_list_paginates_by_25(client, staff, ministry, duisburg):
    AgreementFactory.create_batch(26, partner=duisburg, state_party=ministry)
    client.force_login(staff)
    response = client.get(reverse("partnerships:index"))
    assert len(response.context["object_list"]) == 25
    assert len(client.get(reverse("partnerships:index"), {"page": 2}).context["object_list"]) == 1


def test_ministry_creates_an_agreement_with_inline_rows(client, staff, duisburg, ministry):
    unit = duisburg.units.create(name="Amt für Personal und Organisation")
    client.force_login(staff)
    assert client.get(reverse("partnerships:create")).status_code == 200
    data = agreement_post(
        duisburg,
        ministry,
        signatories=[
            {"side": "state", "name": "Zülfiye Kaykin", "function": "Staatssekretärin", "order": "3"},
            {"side": "partner", "name": "Sören Link", "function": "Oberbürgermeister", "order": "1"},
            {"side": "state", "name": "Guntram Schneider", "function": "Minister", "order": "2"},
            {"side": "", "name": "", "function": "", "order": "0"},
        ],
        commitments=[
            {
                "field_of_action": "Befragung",
                "description": "Freiwillige Befragung",
                "target_value": "1",
                "responsible_unit": unit.pk,
                "order": "2",
            },
            {"field_of_action": "Sensibilisierung", "description": "Schulungen", "order": "1"},
        ],
    )
    response = client.post(reverse("partnerships:create"), data)
    assert response.status_code == 302, response.context and response.context["form"].errors
    agreement = Agreement.objects.get()
    assert response.url == agreement.get_absolute_url()
    assert list(agreement.signatories.values_list("name", flat=True)) == [
        "Sören Link",
        "Guntram Schneider",
        "Zülfiye Kaykin",
    ]
    assert list(agreement.commitments.values_list("field_of_action", "order")) == [
        ("Sensibilisierung", 1),
        ("Befragung", 2),
    ]
    assert agreement.created_by == staff


def test_form_errors_are_shown_with_422(client, staff, duisburg, ministry):
    client.force_login(staff)
    data = agreement_post(
        duisburg,
        ministry,
        title="",
        valid_until="2012-01-01",
        signatories=[{"side": "partner", "name": "", "function": "OB", "order": "1"}],
        commitments=[],
    )
    response = client.post(reverse("partnerships:create"), data)
    assert response.status_code == 422
    assert "error-summary" in response.text
    assert not Agreement.objects.exists()


def test_editing_a_signed_agreement_explains_why_not(client, staff, signed_agreement, duisburg, ministry):
    client.force_login(staff)
    url = reverse("partnerships:update", args=[signed_agreement.pk])
    with translation.override("en"):
        response = client.get(url, follow=True, headers={"Accept-Language": "en"})
    assert response.redirect_chain[-1][0] == signed_agreement.get_absolute_url()
    messages = [str(m) for m in response.context["messages"]]
    assert len(messages) == 1
    response = client.post(
        url, agreement_post(duisburg, ministry, signatories=[], commitments=[], body="neu")
    )
    assert response.status_code == 302
    signed_agreement.refresh_from_db()
    assert signed_agreement.body == "Die Partner vereinbaren Folgendes."


def test_transition_buttons_change_status(client, staff, agreement):
    client.force_login(staff)
    client.post(reverse("partnerships:transition", args=[agreement.pk]), {"to": "in_review"})
    agreement.refresh_from_db()
    assert agreement.status == "in_review"
    client.post(reverse("partnerships:transition", args=[agreement.pk]), {"to": "signed"})
    agreement.refresh_from_db()
    assert agreement.status == "in_review"


def test_steps_back_and_to_signed_ask_for_confirmation_and_a_reason(client, staff, agreement):
    from vielfalt.audit import audit_entries_for

    Agreement.objects.filter(pk=agreement.pk).update(status="in_review")
    client.force_login(staff)
    url = reverse("partnerships:transition", args=[agreement.pk])
    asked = client.post(url, {"to": "draft"})  # the button on the agreement page
    assert asked.status_code == 200
    assert 'name="reason"' in asked.text and 'name="confirm"' in asked.text
    agreement.refresh_from_db()
    assert agreement.status == "in_review"
    unconfirmed = client.post(url, {"to": "draft", "reason": "Text überarbeiten"})
    assert unconfirmed.status_code == 422
    confirmed = client.post(url, {"to": "draft", "reason": "Text überarbeiten", "confirm": "on"})
    assert confirmed.status_code == 302
    agreement.refresh_from_db()
    assert agreement.status == "draft"
    assert audit_entries_for(agreement).first().changes == {
        "status": ["in_review", "draft"],
        "reason": "Text überarbeiten",
    }


def test_amendment_is_shown_on_both(client, staff, signed_agreement):
    client.force_login(staff)
    response = client.post(reverse("partnerships:amend", args=[signed_agreement.pk]))
    amendment = Agreement.objects.get(amends=signed_agreement)
    assert response.url == reverse("partnerships:update", args=[amendment.pk])
    original_page = client.get(signed_agreement.get_absolute_url()).text
    amendment_page = client.get(amendment.get_absolute_url()).text
    assert amendment.get_absolute_url() in original_page
    assert signed_agreement.get_absolute_url() in amendment_page


def _ready(agreement):
    Agreement.objects.filter(pk=agreement.pk).update(status="ready_for_signature")
    return agreement


def test_upload_signed_copy_and_sign(client, staff, agreement):
    _ready(agreement)
    client.force_login(staff)
    upload = SimpleUploadedFile("unterschrieben.pdf", MINIMAL_PDF, content_type="application/pdf")
    response = client.post(reverse("partnerships:upload_signed", args=[agreement.pk]), {"file": upload})
    assert response.status_code == 302
    document = AgreementDocument.objects.get(agreement=agreement, kind="signed")
    assert document.file.read() == MINIMAL_PDF
    agreement_sign(actor=staff, agreement=agreement, reason="Beide Seiten haben unterschrieben.")


def test_renamed_non_pdf_is_refused(client, staff, agreement):
    _ready(agreement)
    client.force_login(staff)
    upload = SimpleUploadedFile("scan.pdf", b"PK\x03\x04 this is a zip file", content_type="application/pdf")
    with translation.override("en"):
        response = client.post(
            reverse("partnerships:upload_signed", args=[agreement.pk]),
            {"file": upload},
            headers={"Accept-Language": "en"},
        )
    assert response.status_code == 422
    assert response.context["form"].errors["file"] == [
        "The file is not a PDF document. Please upload the scan of the signed agreement as PDF."
    ]
    assert not AgreementDocument.objects.exists()


def test_oversized_file_is_refused(client, staff, agreement):
    _ready(agreement)
    client.force_login(staff)
    content = MINIMAL_PDF[:-6] + b" " * (SIGNED_COPY_MAX_BYTES + 1) + b"%%EOF\n"
    upload = SimpleUploadedFile("gross.pdf", content, content_type="application/pdf")
    response = client.post(reverse("partnerships:upload_signed", args=[agreement.pk]), {"file": upload})
    assert response.status_code == 422
    assert response.context["form"].errors["file"][0].startswith(("The file is larger than", "Die Datei"))
    assert "20" in response.context["form"].errors["file"][0]
    assert not AgreementDocument.objects.exists()


def test_download_is_permission_checked_and_audited(
    client, staff, hr_duisburg, hr_oberhausen, signed_agreement
):
    document = signed_agreement.documents.get()
    url = document.get_absolute_url()
    client.force_login(hr_oberhausen)
    assert client.get(url).status_code == 404
    client.force_login(hr_duisburg)
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == MINIMAL_PDF
    entry = audit_entries_for(document).filter(action=AuditEntry.Action.DOWNLOAD).get()
    assert entry.actor == hr_duisburg
    client.force_login(staff)
    history = client.get(signed_agreement.get_absolute_url()).context["history"]
    assert entry in list(history)
    # A document id under another agreement's URL answers 404 too.
    other = AgreementFactory(partner=signed_agreement.partner, state_party=signed_agreement.state_party)
    assert (
        client.get(reverse("partnerships:document_download", args=[other.pk, document.pk])).status_code == 404
    )


def test_hostile_text_appears_as_text_on_the_page(client, staff, duisburg, ministry):
    agreement = AgreementFactory(
        partner=duisburg, state_party=ministry, title=HOSTILE, preamble=HOSTILE, body=HOSTILE, place=HOSTILE
    )
    CommitmentFactory(
        agreement=agreement, field_of_action=HOSTILE, description=HOSTILE, indicator=HOSTILE, unit="<b>u</b>"
    )
    SignatoryFactory(agreement=agreement, name=HOSTILE, function=HOSTILE)
    client.force_login(staff)
    for url in (agreement.get_absolute_url(), reverse("partnerships:index")):
        text = client.get(url).text
        assert '<img src="file:///etc/passwd">' not in text
        assert "<script>alert(1)</script>" not in text
        assert "&lt;img src=&quot;file:///etc/passwd&quot;&gt;" in text
        assert "{{ request.user }}" in text
        assert "{% debug %}" in text
    detail = client.get(agreement.get_absolute_url()).text
    assert detail.count("&lt;img src=&quot;file:///etc/passwd&quot;&gt;") >= 8
    assert "<b>u</b>" not in detail


def test_export_page_starts_a_job(client, staff, signed_agreement, admin_user, hr_duisburg):
    client.force_login(hr_duisburg)
    assert client.get(reverse("partnerships:export")).status_code == 403
    client.force_login(staff)
    page = client.get(reverse("partnerships:export"), {"status": "signed"})
    assert page.context["count"] == 1
    response = client.post(reverse("partnerships:export"), {"status": "signed"})
    assert response.status_code == 302
    assert "job=" in response.url


@pytest.mark.parametrize(
    "filters",
    [
        {"status": "\x00"},
        {"q": "a\x00b"},
        {"partner_district": "a\x00b"},
        {"status": "<script>"},
        {"partner_kind": "-1"},
        {"year": "1999"},
    ],
)
def test_export_refuses_filters_the_list_does_not_accept(client, staff, signed_agreement, filters):
    """A hand-made export request: a NUL character was a server error (PostgreSQL refuses it in the job's
    JSON), other junk a job keeping it. Now the form again, saying which filter; no job."""
    client.force_login(staff)
    response = client.post(reverse("partnerships:export"), filters)
    assert response.status_code == 422
    assert response.context["filter"].errors
    assert not Job.objects.exists()


def test_signing_years_are_the_distinct_years_of_signing_newest_first(ministry, duisburg):
    """Both ways of reading them: PostgreSQL's index look-ups and the portable one SQLite (`make run`) uses."""
    from partnerships.filters import signing_years, signing_years_portable

    assert signing_years() == signing_years_portable() == []
    for day in [datetime.date(2013, 3, 7), datetime.date(2013, 12, 31), datetime.date(2016, 1, 1), None]:
        AgreementFactory(partner=duisburg, state_party=ministry, signed_on=day)
    assert signing_years() == signing_years_portable() == [(2016, "2016"), (2013, "2013")]


def test_list_reads_its_first_page_from_the_order_index(postgres, staff, ministry, duisburg):
    """The default order (-updated_at, -id) has an index: at full scale the first page is not a sort of every
    agreement."""
    from django.db import connection
    from django.test import RequestFactory

    from partnerships.views import AgreementListView

    AgreementFactory(partner=duisburg, state_party=ministry)
    view = AgreementListView()
    view.request = RequestFactory().get("/")
    view.request.user = staff
    queryset = view.get_queryset()[:25]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = queryset.explain()
    assert "agreement_updated" in plan
    assert "Sort" not in plan


def test_list_links_each_agreement_to_its_page(client, staff, agreement):
    client.force_login(staff)
    response = client.get(reverse("partnerships:index"))
    assert f'<a href="{agreement.get_absolute_url()}">{agreement.title}</a>' in response.content.decode()


def test_upload_form_on_the_agreement_page_is_the_signed_copy_form(client, staff, signed_agreement):
    """The page writes the blank upload form out itself, as crispy-forms renders it (label, widget, classes)."""
    import re

    from django.template import engines

    from partnerships.forms import SignedCopyForm

    def tidy(html):
        return re.sub(r"\s+", " ", re.sub(r"\s*([<>])\s*", r"\1", html)).strip()

    client.force_login(staff)
    with translation.override("de"):
        page = client.get(signed_agreement.get_absolute_url()).content.decode()
        crispy = engines["django"].from_string("{% load crispy_forms_tags %}{{ form|crispy }}")
        expected = crispy.render({"form": SignedCopyForm()})
    assert "Unterschriebenes Exemplar" in expected
    assert tidy(expected) in tidy(page)


# The commitment table's cells as the template wrote them before the view formatted them.
OLD_COMMITMENT_CELLS = (
    "{% load i18n %}"
    "<td>{{ commitment.indicator }}{% if commitment.indicator and commitment.target_value is not None %}: {% endif %}"
    "{% if commitment.target_value is not None %}{{ commitment.target_value|floatformat:'-2' }} {{ commitment.unit }}"
    "{% elif not commitment.indicator %}–{% endif %}</td>\n"
    "      <td>{{ commitment.due_on|date:'SHORT_DATE_FORMAT'|default:'–' }}</td>\n"
    "      <td>{% if latest %}{{ latest.value_reached|floatformat:'-2' }} {{ commitment.unit }}"
    " ({{ latest.reported_on|date:'SHORT_DATE_FORMAT' }}){% if latest.text %}<br><span class=\"small\">"
    "{{ latest.text }}</span>{% endif %}{% else %}–{% endif %}</td>\n"
    "      <td><span class=\"progress-{{ progress }} badge text-bg-{% if progress == 'done' %}success"
    "{% elif progress == 'behind' %}danger{% else %}primary{% endif %}\">{% if progress == 'done' %}"
    "{% translate 'done' %}{% elif progress == 'behind' %}{% translate 'behind' %}{% else %}"
    "{% translate 'on track' %}{% endif %}</span>"
)


@pytest.mark.parametrize("language", ["de", "en"])
def test_detail_commitment_cells_read_as_the_template_filters_wrote_them(
    client, staff, duisburg, ministry, language
):
    """The view formats the commitment table's cells (target, due date, latest report, progress): the page
    shows what the template's floatformat/date filters and translations gave."""
    from django.template import Context, Template

    from tests.factories import OrgUnitFactory

    agreement = AgreementFactory(partner=duisburg, state_party=ministry, signed_on=datetime.date(2013, 3, 7))
    unit = OrgUnitFactory(organisation=duisburg, name="Bürgeramt")
    both = CommitmentFactory(
        agreement=agreement, target_value="12.50", due_on=datetime.date(2030, 5, 4), responsible_unit=unit
    )
    CommitmentFactory(
        agreement=agreement, target_value=1234, unit="<b>€</b>", due_on=datetime.date(2013, 4, 1)
    )
    CommitmentFactory(agreement=agreement, field_of_action="Nur Indikator", target_value=None)
    CommitmentFactory(agreement=agreement, field_of_action="Nur Ziel", indicator="", target_value=7)
    CommitmentFactory(agreement=agreement, field_of_action="Nichts", indicator="", target_value=None)
    ProgressReport.objects.create(
        commitment=both, reported_on=datetime.date(2014, 1, 31), value_reached="3.25"
    )
    ProgressReport.objects.create(commitment=both, reported_on=datetime.date(2013, 6, 1), value_reached="1")
    client.force_login(staff)
    client.cookies["django_language"] = language
    response = client.get(agreement.get_absolute_url(), HTTP_ACCEPT_LANGUAGE=language)
    assert response.text.count("<tr>") - response.text.count("<thead><tr>") == 5 + 1  # + the documents' row
    old = Template(OLD_COMMITMENT_CELLS)
    with translation.override(language):
        for commitment, progress, latest in response.context["commitments"]:
            cells = old.render(Context({"commitment": commitment, "progress": progress, "latest": latest}))
            assert cells in response.text
    assert '<br><span class="text-body-secondary">Bürgeramt</span>' in response.text


def test_detail_history_and_latest_reports_are_the_agreements_own(
    client, staff, hr_duisburg, signed_agreement, duisburg, ministry
):
    """The page reads each commitment's latest report with the commitments, and the history (the agreement's,
    its documents' and its reports' entries) without the ids of either: both stay the agreement's own."""
    from partnerships.services import progress_report_create

    first, second = signed_agreement.commitments.order_by("order", "pk")
    older = progress_report_create(
        actor=hr_duisburg,
        commitment=first,
        reported_on=datetime.date(2014, 1, 1),
        value_reached=2,
        text="alt",
    )
    newer = progress_report_create(
        actor=hr_duisburg,
        commitment=first,
        reported_on=datetime.date(2014, 2, 1),
        value_reached=5,
        text="neu",
    )
    other = AgreementFactory(partner=duisburg, state_party=ministry)
    other_commitment = CommitmentFactory(agreement=other)
    ProgressReport.objects.create(
        commitment=other_commitment, reported_on=datetime.date(2014, 3, 1), value_reached=9
    )
    document = signed_agreement.documents.get()
    client.force_login(hr_duisburg)
    client.get(document.get_absolute_url())
    client.force_login(staff)
    context = client.get(signed_agreement.get_absolute_url()).context
    latest = {commitment.pk: report for commitment, _progress, report in context["commitments"]}
    assert latest[first.pk].pk == newer.pk and latest[first.pk].text == "neu"
    assert latest[first.pk].value_reached == newer.value_reached
    assert latest[first.pk].reported_on == datetime.date(2014, 2, 1)
    assert latest[second.pk] is None
    history = list(context["history"])
    expected = (
        set(audit_entries_for(signed_agreement))
        | set(audit_entries_for(document))
        | set(audit_entries_for(older))
        | set(audit_entries_for(newer))
    )
    assert set(history) == expected
    assert set(audit_entries_for(document).filter(action=AuditEntry.Action.DOWNLOAD)) <= set(history)
    assert history == sorted(history, key=lambda entry: (entry.at, entry.pk), reverse=True)


def test_detail_history_names_the_system_actor_in_the_readers_language(client, staff, agreement):
    """An entry the system wrote (a command, a scheduled task) read "system" as stored: now as the audit log
    shows it, translated."""
    from vielfalt.audit import audit_record
    from vielfalt.permissions import SYSTEM

    audit_record(
        actor=SYSTEM, action=AuditEntry.Action.CHANGE, obj=agreement, changes={"status": ["draft", "signed"]}
    )
    client.force_login(staff)
    text = client.get(agreement.get_absolute_url()).text
    assert re.search(r"– System (geändert|bearbeitet|Änderung)", text), re.findall(r"– [Ss]ystem \w+", text)


def test_validity_without_dates_reads_from_signing_open_ended(client, staff, agreement):
    """Before: "– – unbefristet", a dash for the first day and another between the two."""
    Agreement.objects.filter(pk=agreement.pk).update(valid_from=None, valid_until=None)
    client.force_login(staff)
    assert "ab Unterzeichnung – unbefristet" in client.get(agreement.get_absolute_url()).text


def test_the_export_offers_every_signed_agreement_first_ended_ones_too(
    client, staff, signed_agreement, tmp_path
):
    """An archive of the signed agreements: those ended since (validity run out, replaced by an amendment) were
    left out of the export's first offer ("unterschrieben"), so an archive made that way missed them."""
    from django.core.management import call_command

    from partnerships.services import agreement_transition
    from vielfalt.permissions import SYSTEM

    agreement_transition(actor=SYSTEM, agreement=signed_agreement, to_status="ended", reason="Abgelaufen")
    AgreementFactory(partner=signed_agreement.partner, state_party=signed_agreement.state_party)  # a draft
    client.force_login(staff)
    page = client.get(reverse("partnerships:export"))
    assert page.context["count"] == 1
    assert page.context["export_filters"] == [("status", "concluded")]
    assert '<option value="concluded" selected>unterschrieben oder beendet</option>' in page.text
    listed = client.get(reverse("partnerships:index"), {"status": "concluded"})
    assert [row["pk"] for row in listed.context["object_list"]] == [signed_agreement.pk]
    call_command("export_agreements", "--status", "concluded", "--out", str(tmp_path / "all.zip"))
    assert zipfile.ZipFile(tmp_path / "all.zip").namelist() != ["index.csv"]


def test_ending_a_signed_agreement_asks_for_confirmation_and_a_reason(client, staff, signed_agreement):
    """ "Status setzen: beendet" ended the agreement at one click, for good (nothing follows "ended"), and the
    audit log said nothing of why."""
    client.force_login(staff)
    url = reverse("partnerships:transition", args=[signed_agreement.pk])
    asked = client.post(url, {"to": "ended"})
    assert asked.status_code == 200
    assert 'name="reason"' in asked.text and 'name="confirm"' in asked.text
    signed_agreement.refresh_from_db()
    assert signed_agreement.status == "signed"
    confirmed = client.post(url, {"to": "ended", "reason": "Gekündigt zum Jahresende", "confirm": "on"})
    assert confirmed.status_code == 302
    signed_agreement.refresh_from_db()
    assert signed_agreement.status == "ended"
    entry = AuditEntry.objects.filter(object_id=str(signed_agreement.pk)).order_by("pk").last()
    assert entry.changes == {"status": ["signed", "ended"], "reason": "Gekündigt zum Jahresende"}
