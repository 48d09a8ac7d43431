from django.contrib.contenttypes.models import ContentType
from django.db.models import Q

from vielfalt.audit import audit_entries_for
from vielfalt.models import AuditEntry

from .models import Agreement, AgreementDocument, ProgressReport


def agreement_history(
    agreement: Agreement,
    *,
    documents: list[AgreementDocument],
    reports: list[ProgressReport],
    limit: int = 50,
):
    """The audit log of an agreement together with that of its documents (uploads, downloads) and progress
    reports (the caller read them), newest first."""
    document_ids = [str(document.pk) for document in documents]
    report_ids = [str(report.pk) for report in reports]
    related = Q()
    if document_ids:
        related |= Q(
            content_type=ContentType.objects.get_for_model(AgreementDocument), object_id__in=document_ids
        )
    if report_ids:
        related |= Q(content_type=ContentType.objects.get_for_model(ProgressReport), object_id__in=report_ids)
    entries = audit_entries_for(agreement)
    if related:
        entries = AuditEntry.objects.filter(
            Q(content_type=ContentType.objects.get_for_model(Agreement), object_id=str(agreement.pk))
            | related
        ).select_related("actor")
    return entries[:limit]
