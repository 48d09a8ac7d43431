from django.contrib import admin

from vielfalt.admin import AuditedModelAdmin, TabularInline

from .models import (
    Answer,
    Attachment,
    ContactPerson,
    Meeting,
    PartnerProfile,
    PracticeEntry,
    Question,
    Registration,
)


@admin.register(PartnerProfile)
class PartnerProfileAdmin(AuditedModelAdmin):
    list_display = ["organisation", "open_for_visits", "updated_at"]
    search_fields = ["organisation__name"]


@admin.register(ContactPerson)
class ContactPersonAdmin(AuditedModelAdmin):
    list_display = ["name", "function", "organisation", "consent_given_at"]
    search_fields = ["name", "organisation__name"]


class AttachmentInline(TabularInline):
    model = Attachment
    extra = 0
    readonly_fields = ["name", "kind", "size", "sha256", "uploaded_by", "uploaded_at"]
    exclude = ["file"]
    can_delete = False


@admin.register(PracticeEntry)
class PracticeEntryAdmin(AuditedModelAdmin):
    list_display = ["title", "organisation", "field_of_action", "status", "published_at"]
    list_filter = ["status", "field_of_action"]
    search_fields = ["title", "organisation__name"]
    readonly_fields = ["status", "published_at", "created_by"]
    inlines = [AttachmentInline]


class RegistrationInline(TabularInline):
    model = Registration
    extra = 0
    readonly_fields = ["organisation", "name", "email", "status", "created_at"]
    can_delete = False


@admin.register(Meeting)
class MeetingAdmin(AuditedModelAdmin):
    list_display = ["title", "host", "starts_at", "capacity", "cancelled_at"]
    list_filter = ["kind"]
    search_fields = ["title", "host__name"]
    inlines = [RegistrationInline]


class AnswerInline(TabularInline):
    model = Answer
    extra = 0


@admin.register(Question)
class QuestionAdmin(AuditedModelAdmin):
    list_display = ["title", "organisation", "created_at"]
    search_fields = ["title"]
    inlines = [AnswerInline]
