from django.contrib.contenttypes.models import ContentType

from vielfalt.models import AuditEntry

from .models import Agreement, AgreementDocument, Commitment, ProgressReport, Signatory

# The agreement page's parts as raw statements: a handful of rows each, where compiling an ORM query costs
# several times what reading the rows does. `Model.objects.raw()` still gives model instances (their
# methods and the fields' converters, also on SQLite); the orderings are the models' Meta orderings.
SIGNATORIES = (
    'SELECT id, side, name, function FROM partnerships_signatory WHERE agreement_id = %s ORDER BY "order", id'
)
AMENDMENTS = "SELECT id, title, status FROM partnerships_agreement WHERE amends_id = %s ORDER BY created_at DESC, id DESC"
# With each commitment its latest progress report (`latest_*`; Commitment.latest_report's ordering).
COMMITMENTS = (
    "SELECT c.id, c.agreement_id, c.field_of_action, c.description, c.indicator, c.target_value, c.unit, c.due_on,"
    ' c.responsible_unit_id, c.indicator_source, c."order", u.name AS responsible_unit_name,'
    " r.id AS latest_id, r.reported_on AS latest_reported_on, r.value_reached AS latest_value_reached,"
    " r.text AS latest_text"
    " FROM partnerships_commitment c LEFT JOIN vielfalt_orgunit u ON u.id = c.responsible_unit_id"
    " LEFT JOIN partnerships_progressreport r ON r.id = ("
    "SELECT l.id FROM partnerships_progressreport l WHERE l.commitment_id = c.id"
    " ORDER BY l.reported_on DESC, l.id DESC LIMIT 1)"
    ' WHERE c.agreement_id = %s ORDER BY c."order", c.id'
)
DOCUMENTS = (
    "SELECT d.id, d.agreement_id, d.kind, d.version, d.file, d.sha256, d.size, d.created_by_id, d.created_at,"
    " d.seal_state, d.seal_signed_at, d.seal_timestamped, d.seal_checked_with, d.archive_state,"
    " d.archive_checked_at, u.username AS created_by_username"
    " FROM partnerships_agreementdocument d LEFT JOIN vielfalt_user u ON u.id = d.created_by_id"
    " WHERE d.agreement_id = %s ORDER BY d.kind, d.version DESC"
)


def agreement_parts(agreement_id: int) -> dict[str, list]:
    """Signatories, amendments (id, title, status), commitments (with `responsible_unit_name` and their
    latest progress report as `latest`, a ProgressReport or None) and documents (with `created_by_username`)
    of an agreement."""
    params = [agreement_id]
    commitments = list(Commitment.objects.raw(COMMITMENTS, params))
    # The joined report's columns are no model fields of Commitment: raw() leaves them as the database gave
    # them (SQLite: text and float), the fields' to_python() makes date and Decimal of them.
    reported_on = ProgressReport._meta.get_field("reported_on").to_python
    value_reached = ProgressReport._meta.get_field("value_reached").to_python
    for commitment in commitments:
        commitment.latest = None
        if commitment.latest_id is not None:
            commitment.latest = ProgressReport(
                id=commitment.latest_id,
                commitment_id=commitment.pk,
                reported_on=reported_on(commitment.latest_reported_on),
                value_reached=value_reached(commitment.latest_value_reached),
                text=commitment.latest_text,
            )
    return {
        "signatories": list(Signatory.objects.raw(SIGNATORIES, params)),
        "amendments": list(Agreement.objects.raw(AMENDMENTS, params)),
        "commitments": commitments,
        "documents": list(AgreementDocument.objects.raw(DOCUMENTS, params)),
    }


def agreement_history(agreement: Agreement, *, limit: int = 50) -> list[AuditEntry]:
    """The audit log of an agreement together with that of its documents (uploads, downloads) and progress
    reports, newest first. The entries carry the actor's name: the actor's user row is not read."""
    type_id = ContentType.objects.get_for_model
    # Raw like the parts above (the `audit_object` index serves each branch); AuditEntry's Meta ordering.
    sql = (
        "SELECT * FROM vielfalt_auditentry WHERE (content_type_id = %s AND object_id = %s)"
        " OR (content_type_id = %s AND object_id IN ("
        "SELECT CAST(d.id AS TEXT) FROM partnerships_agreementdocument d WHERE d.agreement_id = %s))"
        " OR (content_type_id = %s AND object_id IN ("
        "SELECT CAST(r.id AS TEXT) FROM partnerships_progressreport r"
        " JOIN partnerships_commitment c ON c.id = r.commitment_id WHERE c.agreement_id = %s))"
        " ORDER BY at DESC, id DESC LIMIT %s"
    )
    params = [
        type_id(Agreement).pk,
        str(agreement.pk),
        type_id(AgreementDocument).pk,
        agreement.pk,
        type_id(ProgressReport).pk,
        agreement.pk,
        limit,
    ]
    return list(AuditEntry.objects.raw(sql, params))
