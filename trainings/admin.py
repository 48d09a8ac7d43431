from django.contrib import admin

from vielfalt.admin import AuditedModelAdmin, TabularInline

from .models import Certificate, Course, CourseDate, CourseParticipant, Enrolment


class CourseParticipantInline(TabularInline):
    model = CourseParticipant
    extra = 1
    # A plain select, named by its column (TabularInline): select2's box of an autocomplete field has no
    # accessible name (axe: aria-input-field-name), and a select finds an organisation by typing its name.


@admin.register(Course)
class CourseAdmin(AuditedModelAdmin):
    list_display = ["title", "organiser", "duration_hours", "format", "language"]
    list_filter = ["format", "language", "organiser"]
    search_fields = ["title", "description"]
    inlines = [CourseParticipantInline]


@admin.register(CourseDate)
class CourseDateAdmin(AuditedModelAdmin):
    list_display = ["course", "starts_at", "capacity", "enrolment_deadline", "cancelled_at"]
    list_filter = ["course", "target_group"]
    date_hierarchy = "starts_at"
    list_select_related = ["course"]

    def audit_organisation(self, obj):
        return obj.course.organiser


@admin.register(Enrolment)
class EnrolmentAdmin(AuditedModelAdmin):
    """Read-only: enrolments change only through the portal's services (locks, waiting list, audit)."""

    list_display = ["employee", "course_date", "organisation", "status", "attendance", "created_at"]
    list_filter = ["status", "attendance", "organisation"]
    search_fields = ["employee__last_name", "employee__personnel_number"]
    list_select_related = ["employee", "course_date__course", "organisation"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Certificate)
class CertificateAdmin(AuditedModelAdmin):
    list_display = ["code", "holder_name", "course_title", "date_text", "issued_at"]
    search_fields = ["code", "holder_name"]

    def has_change_permission(self, request, obj=None):
        return False
