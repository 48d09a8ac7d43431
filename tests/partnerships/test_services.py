"""Life cycle of an agreement: allowed and refused transitions, frozen content, amendments, progress."""

import datetime
import hashlib
import re
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.utils import timezone, translation

from partnerships.models import Agreement, AgreementDocument, Commitment, Side, StatusChange
from partnerships.services import (
    ALLOWED_TRANSITIONS,
    AgreementFrozen,
    agreement_create,
    agreement_pdf_bytes,
    agreement_render_pdf,
    agreement_sign,
    agreement_transition,
    agreement_update,
    amendment_create,
    document_store,
    progress_report_create,
    signed_copy_upload,
    signing_date_problem,
    transition_needs_reason,
)
from vielfalt.audit import audit_entries_for
from vielfalt.models import AuditEntry

from .conftest import MINIMAL_PDF, backdate, make_signed
from .factories import SignatoryFactory

pytestmark = pytest.mark.django_db

Status = Agreement.Status
ALL_PAIRS = [(a, b) for a in Status.values for b in Status.values if a != b]
EXPECTED_ALLOWED = {
    ("draft", "in_review"),
    ("in_review", "draft"),
    ("in_review", "ready_for_signature"),
    ("ready_for_signature", "in_review"),
    ("ready_for_signature", "signed"),
    ("signed", "ended"),
}


def test_the_transition_map_is_the_specified_one():
    assert {(a, b) for a, targets in ALLOWED_TRANSITIONS.items() for b in targets} == EXPECTED_ALLOWED


@pytest.mark.parametrize(("from_status", "to_status"), ALL_PAIRS)
def test_every_transition_is_allowed_or_refused_as_specified(staff, agreement, from_status, to_status):
    # An agreement that meets every condition for signing, so only the map decides.
    document_store(actor=staff, agreement=agreement, kind=AgreementDocument.Kind.SIGNED, content=MINIMAL_PDF)
    Agreement.objects.filter(pk=agreement.pk).update(status=from_status)
    agreement.refresh_from_db()
    if (from_status, to_status) in EXPECTED_ALLOWED:
        # Steps back and the step to "signed" need a reason, which goes into the audit log.
        reason = "Rückfrage des Partners" if transition_needs_reason(from_status, to_status) else ""
        if reason:
            with pytest.raises(ValidationError):
                agreement_transition(actor=staff, agreement=agreement, to_status=to_status)
        agreement_transition(actor=staff, agreement=agreement, to_status=to_status, reason=reason)
        agreement.refresh_from_db()
        assert agreement.status == to_status
        change = StatusChange.objects.get(agreement=agreement)
        assert (change.from_status, change.to_status, change.changed_by) == (from_status, to_status, staff)
        entry = audit_entries_for(agreement).first()
        expected = {"status": [from_status, to_status], **({"reason": reason} if reason else {})}
        assert (entry.actor, entry.changes) == (staff, expected)
    else:
        with pytest.raises(ValidationError):
            agreement_transition(actor=staff, agreement=agreement, to_status=to_status, reason="Versuch")
        agreement.refresh_from_db()
        assert agreement.status == from_status
        assert not StatusChange.objects.exists()


def test_unknown_status_is_refused(staff, agreement):
    with pytest.raises(ValidationError):
        agreement_transition(actor=staff, agreement=agreement, to_status="archived")


def _ready(agreement):
    Agreement.objects.filter(pk=agreement.pk).update(status=Status.READY_FOR_SIGNATURE)
    return backdate(agreement, datetime.date(2013, 1, 15))


def test_signing_needs_signatories_on_both_sides_a_date_and_the_signed_copy(staff, duisburg, ministry):
    agreement = _ready(agreement_create(actor=staff, partner=duisburg, state_party=ministry))
    with pytest.raises(ValidationError) as refused:
        agreement_sign(actor=staff, agreement=agreement, reason="Beide Seiten haben unterschrieben.")
    assert len(refused.value.messages) == 4

    SignatoryFactory(agreement=agreement, side=Side.PARTNER)
    SignatoryFactory(agreement=agreement, side=Side.STATE)
    Agreement.objects.filter(pk=agreement.pk).update(signed_on=datetime.date(2013, 3, 7))
    with pytest.raises(ValidationError) as refused:
        agreement_sign(actor=staff, agreement=agreement, reason="Beide Seiten haben unterschrieben.")
    assert len(refused.value.messages) == 1  # the signed copy is still missing

    signed_copy_upload(actor=staff, agreement=agreement, upload=ContentFile(MINIMAL_PDF, name="scan.pdf"))
    agreement_sign(actor=staff, agreement=agreement, reason="Beide Seiten haben unterschrieben.")
    agreement.refresh_from_db()
    assert agreement.status == Status.SIGNED


