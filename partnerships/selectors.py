from django.contrib.contenttypes.models import ContentType
from django.db.models import Q

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
    reports (the caller read them), newest first. The entries carry the actor's name: the actor's user row is
    not read."""
    entries = Q(content_type=ContentType.objects.get_for_model(Agreement), object_id=str(agreement.pk))
    if documents:
        entries |= Q(
            content_type=ContentType.objects.get_for_model(AgreementDocument),
            object_id__in=[str(document.pk) for document in documents],
        )
    if reports:
        entries |= Q(
            content_type=ContentType.objects.get_for_model(ProgressReport),
            object_id__in=[str(report.pk) for report in reports],
        )
    return AuditEntry.objects.filter(entries)[:limit]
