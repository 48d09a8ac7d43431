from django.contrib import admin

from .models import (
    Agreement,
    AgreementDocument,
    AnonymisedProcedure,
    Commitment,
    ProgressReport,
    Signatory,
    StatusChange,
)


class SignatoryInline(admin.TabularInline):
    model = Signatory
    extra = 0


class CommitmentInline(admin.StackedInline):
    model = Commitment
    extra = 0


class DocumentInline(admin.TabularInline):
    model = AgreementDocument
    extra = 0
    readonly_fields = ["kind", "version", "file", "sha256", "size", "created_by", "created_at"]
    can_delete = False


class StatusChangeInline(admin.TabularInline):
    model = StatusChange
    extra = 0
    readonly_fields = ["from_status", "to_status", "changed_by", "changed_at"]
    can_delete = False


@admin.register(Agreement)
class AgreementAdmin(admin.ModelAdmin):
    list_display = ["title", "partner", "status", "signed_on", "valid_until"]
    list_filter = ["status", "partner__kind"]
    search_fields = ["title", "partner__name", "signatories__name"]
    date_hierarchy = "signed_on"
    raw_id_fields = ["amends"]
    inlines = [SignatoryInline, CommitmentInline, DocumentInline, StatusChangeInline]


@admin.register(ProgressReport)
class ProgressReportAdmin(admin.ModelAdmin):
    list_display = ["commitment", "reported_on", "value_reached", "reported_by"]
    list_select_related = ["commitment", "reported_by"]


@admin.register(AnonymisedProcedure)
class AnonymisedProcedureAdmin(admin.ModelAdmin):
    list_display = ["post", "organisation", "held_on", "method", "applications", "invited", "posts_filled"]
    list_filter = ["method", "organisation"]
    list_select_related = ["organisation"]
    search_fields = ["post", "organisation__name"]
    date_hierarchy = "held_on"
    raw_id_fields = ["org_unit", "created_by"]