def test_a_signed_copy_uploaded_before_the_text_changed_does_not_sign_the_changed_text(staff, agreement):
    """The copy signed on paper holds the text as it was when it was uploaded: an edit after that (the form stays
    open while the agreement is ready for signature) would freeze a text that nobody signed."""
    _ready(agreement)
    signed_copy_upload(actor=staff, agreement=agreement, upload=ContentFile(MINIMAL_PDF, name="scan.pdf"))
    agreement_update(actor=staff, agreement=agreement, body="§ 1 Ein Satz, der nicht unterschrieben wurde.")
    with pytest.raises(ValidationError) as refused, translation.override("en"):
        agreement_sign(actor=staff, agreement=agreement, reason="Beide Seiten haben unterschrieben.")
    assert len(refused.value.messages) == 1
    assert refused.value.messages[0].startswith(
        "The agreement has changed since the signed copy was uploaded"
    )
    agreement.refresh_from_db()
    assert agreement.status == Status.READY_FOR_SIGNATURE

    # The copy signed on the text as it now is: signed.
    signed_copy_upload(actor=staff, agreement=agreement, upload=ContentFile(MINIMAL_PDF, name="scan2.pdf"))
    agreement_sign(actor=staff, agreement=agreement, reason="Beide Seiten haben unterschrieben.")
    agreement.refresh_from_db()
    assert agreement.status == Status.SIGNED


def test_signing_refused_with_partner_signatories_only(staff, duisburg, ministry):
    agreement = agreement_create(
        actor=staff,
        partner=duisburg,
        state_party=ministry,
        signed_on=datetime.date(2013, 3, 7),
        signatories=[{"side": Side.PARTNER, "name": "Sören Link", "function": "Oberbürgermeister"}],
    )
    _ready(agreement)
    signed_copy_upload(actor=staff, agreement=agreement, upload=ContentFile(MINIMAL_PDF, name="s.pdf"))
    with pytest.raises(ValidationError) as refused, translation.override("en"):
        agreement_sign(actor=staff, agreement=agreement, reason="Beide Seiten haben unterschrieben.")
    assert refused.value.messages == ["At least one signatory for the state is needed."]


def test_create_stores_children_in_order_and_audits(staff, duisburg, ministry):
    agreement = agreement_create(
        actor=staff,
        partner=duisburg,
        state_party=ministry,
        signatories=[
            {"side": Side.STATE, "name": "Guntram Schneider", "function": "Minister"},
            {"side": Side.PARTNER, "name": "Sören Link", "function": "Oberbürgermeister"},
        ],
        commitments=[{"field_of_action": "Befragung", "description": "Freiwillige Befragung"}],
    )
    assert agreement.title == "Vielfalt verbindet. Interkulturelle Öffnung als Erfolgsfaktor"
    assert list(agreement.signatories.values_list("name", "order")) == [
        ("Guntram Schneider", 0),
        ("Sören Link", 1),
    ]
    entry = audit_entries_for(agreement).get()
    assert (entry.action, entry.actor, entry.organisation) == (AuditEntry.Action.CREATE, staff, duisburg)


def test_update_syncs_children_and_records_changes(staff, agreement):
    keep, drop = list(agreement.commitments.all())
    agreement_update(
        actor=staff,
        agreement=agreement,
        place="Düsseldorf",
        commitments=[
            {"id": None, "field_of_action": "Neu", "description": "Neue Maßnahme", "order": 1},
            {"id": keep.pk, "field_of_action": keep.field_of_action, "description": "geändert", "order": 2},
        ],
    )
    assert list(agreement.commitments.values_list("field_of_action", flat=True)) == [
        "Neu",
        keep.field_of_action,
    ]
    assert not Commitment.objects.filter(pk=drop.pk).exists()
    entry = audit_entries_for(agreement).first()
    assert entry.changes["place"] == ["Duisburg", "Düsseldorf"]
    assert entry.changes["commitments"] == {"created": 1, "changed": 1, "deleted": 1}


