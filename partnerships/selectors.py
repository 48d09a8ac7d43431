from django.contrib.contenttypes.models import ContentType

from vielfalt.models import AuditEntry

from .models import Agreement, AgreementDocument, Commitment, ProgressReport, Signatory

# The agreement page's parts as raw statements: a handful of rows each, where compiling an ORM query costs
# several times what reading the rows does. `Model.objects.raw()` still gives model instances (their
# methods and the fields' converters, also on SQLite); the orderings are the models' Meta orderings.
SIGNATORIES = 'SELECT id, side, name, function FROM partnerships_signatory WHERE agreement_id = %s ORDER BY "order", id'
AMENDMENTS = "SELECT id, title, status FROM partnerships_agreement WHERE amends_id = %s ORDER BY created_at DESC, id DESC"
COMMITMENTS = (
    "SELECT c.id, c.agreement_id, c.field_of_action, c.description, c.indicator, c.target_value, c.unit, c.due_on,"
    ' c.responsible_unit_id, c.indicator_source, c."order", u.name AS responsible_unit_name'
    " FROM partnerships_commitment c LEFT JOIN vielfalt_orgunit u ON u.id = c.responsible_unit_id"
    ' WHERE c.agreement_id = %s ORDER BY c."order", c.id'
)
REPORTS = (
    "SELECT r.id, r.commitment_id, r.reported_on, r.value_reached, r.text FROM partnerships_progressreport r"
    " JOIN partnerships_commitment c ON c.id = r.commitment_id WHERE c.agreement_id = %s"
    " ORDER BY r.reported_on DESC, r.id DESC"
)
DOCUMENTS = (
    "SELECT d.id, d.agreement_id, d.kind, d.version, d.file, d.sha256, d.size, d.created_by_id, d.created_at,"
    " u.username AS created_by_username"
    " FROM partnerships_agreementdocument d LEFT JOIN vielfalt_user u ON u.id = d.created_by_id"
    " WHERE d.agreement_id = %s ORDER BY d.kind, d.version DESC"
)


def agreement_parts(agreement_id: int) -> dict[str, list]:
    """Signatories, amendments (id, title, status), commitments (with `responsible_unit_name`), progress
    reports (id, commitment, date, value, text) and documents (with `created_by_username`) of an agreement."""
    params = [agreement_id]
    commitments = list(Commitment.objects.raw(COMMITMENTS, params))
    return {
        "signatories": list(Signatory.objects.raw(SIGNATORIES, params)),
        "amendments": list(Agreement.objects.raw(AMENDMENTS, params)),
        "commitments": commitments,
        "reports": list(ProgressReport.objects.raw(REPORTS, params)) if commitments else [],
        "documents": list(AgreementDocument.objects.raw(DOCUMENTS, params)),
    }


def agreement_history(
    agreement: Agreement,
    *,
    documents: list[AgreementDocument],
    reports: list[ProgressReport],
    limit: int = 50,
) -> list[AuditEntry]:
    """The audit log of an agreement together with that of its documents (uploads, downloads) and progress
    reports (the caller read them), newest first. The entries carry the actor's name: the actor's user row is
    not read."""
    conditions = ["(content_type_id = %s AND object_id = %s)"]
    params: list = [ContentType.objects.get_for_model(Agreement).pk, str(agreement.pk)]
    for model, objects in ((AgreementDocument, documents), (ProgressReport, reports)):
        if objects:
            conditions.append(f"(content_type_id = %s AND object_id IN ({', '.join(['%s'] * len(objects))}))")
            params += [ContentType.objects.get_for_model(model).pk, *(str(obj.pk) for obj in objects)]
    # Raw like the parts above (the `audit_object` index serves each branch); AuditEntry's Meta ordering.
    sql = f"SELECT * FROM vielfalt_auditentry WHERE {' OR '.join(conditions)} ORDER BY at DESC, id DESC LIMIT %s"
    return list(AuditEntry.objects.raw(sql, [*params, limit]))
