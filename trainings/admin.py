from django.contrib import admin
from django.db.models import F

from vielfalt.admin import AuditedModelAdmin, TabularInline, ViewOnlyAdminMixin

from .models import Certificate, Course, CourseDate, CourseParticipant, Enrolment
from .services import COURSE_FIELDS_IN_CALENDAR


class CourseParticipantInline(TabularInline):
    """Organisations can be added here; a quota is changed and an organisation removed on the course's page
    (course_participants_set), which moves the waiting list up when a quota is raised and keeps an organisation
    whose employees are enrolled on dates to come. Saved here, a raised quota left its employees waiting beside
    free seats, and an organisation removed left its enrolments on a course its HR could no longer see."""

    model = CourseParticipant
    extra = 1
    can_delete = False
    # A plain select, named by its column (TabularInline): select2's box of an autocomplete field has no
    # accessible name (axe: aria-input-field-name), and a select finds an organisation by typing its name.

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Course)
class CourseAdmin(AuditedModelAdmin):
    list_display = ["title", "organiser", "duration_hours", "format", "language"]
    list_filter = ["format", "language", "organiser"]
    search_fields = ["title", "description"]
    inlines = [CourseParticipantInline]

    def get_readonly_fields(self, request, obj=None):
        # Its dates, enrolments, quotas, jobs and certificates hang on the organiser, and its people's HR offices
        # take part by it: handed to another organisation here, all of them moved to another city unasked.
        if obj is not None:
            return [*super().get_readonly_fields(request, obj), "organiser"]
        return super().get_readonly_fields(request, obj)

    def save_model(self, request, obj, form, change):
        # Renamed here as on the course's page (course_update): calendars replace its dates' entries.
        if change and set(form.changed_data) & COURSE_FIELDS_IN_CALENDAR:
            obj.calendar_version = F("calendar_version") + 1
        super().save_model(request, obj, form, change)
        if change:
            obj.refresh_from_db(fields=["calendar_version"])


@admin.register(CourseDate)
class CourseDateAdmin(AuditedModelAdmin):
    """Read-only once saved: a date changes and is cancelled through the portal's date pages (administrators act
    as every organiser there), whose services tell everyone enrolled with a calendar entry that replaces theirs,
    remind them again before a new start, move the waiting list up into new seats, end the enrolments of a
    cancelled date and keep a date that has begun as it was. Saved here, none of that happened: a date
    "cancelled" in the admin kept its people seated and nobody was told, a moved one was reminded and
    attended at its old time."""

    list_display = ["course", "starts_at", "capacity", "enrolment_deadline", "cancelled_at"]
    list_filter = ["course", "target_group"]
    date_hierarchy = "starts_at"
    list_select_related = ["course"]

    def audit_organisation(self, obj):
        return obj.course.organiser

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Enrolment)
class EnrolmentAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    """Read-only: enrolments change only through the portal's services (locks, waiting list, audit). Not deleted
    either: a seat freed here did not move the waiting list up, nobody was told, and the record of who attended
    (and the certificate's ground) went with it."""

    list_display = ["employee", "course_date", "organisation", "status", "attendance", "created_at"]
    list_filter = ["status", "attendance", "organisation"]
    search_fields = ["employee__last_name", "employee__personnel_number"]
    list_select_related = ["employee", "course_date__course", "organisation"]


@admin.register(Certificate)
class CertificateAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    """Read-only: a certificate is issued by the organiser for an attended enrolment (certificate_issue) and
    revoked by correcting the attendance (attendance_mark). Added here, any enrolment (one never attended) got a
    certificate with any name and course on it, which the public verification page confirmed under the portal's
    name; deleted here, one its holder has on paper was called unknown there."""

    list_display = ["code", "holder_name", "course_title", "date_text", "issued_at"]
    search_fields = ["code", "holder_name"]