def test_responsible_unit_must_belong_to_the_partner(staff, agreement, oberhausen):
    foreign_unit = oberhausen.units.create(name="Bürgerbüro")
    with pytest.raises(ValidationError):
        agreement_update(
            actor=staff,
            agreement=agreement,
            commitments=[{"field_of_action": "X", "description": "Y", "responsible_unit": foreign_unit}],
        )


@pytest.mark.parametrize("status", [Status.SIGNED, Status.ENDED])
def test_signed_content_is_frozen(staff, signed_agreement, status):
    Agreement.objects.filter(pk=signed_agreement.pk).update(status=status)
    with pytest.raises(AgreementFrozen):
        agreement_update(actor=staff, agreement=signed_agreement, body="Neuer Text")
    with pytest.raises(AgreementFrozen):
        agreement_update(actor=staff, agreement=signed_agreement, signatories=[])
    signed_agreement.refresh_from_db()
    assert signed_agreement.body == "Die Partner vereinbaren Folgendes."
    assert signed_agreement.signatories.count() == 3


def test_only_ministry_staff_change_agreements(hr_duisburg, agreement):
    with pytest.raises(PermissionDenied):
        agreement_update(actor=hr_duisburg, agreement=agreement, body="x")
    with pytest.raises(PermissionDenied):
        agreement_transition(actor=hr_duisburg, agreement=agreement, to_status=Status.IN_REVIEW)


def test_amendment_copies_the_signed_agreement_and_links_both(staff, signed_agreement):
    amendment = amendment_create(actor=staff, agreement=signed_agreement)
    assert amendment.amends == signed_agreement
    assert amendment.status == Status.DRAFT
    assert list(signed_agreement.amendments.all()) == [amendment]
    assert sorted(amendment.signatories.values_list("name", flat=True)) == sorted(
        signed_agreement.signatories.values_list("name", flat=True)
    )
    assert amendment.commitments.count() == 2
    assert amendment.signed_on is None
    assert audit_entries_for(signed_agreement).first().changes == {"amendment": amendment.pk}
    # The amendment is a draft like any other: editable.
    agreement_update(actor=staff, agreement=amendment, body="Ergänzung")


def test_a_draft_cannot_be_amended(staff, agreement):
    with pytest.raises(ValidationError):
        amendment_create(actor=staff, agreement=agreement)


def test_hr_of_the_partner_reports_progress(hr_duisburg, signed_agreement):
    commitment = signed_agreement.commitments.first()
    report = progress_report_create(
        actor=hr_duisburg,
        commitment=commitment,
        reported_on=datetime.date(2014, 1, 31),
        value_reached=Decimal(40),
        text="40 Beschäftigte geschult.",
    )
    assert report.reported_by == hr_duisburg
    entry = audit_entries_for(report).get()
    assert (entry.actor, entry.organisation) == (hr_duisburg, signed_agreement.partner)


def test_hr_of_another_organisation_and_ministry_do_not_report(hr_oberhausen, staff, signed_agreement):
    commitment = signed_agreement.commitments.first()
    for actor in (hr_oberhausen, staff):
        with pytest.raises(PermissionDenied):
            progress_report_create(
                actor=actor, commitment=commitment, reported_on=datetime.date(2014, 1, 1), value_reached=1
            )


def test_progress_only_on_signed_agreements(hr_duisburg, agreement):
    with pytest.raises(ValidationError):
        progress_report_create(
            actor=hr_duisburg,
            commitment=agreement.commitments.first(),
            reported_on=datetime.date(2014, 1, 1),
            value_reached=1,
        )


def test_document_versions_count_up_per_kind(staff, agreement):
    first, created = document_store(
        actor=staff, agreement=agreement, kind=AgreementDocument.Kind.GENERATED, content=b"%PDF-1 a"
    )
    second, _ = document_store(
        actor=staff, agreement=agreement, kind=AgreementDocument.Kind.GENERATED, content=b"%PDF-1 b"
    )
    again, created_again = document_store(
        actor=staff,
        agreement=agreement,
        kind=AgreementDocument.Kind.GENERATED,
        content=b"%PDF-1 b",
        skip_if_unchanged=True,
    )
    assert (first.version, second.version, created) == (1, 2, True)
    assert (again, created_again) == (second, False)

    assert first.sha256 == hashlib.sha256(b"%PDF-1 a").hexdigest()
    assert second.file.read() == b"%PDF-1 b"


