"""The database keeps a signed agreement as it was signed, whatever path writes (partnerships/triggers.py): raw
SQL here, the way a shell, a migration or a forgotten admin form would."""

import pytest
from django.db import DatabaseError, connection, transaction

from partnerships.models import Agreement, AgreementDocument, Commitment, Signatory
from partnerships.services import document_seal_check, document_store
from vielfalt.permissions import SYSTEM

from .conftest import MINIMAL_PDF, make_signed

pytestmark = pytest.mark.django_db


def run(sql: str, *params) -> int:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def refused(sql: str, *params) -> bool:
    try:
        run(sql, *params)
    except DatabaseError as error:
        assert "a signed agreement cannot change" in str(error)
        return True
    return False


@pytest.mark.parametrize(
    "assignment",
    [
        "title = 'Eine andere Vereinbarung'",
        "body = 'Ein anderer Text.'",
        "signed_on = '2020-01-01'",
        "valid_until = '2099-12-31'",
        "status = 'draft'",
        "partner_id = state_party_id, state_party_id = partner_id",
    ],
)
def test_a_signed_agreements_content_cannot_change(postgres, signed_agreement, assignment):
    before = Agreement.objects.values().get(pk=signed_agreement.pk)
    assert refused(f"UPDATE partnerships_agreement SET {assignment} WHERE id = %s", signed_agreement.pk)
    assert Agreement.objects.values().get(pk=signed_agreement.pk) == before


def test_the_life_cycle_still_ends_a_signed_agreement_and_nothing_reopens_it(postgres, signed_agreement):
    pk = signed_agreement.pk
    assert (
        run("UPDATE partnerships_agreement SET status = 'ended', updated_at = now() WHERE id = %s", pk) == 1
    )
    assert refused("UPDATE partnerships_agreement SET status = 'signed' WHERE id = %s", pk)
    assert refused("UPDATE partnerships_agreement SET body = 'Neu.' WHERE id = %s", pk)
    assert Agreement.objects.get(pk=pk).status == Agreement.Status.ENDED


def test_a_draft_changes_freely(postgres, agreement):
    assert run("UPDATE partnerships_agreement SET body = 'Neu.' WHERE id = %s", agreement.pk) == 1
    assert run("UPDATE partnerships_signatory SET name = 'Neu' WHERE agreement_id = %s", agreement.pk) == 3
    assert run("DELETE FROM partnerships_commitment WHERE agreement_id = %s", agreement.pk) == 2


def test_a_signed_agreement_is_not_deleted(postgres, signed_agreement):
    assert refused("DELETE FROM partnerships_agreement WHERE id = %s", signed_agreement.pk)
    assert Agreement.objects.filter(pk=signed_agreement.pk).exists()


def test_signatories_and_commitments_of_a_signed_agreement_stay(postgres, signed_agreement):
    pk = signed_agreement.pk
    signatories = list(Signatory.objects.filter(agreement=signed_agreement).values())
    commitments = list(Commitment.objects.filter(agreement=signed_agreement).values())
    assert refused("UPDATE partnerships_signatory SET name = 'Jemand' WHERE agreement_id = %s", pk)
    assert refused("DELETE FROM partnerships_signatory WHERE agreement_id = %s", pk)
    assert refused(
        'INSERT INTO partnerships_signatory (agreement_id, side, name, function, "order") '
        "VALUES (%s, 'state', 'Jemand', 'Minister', 9)",
        pk,
    )
    assert refused("UPDATE partnerships_commitment SET description = 'Weniger.' WHERE agreement_id = %s", pk)
    assert refused("DELETE FROM partnerships_commitment WHERE agreement_id = %s", pk)
    # Moving a row of a draft into the signed agreement is an insert into it as well.
    draft_signatory = Signatory.objects.create(
        agreement=Agreement.objects.create(
            partner=signed_agreement.partner, state_party=signed_agreement.state_party
        ),
        side="state",
        name="Entwurf",
        function="Minister",
    )
    assert refused(
        "UPDATE partnerships_signatory SET agreement_id = %s WHERE id = %s", pk, draft_signatory.pk
    )
    assert list(Signatory.objects.filter(agreement=signed_agreement).values()) == signatories
    assert list(Commitment.objects.filter(agreement=signed_agreement).values()) == commitments


