from django.contrib import admin

from vielfalt.admin import AuditedModelAdmin, TabularInline, ViewOnlyAdminMixin

from .forms import responsible_units
from .models import (
    Agreement,
    AgreementDocument,
    AnonymisedProcedure,
    Commitment,
    ExpiryNotice,
    ProgressReport,
    Signatory,
    StatusChange,
)


class FrozenWithAgreementMixin:
    """Rows of a signed agreement are shown, never added, changed or deleted (the database refuses it too)."""

    def has_add_permission(self, request, obj=None):
        return not (obj and obj.is_frozen) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return not (obj and obj.is_frozen) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not (obj and obj.is_frozen) and super().has_delete_permission(request, obj)


class SignatoryInline(FrozenWithAgreementMixin, TabularInline):
    model = Signatory
    extra = 0


class CommitmentInline(FrozenWithAgreementMixin, admin.StackedInline):
    model = Commitment
    extra = 0
    readonly_fields = ["continues"]  # set by amendment_create; a select of every commitment otherwise

    def get_formset(self, request, obj=None, **kwargs):
        """The responsible unit is one of the agreement's partner's (as the portal's form and its service
        require): the select listed every org unit of every partner. A new agreement offers none until it is
        saved with its partner."""
        formset = super().get_formset(request, obj, **kwargs)
        field = formset.form.base_fields.get("responsible_unit")
        if field is not None:
            field.queryset = responsible_units(obj.partner_id if obj is not None else None)
        return formset


class DocumentInline(TabularInline):
    model = AgreementDocument
    extra = 0
    readonly_fields = [
        "kind",
        "version",
        "file",
        "sha256",
        "size",
        "created_by",
        "created_at",
        "archive_state",
        "archive_checked_at",
    ]
    can_delete = False


class StatusChangeInline(TabularInline):
    model = StatusChange
    extra = 0
    readonly_fields = ["from_status", "to_status", "changed_by", "changed_at"]
    can_delete = False


class ExpiryNoticeInline(TabularInline):
    """The notices to ministry staff that the agreement ends soon, and one whose e-mail did not get through
    (partnerships.tasks.ExpiryNoticeMailTask): the administrator can tell them another way."""

    model = ExpiryNotice
    extra = 0
    fields = readonly_fields = ["days", "sent_at", "mail_failed_at"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Agreement)
class AgreementAdmin(AuditedModelAdmin):
    """A signed (or ended) agreement is read-only here: its content changes only through an amendment, and the
    database refuses anything else (partnerships/triggers.py). The status moves only through the portal's life
    cycle (checks, status change record), never by editing the field."""

    list_display = ["title", "partner", "status", "signed_on", "valid_until"]
    list_filter = ["status", "partner__kind"]
    search_fields = ["title", "partner__name", "signatories__name"]
    date_hierarchy = "signed_on"
    raw_id_fields = ["amends"]
    readonly_fields = ["status"]
    inlines = [SignatoryInline, CommitmentInline, DocumentInline, StatusChangeInline, ExpiryNoticeInline]

    def has_change_permission(self, request, obj=None):
        return not (obj and obj.is_frozen) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not (obj and obj.is_frozen) and super().has_delete_permission(request, obj)

    def audit_organisation(self, obj):
        return obj.partner


@admin.register(ProgressReport)
class ProgressReportAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    """Read-only: a report is the partner's own statement of what came of a commitment of a signed agreement
    (progress_report_create). Here its figure could be raised afterwards, still under the partner's name, a
    report deleted, or one added for a draft; the programme's figures add them up."""

    list_display = ["commitment", "reported_on", "value_reached", "reported_by"]
    list_select_related = ["commitment", "reported_by"]

    def audit_organisation(self, obj):
        return obj.commitment.agreement.partner


@admin.register(AnonymisedProcedure)
class AnonymisedProcedureAdmin(AuditedModelAdmin):
    list_display = ["post", "organisation", "held_on", "method", "applications", "invited", "posts_filled"]
    list_filter = ["method", "organisation"]
    list_select_related = ["organisation"]
    search_fields = ["post", "organisation__name"]
    date_hierarchy = "held_on"
    raw_id_fields = ["org_unit", "created_by"]