def test_progress_status_on_track_behind_done(agreement, hr_duisburg):
    today = datetime.date(2015, 3, 7)
    commitment = agreement.commitments.first()
    commitment.target_value = Decimal(100)
    commitment.due_on = datetime.date(2017, 3, 7)  # four years after signing
    commitment.save()
    make_signed(agreement)  # after the commitment is written: a signed agreement's commitments do not change
    assert commitment.progress(today) == Commitment.Progress.BEHIND  # half the time gone, nothing reported
    progress_report_create(
        actor=hr_duisburg, commitment=commitment, reported_on=datetime.date(2015, 3, 1), value_reached=30
    )
    assert commitment.progress(today) == Commitment.Progress.ON_TRACK
    progress_report_create(
        actor=hr_duisburg, commitment=commitment, reported_on=datetime.date(2015, 3, 6), value_reached=100
    )
    assert commitment.progress(today) == Commitment.Progress.DONE
    commitment.target_value = Decimal(200)
    assert commitment.progress(datetime.date(2017, 4, 1)) == Commitment.Progress.BEHIND


# --- Plausible signing ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signed_on", "message"),
    [
        (datetime.date(1901, 1, 1), "before the agreement was created"),
        (datetime.date(2012, 12, 31), "before the agreement was created"),
        ("tomorrow", "in the future"),
    ],
)
def test_signing_with_a_date_outside_creation_and_today_is_refused(staff, agreement, signed_on, message):
    if signed_on == "tomorrow":
        signed_on = timezone.localdate() + datetime.timedelta(days=1)
    signed_copy_upload(
        actor=staff, agreement=_ready(agreement), upload=ContentFile(MINIMAL_PDF, name="scan.pdf")
    )
    Agreement.objects.filter(pk=agreement.pk).update(signed_on=signed_on)
    agreement.refresh_from_db()
    with pytest.raises(ValidationError) as refused, translation.override("en"):
        agreement_sign(actor=staff, agreement=agreement, reason="Unterschrieben")
    assert any(message in text for text in refused.value.messages), refused.value.messages
    agreement.refresh_from_db()
    assert agreement.status == Status.READY_FOR_SIGNATURE


def test_signing_on_the_day_of_creation_and_today_is_accepted(staff, agreement):
    for day in (datetime.date(2013, 1, 15), timezone.localdate()):
        assert signing_date_problem(agreement, day) is None


def test_the_unsigned_generated_pdf_is_refused_as_signed_copy(staff, agreement):
    _ready(agreement)
    generated, _created = agreement_render_pdf(agreement_id=agreement.pk, actor_id=staff.pk)
    with pytest.raises(ValidationError) as refused, translation.override("en"):
        signed_copy_upload(
            actor=staff,
            agreement=agreement,
            upload=ContentFile(generated.file.read(), name="unterschrieben.pdf"),
        )
    assert "unsigned PDF the portal generated (version 1)" in refused.value.messages[0]
    # A sealed PDF of the portal that is not stored as a version (e.g. rendered for another agreement) too.
    with pytest.raises(ValidationError) as refused, translation.override("en"):
        signed_copy_upload(
            actor=staff,
            agreement=agreement,
            upload=ContentFile(agreement_pdf_bytes(agreement), name="unterschrieben.pdf"),
        )
    assert "generated and sealed" in refused.value.messages[0]
    assert not agreement.documents.filter(kind=AgreementDocument.Kind.SIGNED).exists()


@pytest.mark.parametrize(
    "content",
    [
        b"%PDF-1.4\n%%EOF\n",  # the magic bytes of a PDF, nothing inside
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n",  # a PDF without pages
        b"PK\x03\x04 a zip file named .pdf",
    ],
)
def test_a_signed_copy_must_be_a_pdf_with_pages(staff, agreement, content):
    with pytest.raises(ValidationError) as refused:
        signed_copy_upload(
            actor=staff, agreement=_ready(agreement), upload=ContentFile(content, name="s.pdf")
        )
    assert refused.value.error_list[0].code == "not_pdf"