def test_what_the_signed_text_does_not_hold_may_still_change(postgres, agreement, duisburg):
    """Where the portal computes a value from is its own setting (the PDF does not show it); a deleted org
    unit leaves the commitments it was responsible for without one (SET_NULL)."""
    unit = duisburg.units.create(name="Personalamt")
    agreement.commitments.update(responsible_unit=unit)
    make_signed(agreement)
    assert (
        run(
            "UPDATE partnerships_commitment SET indicator_source = 'trained_trainees' WHERE agreement_id = %s",
            agreement.pk,
        )
        == 2
    )
    other = duisburg.units.create(name="Hauptamt")
    assert refused(
        "UPDATE partnerships_commitment SET responsible_unit_id = %s WHERE agreement_id = %s",
        other.pk,
        agreement.pk,
    )
    unit.delete()
    assert list(agreement.commitments.values_list("responsible_unit", flat=True)) == [None, None]


@pytest.mark.parametrize("status", ["signed", "ended"])
@pytest.mark.parametrize(
    "assignment",
    [
        "sha256 = repeat('0', 64)",
        "file = 'agreements/1/signed-v1.pdf'",
        "kind = 'generated'",
        "version = 7",
        "size = size + 1",
        "created_at = now() - interval '1 year'",
        "created_by_id = (SELECT max(id) FROM vielfalt_user)",
    ],
)
def test_the_record_of_what_was_signed_stays(postgres, signed_agreement, staff, status, assignment):
    """The documents of a signed or ended agreement (the generated PDF, the uploaded scan: file, SHA-256, who
    stored which version when) are the record of what was signed: neither changed nor deleted."""
    Agreement.objects.filter(pk=signed_agreement.pk).update(status=status)
    before = list(AgreementDocument.objects.filter(agreement=signed_agreement).values())
    assert refused(
        f"UPDATE partnerships_agreementdocument SET {assignment} WHERE agreement_id = %s", signed_agreement.pk
    )
    assert refused("DELETE FROM partnerships_agreementdocument WHERE agreement_id = %s", signed_agreement.pk)
    assert list(AgreementDocument.objects.filter(agreement=signed_agreement).values()) == before


def test_a_drafts_document_is_not_moved_into_a_signed_agreement_nor_out_of_it(postgres, signed_agreement):
    draft = Agreement.objects.create(
        partner=signed_agreement.partner, state_party=signed_agreement.state_party
    )
    document, _new = document_store(
        actor=SYSTEM, agreement=draft, kind=AgreementDocument.Kind.GENERATED, content=MINIMAL_PDF
    )
    signed = signed_agreement.documents.get()
    assert refused(
        "UPDATE partnerships_agreementdocument SET agreement_id = %s WHERE id = %s",
        signed_agreement.pk,
        document.pk,
    )
    assert refused(
        "UPDATE partnerships_agreementdocument SET agreement_id = %s WHERE id = %s", draft.pk, signed.pk
    )
    assert (
        run("DELETE FROM partnerships_agreementdocument WHERE id = %s", document.pk) == 1
    )  # a draft's may go


def test_a_signed_agreements_document_keeps_its_seal_check_and_takes_a_new_version(
    postgres, signed_agreement
):
    """What the portal itself writes: the result of the seal check on first view (partnerships.0012), and a
    replaced scan as the next version (versioned and audited)."""
    document = signed_agreement.documents.get()
    assert (
        run(
            "UPDATE partnerships_agreementdocument SET seal_state = 'none', seal_signed_at = now(), "
            "seal_timestamped = true, seal_checked_with = 'basis' WHERE id = %s",
            document.pk,
        )
        == 1
    )
    AgreementDocument.objects.filter(pk=document.pk).update(seal_checked_with="")
    document.refresh_from_db()
    document_seal_check(document)  # stores the check where the portal has a seal basis
    replaced, new = document_store(
        actor=SYSTEM,
        agreement=signed_agreement,
        kind=AgreementDocument.Kind.SIGNED,
        content=MINIMAL_PDF + b" ",
    )
    assert new and replaced.version == 2