def _pdf_of_pages(count: int) -> bytes:
    import io

    import pikepdf

    pdf = pikepdf.new()
    for _page in range(count):
        pdf.add_blank_page()
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def test_a_signed_copy_has_at_most_the_pages_a_signed_agreement_can_have(staff, agreement):
    """A small file can hold a hundred thousand pages (6.5 MB): counting them held the upload for seconds, and
    every view of the agreement page then parsed it again for its seal state (10 s each)."""
    _ready(agreement)
    with pytest.raises(ValidationError) as refused, translation.override("en"):
        signed_copy_upload(
            actor=staff, agreement=agreement, upload=ContentFile(_pdf_of_pages(501), name="scan.pdf")
        )
    assert refused.value.error_list[0].code == "too_many_pages"
    assert refused.value.messages == [
        "The PDF has more than 500 pages. Please upload the scan of the signed agreement alone."
    ]
    assert not agreement.documents.exists()
    signed_copy_upload(
        actor=staff, agreement=agreement, upload=ContentFile(_pdf_of_pages(500), name="scan.pdf")
    )
    assert agreement.documents.filter(kind=AgreementDocument.Kind.SIGNED).count() == 1


def _encrypted_pdf(*, user: str) -> bytes:
    import io

    import pikepdf

    pdf = pikepdf.new()
    pdf.add_blank_page()
    out = io.BytesIO()
    pdf.save(out, encryption=pikepdf.Encryption(owner="owner-secret", user=user))
    return out.getvalue()


@pytest.mark.parametrize("user_password", ["", "reader-secret"])
def test_an_encrypted_signed_copy_is_refused_even_without_a_password_to_open_it(
    staff, agreement, user_password
):
    """PDF/A forbids encryption: an archived signed copy must not be encrypted. One with an owner password and
    an empty user password opens without asking, and was kept."""
    _ready(agreement)
    with pytest.raises(ValidationError) as refused, translation.override("en"):
        signed_copy_upload(
            actor=staff,
            agreement=agreement,
            upload=ContentFile(_encrypted_pdf(user=user_password), name="s.pdf"),
        )
    assert refused.value.error_list[0].code == "encrypted"
    assert refused.value.messages[0] in (
        "The PDF is protected by a password. Please upload it without protection.",
        "The PDF is encrypted (protected against changes or printing). A signed copy is archived and must not be "
        "encrypted: please upload it without protection.",
    )
    assert not agreement.documents.exists()


def test_steps_back_need_a_reason_which_the_audit_log_keeps(staff, agreement):
    Agreement.objects.filter(pk=agreement.pk).update(status=Status.IN_REVIEW)
    with pytest.raises(ValidationError):
        agreement_transition(actor=staff, agreement=agreement, to_status=Status.DRAFT, reason="   ")
    agreement_transition(actor=staff, agreement=agreement, to_status=Status.DRAFT, reason="Text überarbeiten")
    assert audit_entries_for(agreement).first().changes["reason"] == "Text überarbeiten"


def test_a_documents_seal_check_is_made_once_and_kept_while_file_and_certificate_are_the_same(
    client, staff, agreement, monkeypatch, settings, tmp_path
):
    """The agreement page showed every document's seal state by parsing the stored file on every view: a
    signed copy with 200,000 objects cost about 7 s per view, for the ministry and HR alike. The answer is kept
    with the row; a file changed where it is kept, or a new certificate of the portal, is checked afresh."""
    from django.urls import reverse

    from partnerships import services
    from vielfalt.seal import create_self_signed_seal

    _ready(agreement)
    generated, _created = agreement_render_pdf(agreement_id=agreement.pk, actor_id=staff.pk)
    checks = []
    real_check = services.check_pdf
    monkeypatch.setattr(services, "check_pdf", lambda data: checks.append(len(data)) or real_check(data))
    client.force_login(staff)

    def state() -> str:
        page = client.get(reverse("partnerships:detail", args=[agreement.pk])).content.decode()
        return re.search(r'class="badge [^"]*seal-state" data-state="(\w+)"', page).group(1)

    assert [state(), state(), state()] == ["valid"] * 3
    assert len(checks) == 1
    stored = generated.file.storage.path(generated.file.name)
    sealed = open(stored, "rb").read()  # noqa: SIM115, PTH123
    changed = bytearray(sealed)
    changed[len(changed) // 2] ^= 1
    with open(stored, "wb") as file:  # noqa: PTH123  (changed where it is kept, not through the portal)
        file.write(changed)
    assert [state(), state()] == ["changed", "changed"]
    assert len(checks) == 3  # never kept for a file that is not the stored document
    with open(stored, "wb") as file:  # noqa: PTH123
        file.write(sealed)
    assert state() == "valid"
    assert len(checks) == 3
    settings.SEAL_PKCS12_PATH = str(create_self_signed_seal(tmp_path / "new.p12"))
    settings.SEAL_PKCS12_PASSWORD = ""
    assert [state(), state()] == ["foreign", "foreign"]
    assert len(checks) == 4
