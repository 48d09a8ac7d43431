from html import escape as html_escape

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import DateTimeField, Exists, F, IntegerField, OuterRef, Q
from django.db.models.expressions import RawSQL
from django.http import FileResponse, Http404, HttpResponse, QueryDict
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import get_format, number_format
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext
from django.views import View
from django.views.generic import DetailView, FormView, ListView, TemplateView

from vielfalt.audit import audit_record, record_text
from vielfalt.collation import text_order
from vielfalt.concurrency import EditConflict
from vielfalt.filters import SEARCH_HELP_NO_EMAIL, filter_controls, search_order
from vielfalt.formats import datetime_formatter
from vielfalt.models import AuditEntry, Employee, Organisation, Role, employee_total
from vielfalt.pagination import CountingPaginator, ReadPaginator, WindowCountPaginator, query_without
from vielfalt.permissions import RoleRequiredMixin, may
from vielfalt.tabular import TableRefused, download
from vielfalt.validation import add_errors, submitted_id

from .forms import (
    AttendanceForm,
    CertificateCodeForm,
    CourseDateForm,
    CourseForm,
    EmployeeFilterForm,
    EnrolmentUploadForm,
)
from .ical import course_date_ics, ics_file_name
from .models import (
    COURSE_TARGET_GROUPS,
    Certificate,
    Course,
    CourseDate,
    Enrolment,
    duration_text,
    target_group_labels,
)
from .privacy import certificate_name_matches
from .selectors import (
    DateReport,
    UnitReport,
    no_shows_of_all,
    report_by_date,
    report_by_unit,
    seats_for_organisations,
    taking_part_names,
    trained_total,
    visible_employee_names,
)
from .services import (
    DATE_FIELDS_TOLD,
    EnrolmentRefused,
    attendance_mark,
    certificate_seal_check,
    certificates_request,
    course_create,
    course_date_cancel,
    course_date_create,
    course_date_update,
    course_participants_set,
    course_update,
    enrolling_organisation_ids,
    enrolment_cancel,
    enrolment_create_from_file,
    enrolment_create_many,
    sign_in_sheet_request,
)

RESULT_SESSION_KEY = "trainings_enrolment_result"

# The most employees the enrolment page keeps selected across its pages and filters, carried in the form and the
# address: each request reads them all. More than any date seats; a longer list is a file to upload.
ENROL_SELECTION_MAX = 200
# What the enrolment page's filters are called in its address (EmployeeFilterForm).
ENROL_FILTERS = ("q", "org_unit", "target_group", "trained")


def pk_url(name: str):
    """The URL of view `name` for any primary key, from a single reverse(): the rows of a table link to their
    objects without a reverse() each (about 20 µs a row)."""
    head, _pk, tail = reverse(name, args=[0]).rpartition("/0/")
    return lambda pk: f"{head}/{pk}/{tail}"


# --- Courses --------------------------------------------------------------------------------------------------


class CourseListView(LoginRequiredMixin, ListView):
    template_name = "trainings/course_list.html"
    context_object_name = "courses"
    paginate_by = 50
    paginator_class = CountingPaginator

    def get_queryset(self):
        # The next date per course from the (course, starts_at) index, not an aggregate over every date
        # (which also made the paginator count a grouped join); as a statement of its own (the course is the
        # query's main table): compiling the ORM subquery cost the page more than running it. Rows, not model
        # instances: the page shows a few columns of 50 courses.
        upcoming = RawSQL(
            "SELECT d.starts_at FROM trainings_coursedate d WHERE d.course_id = trainings_course.id"
            " AND d.starts_at >= %s AND d.cancelled_at IS NULL ORDER BY d.starts_at LIMIT 1",
            (connection.ops.adapt_datetimefield_value(timezone.now()),),
            output_field=DateTimeField(),
        )
        return (
            Course.objects.visible_to(self.request.user)
            .annotate(next_date=upcoming, organiser_name=F("organiser__name"))
            .order_by(*text_order(Course, "title", "pk"))
            .values_list(*self.columns, named=True)
        )

    columns = ("pk", "title", "target_groups", "duration_hours", "format", "organiser_name", "next_date")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["may_create"] = may(self.request.user, Role.ORGANISER)
        context["rows"] = self.rows(context["courses"])
        return context

    @staticmethod
    def rows(courses) -> list[tuple]:
        """The table's rows as plain values for {% rowformat %}. The courses of a page share a few durations,
        sets of target groups and formats: each text is made once."""
        url = pk_url("trainings:course_detail")
        short = datetime_formatter("SHORT_DATETIME_FORMAT")
        formats = dict(Course.Format.choices)
        texts = {}
        rows = []
        for course in courses:
            key = (course.duration_hours, tuple(course.target_groups), course.format)
            if key not in texts:
                texts[key] = (
                    ", ".join(target_group_labels(course.target_groups)),
                    str(formats.get(course.format, course.format)),
                    duration_text(course.duration_hours),
                )
            rows.append(
                (
                    url(course.pk),
                    course.title,
                    course.organiser_name,
                    *texts[key],
                    short(course.next_date) or "–",
                )
            )
        return rows


class CourseDetailView(LoginRequiredMixin, DetailView):
    template_name = "trainings/course_detail.html"
    context_object_name = "course"
    dates_per_page = 25

    def get_queryset(self):
        # The number of dates for the paginator read with the course, not by a query of its own; as a
        # statement of its own (the course is the query's main table), which costs a fraction of compiling an
        # ORM subquery.
        date_count = RawSQL(
            "SELECT COUNT(*) FROM trainings_coursedate d WHERE d.course_id = trainings_course.id",
            (),
            output_field=IntegerField(),
        )
        return (
            Course.objects.visible_to(self.request.user)
            .select_related("organiser")
            .only(*self.course_columns)
            .annotate(date_count=date_count)
        )

    course_columns = (
        "title",
        "description",
        "target_groups",
        "organiser__name",
        "duration_hours",
        "format",
        "language",
    )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        course = self.object
        user = self.request.user
        # The organisations taking part as one text: a joint course has a dozen or more.
        quota_texts = {}
        taking_part = []
        for name, quota in taking_part_names(course.pk):
            if quota and quota not in quota_texts:
                quota_texts[quota] = ngettext(
                    "%(counter)s seat per date", "%(counter)s seats per date", quota
                ) % {"counter": quota}
            taking_part.append(format_html("{} ({})", name, quota_texts[quota]) if quota else name)
        context["taking_part"] = mark_safe(", ".join(conditional_escape(text) for text in taking_part))  # noqa: S308
        # 25 dates a page: a course of the programme has a hundred.
        dates = (
            course.dates.with_counts().order_by("starts_at", "pk").values_list(*self.date_columns, named=True)
        )
        paginator = Paginator(dates, self.dates_per_page)
        paginator.count = course.date_count
        context["page_obj"] = paginator.get_page(self.request.GET.get("page"))
        context["dates"] = list(context["page_obj"].object_list)
        context["rows"] = self.date_rows(context["dates"])
        context["may_organise"] = may(user, Role.ORGANISER, course.organiser_id)
        context["may_enrol"] = bool(enrolling_organisation_ids(user, course))
        return context

    date_columns = (
        "pk",
        "starts_at",
        "target_group",
        "location",
        "capacity",
        "enrolment_deadline",
        "cancelled_at",
        "seated_count",
        "waiting_count",
    )

    @staticmethod
    def date_rows(dates) -> list[tuple]:
        """The dates' rows as plain values for {% rowformat %}, a cancelled or full date's state as a badge."""
        url = pk_url("trainings:date_detail")
        short = datetime_formatter("SHORT_DATETIME_FORMAT")
        now = timezone.now()
        groups = {value: str(label) for value, label in COURSE_TARGET_GROUPS}
        online = _("online")
        states = {
            "cancelled": format_html('<span class="badge text-bg-danger">{}</span>', _("cancelled")),
            "full": format_html('<span class="badge text-bg-warning">{}</span>', _("full")),
            "open": _("open"),
            "closed": _("closed"),
        }
        rows = []
        for d in dates:
            if d.cancelled_at is not None:
                state = "cancelled"
            elif d.seated_count >= d.capacity:
                state = "full"
            else:
                state = "open" if now <= d.enrolment_deadline else "closed"
            rows.append(
                (
                    url(d.pk),
                    short(d.starts_at),
                    groups.get(d.target_group) or d.target_group or "–",
                    d.location or online,
                    d.seated_count,
                    d.capacity,
                    d.waiting_count,
                    short(d.enrolment_deadline),
                    states[state],
                )
            )
        return rows


class CourseCreateView(LoginRequiredMixin, FormView):
    template_name = "trainings/course_form.html"
    form_class = CourseForm

    def dispatch(self, request, *args, **kwargs):
        if (
            request.user.is_authenticated
            and not Organisation.objects.acting_for(request.user, Role.ORGANISER).exists()
        ):
            raise Http404
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self):
        return {
            **super().get_form_kwargs(),
            "organisers": Organisation.objects.acting_for(self.request.user, Role.ORGANISER),
        }

    def form_valid(self, form):
        data = dict(form.cleaned_data)
        participants = dict.fromkeys(data.pop("participants") or [])
        participants.pop(data["organiser"], None)
        course = course_create(actor=self.request.user, participants=participants, **data)
        messages.success(self.request, _("The course was created."))
        return redirect(course)


class OrganiserCourseMixin(LoginRequiredMixin):
    """Views of a course the user organises; any other course answers 404."""

    def get_course(self):
        return get_object_or_404(Course.objects.organised_by(self.request.user), pk=self.kwargs["course_pk"])


class CourseUpdateView(OrganiserCourseMixin, FormView):
    template_name = "trainings/course_form.html"
    form_class = CourseForm

    def get_form_kwargs(self):
        self.course = self.get_course()
        return {
            **super().get_form_kwargs(),
            "instance": self.course,
            "organisers": Organisation.objects.acting_for(self.request.user, Role.ORGANISER),
        }

    def form_valid(self, form):
        try:
            course = course_update(
                actor=self.request.user,
                course=self.course,
                opened_version=form.opened_version,
                **form.cleaned_data,
            )
        except EditConflict as conflict:
            form.edit_conflict(conflict)
            return self.form_invalid(form)
        messages.success(self.request, _("The changes were saved."))
        return redirect(course)


# --- Dates ----------------------------------------------------------------------------------------------------


class CourseDateCreateView(OrganiserCourseMixin, FormView):
    template_name = "trainings/date_form.html"
    form_class = CourseDateForm

    def get_context_data(self, **kwargs):
        return super().get_context_data(course=self.get_course(), **kwargs)

    def form_valid(self, form):
        try:
            course_date = course_date_create(
                actor=self.request.user, course=self.get_course(), **form.cleaned_data
            )
        except ValidationError as error:
            add_errors(form, error)
            return self.form_invalid(form)
        messages.success(self.request, _("The date was added."))
        return redirect(course_date)


class OrganiserDateMixin(LoginRequiredMixin):
    def get_course_date(self):
        return get_object_or_404(
            CourseDate.objects.organised_by(self.request.user).select_related("course__organiser"),
            pk=self.kwargs["pk"],
        )


class CourseDateUpdateView(OrganiserDateMixin, FormView):
    template_name = "trainings/date_form.html"
    form_class = CourseDateForm

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.course_date = self.get_course_date()
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "instance": CourseDate.objects.get(pk=self.course_date.pk)}

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            course=self.course_date.course, course_date=self.course_date, **kwargs
        )

    def form_valid(self, form):
        try:
            updated = course_date_update(
                actor=self.request.user,
                course_date=self.course_date,
                opened_version=form.opened_version,
                **form.cleaned_data,
            )
        except EditConflict as conflict:
            form.edit_conflict(conflict)
            return self.form_invalid(form)
        except ValidationError as error:
            add_errors(form, error)
            return self.form_invalid(form)
        if set(form.changed_data) & DATE_FIELDS_TOLD and updated.told_of_changes().exists():
            messages.success(
                self.request,
                _("The changes were saved; everyone enrolled is being told the new time or place by e-mail."),
            )
        else:
            messages.success(self.request, _("The changes were saved."))
        return redirect(self.course_date)


class CourseDateCancelView(OrganiserDateMixin, View):
    def post(self, request, pk):
        course_date = self.get_course_date()
        try:
            course_date_cancel(actor=request.user, course_date=course_date)
        except ValidationError as refused:
            messages.error(request, " ".join(refused.messages))
        else:
            messages.success(request, _("The date was cancelled; everyone enrolled is being notified."))
        return redirect(course_date)


class CourseDateDetailView(LoginRequiredMixin, DetailView):
    template_name = "trainings/date_detail.html"
    context_object_name = "course_date"

    def get_queryset(self):
        return (
            # The page shows the course's title and decides by its organiser's key: no need for the organiser.
            CourseDate.objects.visible_to(self.request.user).select_related("course").with_counts()
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        course_date = self.object
        organiser = may(user, Role.ORGANISER, course_date.course.organiser_id)
        # Plain rows, not model instances: a date has dozens of enrolments, each with its employee, organisation
        # and certificate, and the table shows a few columns of each.
        enrolments = list(
            Enrolment.objects.visible_to(user)
            .filter(~Q(status=Enrolment.Status.CANCELLED), course_date=course_date)
            .order_by("pk")
            .values_list(
                "pk",
                "status",
                "attendance",
                "mail_failed_at",
                "organisation_id",
                "organisation__name",
                "employee__first_name",
                "employee__last_name",
                "employee__personnel_number",
                "certificate__pk",
                "certificate__file",
                "certificate__revoked_at",
            )
        )
        enrolling = enrolling_organisation_ids(user, course_date.course)
        # Whom the page names: the organiser everyone enrolled, HR its own employees. Ministry staff (also with
        # HR of the ministry's own staff) read the date's counts above the lists (Enrolment.visible_to), not
        # empty lists that would read as "nobody enrolled".
        lists_persons = organiser or bool(enrolling) or bool(enrolments)
        seated, waiting = [], []
        # Waiting positions count everyone on the list, also other organisations' employees HR does not see.
        all_waiting = (
            list(
                course_date.enrolments.filter(status=Enrolment.Status.WAITING)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            if course_date.waiting_count and lists_persons  # the tally says whether anybody waits
            else []
        )
        positions = {pk: index for index, pk in enumerate(all_waiting, start=1)}
        begun = course_date.has_begun
        # HR cancels a seat until the cancellation deadline, a place on the waiting list until the date begins.
        still_open = not course_date.is_cancelled and not begun
        hr_may_cancel = {
            Enrolment.Status.SEATED: still_open and course_date.cancellation_open,
            Enrolment.Status.WAITING: still_open,
        }
        organiser_may_cancel = organiser and not begun
        attendance_taken = organiser and begun  # before the start the page shows what is recorded: nothing
        # The rows as plain values for {% rowformat %}, from one reverse() per kind of link and one translation
        # per text of the page. The pieces that only some rows have are made once for the page with their texts
        # escaped, and filled in with a row's link and the person's name (escaped once for the row).
        cancel_url = pk_url("trainings:enrolment_cancel")
        certificate_url = pk_url("trainings:certificate_download")
        mail_failed = format_html(' <span class="badge text-bg-warning">{}</span>', _("e-mail not delivered"))
        cancel_form = format_html(
            '<form method="post" action="{{0}}" data-confirm="{}">{}<button type="submit" '
            'class="btn btn-sm btn-outline-danger">{}<span class="visually-hidden"> {{1}}</span></button></form>',
            _("Really cancel this enrolment?"),
            # What `{% csrf_token %}` renders, the token read once for every row's form.
            format_html(
                '<input type="hidden" name="csrfmiddlewaretoken" value="{}">', get_token(self.request)
            ),
            _("Cancel enrolment"),
        )
        certificate_link = format_html(
            '<a href="{{0}}">{}<span class="visually-hidden"> {{1}}</span></a>', _("Download")
        )
        revoked = format_html('<span class="badge text-bg-secondary">{}</span>', _("revoked"))
        # Why a seated person has no certificate to download, in words (a bare dash said nothing, least of all
        # to a screen reader): the first reason that holds, from the date to the person's attendance.
        if course_date.is_cancelled:
            no_certificate = {None: _("none: the date was cancelled")}
        elif not begun:
            no_certificate = {None: _("not yet: the date has not taken place")}
        else:
            no_certificate = {
                Enrolment.Attendance.UNKNOWN: _("not yet: attendance not recorded"),
                Enrolment.Attendance.NO_SHOW: _("none: did not attend"),
                Enrolment.Attendance.ATTENDED: _("not yet: certificates not built"),
            }
        no_certificate = {
            key: format_html('<span class="text-body-secondary">{}</span>', text)
            for key, text in no_certificate.items()
        }
        # Issued (a verification code) but its PDF not made yet: the organiser's "Build certificates" makes it.
        being_built = format_html(
            '<span class="text-body-secondary">{}</span>', _("issued, PDF not yet built")
        )
        attendance_texts = {value: str(label) for value, label in Enrolment.Attendance.choices}
        attendance_options = {}
        for (
            pk,
            status,
            attendance,
            mail_failed_at,
            organisation_id,
            organisation_name,
            first_name,
            last_name,
            personnel_number,
            certificate_pk,
            certificate_file,
            certificate_revoked_at,
        ) in enrolments:
            full_name = SafeString(html_escape(f"{first_name} {last_name}"))  # escaped once for three cells
            name = f"{last_name}, {first_name}"
            badge = mail_failed if mail_failed_at is not None else ""
            cancel = (
                SafeString(cancel_form.format(cancel_url(pk), full_name))
                if organiser_may_cancel or (hr_may_cancel[status] and may(user, Role.HR, organisation_id))
                else ""
            )
            if status != Enrolment.Status.SEATED:
                waiting.append((positions.get(pk), name, badge, personnel_number, organisation_name, cancel))
                continue
            if not attendance_taken:
                attendance_cell = attendance_texts.get(attendance, attendance)
            elif attendance in attendance_options:
                attendance_cell = attendance_options[attendance]
            else:
                attendance_cell = attendance_options[attendance] = format_html_join(
                    "",
                    '<option value="{}"{}>{}</option>',
                    (
                        (value, mark_safe(" selected") if value == attendance else "", label)  # noqa: S308
                        for value, label in attendance_texts.items()
                    ),
                )
            if certificate_revoked_at is not None:
                certificate = revoked
            elif certificate_file:
                certificate = SafeString(certificate_link.format(certificate_url(certificate_pk), full_name))
            elif certificate_pk is not None:
                certificate = being_built
            else:
                certificate = no_certificate.get(attendance, no_certificate.get(None, ""))
            seated.append(
                (
                    name,
                    badge,
                    personnel_number,
                    organisation_name,
                    pk,
                    full_name,
                    attendance_cell,
                    certificate,
                    cancel,
                )
            )
        context.update(
            course=course_date.course,
            seated=seated,
            waiting=waiting,
            may_organise=organiser,
            lists_persons=lists_persons,
            attendance_taken=attendance_taken,
            may_enrol=bool(enrolling) and course_date.enrolment_open,
            # The seats HR can still take only while it can take them; after the deadline, that it has passed.
            seats=seats_for_organisations(course_date, enrolling) if course_date.enrolment_open else [],
            enrolment_closed=bool(enrolling)
            and not course_date.is_cancelled
            and not course_date.enrolment_open,
            starts_at=timezone.localtime(course_date.starts_at),
            ends_at=timezone.localtime(course_date.ends_at),
        )
        return context


class CourseDateICSView(LoginRequiredMixin, View):
    def get(self, request, pk):
        course_date = get_object_or_404(
            CourseDate.objects.visible_to(request.user).select_related("course"), pk=pk
        )
        response = HttpResponse(course_date_ics(course_date), content_type="text/calendar; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{ics_file_name(course_date)}"'
        return response


# --- Enrolment ------------------------------------------------------------------------------------------------


class EnrolView(LoginRequiredMixin, TemplateView):
    """HR picks employees (filtered list with checkboxes) or uploads a file of personnel numbers.

    The selection outlives the page: the list's filters, its pages and the boxes are one form, and moving to
    another page or filter sends it (POST, then a redirect to the list's address with the selection as
    `selected`), so that what was ticked on page 1 is still selected on page 2, also without JavaScript. With
    htmx, each tick updates the number selected."""

    template_name = "trainings/enrol.html"
    paginate_by = 100

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.course_date = get_object_or_404(
            CourseDate.objects.visible_to(request.user).select_related("course__organiser").with_counts(),
            pk=kwargs["pk"],
        )
        self.organisation_ids = enrolling_organisation_ids(request.user, self.course_date.course)
        if not self.organisation_ids:
            raise Http404
        if request.method == "GET" and not self.course_date.enrolment_open:
            # Nothing to tick any more (a bookmark, the back button): the date's page says why. A list sent
            # meanwhile is refused by the service with the deadline.
            return redirect(self.course_date)
        return super().dispatch(request, *args, **kwargs)

    def employees(self, filter_form):
        """(The employees to choose from, in order; their number where the counts kept by triggers know it
        without a COUNT, else None.) Whether each is enrolled in this course or trained is marked per page
        (`_mark`), not computed for every employee of a city."""
        queryset = (
            Employee.objects.visible_to(self.request.user)
            .filter(organisation_id__in=self.organisation_ids, is_active=True)
            .select_related("org_unit")
            .order_by(*Employee._meta.ordering)  # by name (vielfalt.collation)
        )
        data = filter_form.cleaned_data if filter_form.is_valid() else {}
        searching = bool(data.get("q", "").split())
        if searching:
            queryset = queryset.search(data["q"], email=False)
        if data.get("org_unit"):
            queryset = queryset.filter(org_unit=data["org_unit"])
        if data.get("target_group"):
            queryset = queryset.filter(target_group=data["target_group"])
        if data.get("trained") == "1":
            queryset = queryset.filter(~Exists(Enrolment.objects.attended().filter(employee=OuterRef("pk"))))
        if searching:
            return search_order(queryset), None
        unit = data["org_unit"].pk if data.get("org_unit") else None
        group = data.get("target_group") or None
        trained = 0
        if data.get("trained") == "1":
            # Those not trained yet: all, less the trained ones AttendanceTally counts (per organisation, unit and
            # target group).
            trained = trained_total(organisation_ids=self.organisation_ids, target_group=group, unit=unit)
        total = employee_total(self.organisation_ids, is_active=True, unit=unit, target_group=group)
        return queryset, None if total is None or trained is None else total - trained

    def _mark(self, employees) -> None:
        """Set `enrolled_here` (an active enrolment in this course) and `trained` on the employees of a page."""
        ids = [employee.pk for employee in employees]
        enrolled = set(
            Enrolment.objects.active()
            .filter(
                employee_id__in=ids,
                course_date__course=self.course_date.course,
                course_date__cancelled_at=None,
            )
            .values_list("employee_id", flat=True)
        )
        trained = set(
            Enrolment.objects.attended().filter(employee_id__in=ids).values_list("employee_id", flat=True)
        )
        for employee in employees:
            employee.enrolled_here = employee.pk in enrolled
            employee.trained = employee.pk in trained

    def selectable(self, ids) -> list[int]:
        """Those of `ids` (at most ENROL_SELECTION_MAX, in their order) that name an active employee the user may
        enrol here; one query, none for no ids."""
        ids = list(dict.fromkeys(pk for pk in ids if pk is not None))[:ENROL_SELECTION_MAX]
        if not ids:
            return []
        found = set(
            Employee.objects.visible_to(self.request.user)
            .filter(pk__in=ids, organisation_id__in=self.organisation_ids, is_active=True)
            .values_list("pk", flat=True)
        )
        return [pk for pk in ids if pk in found]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # The list as its address says, or, when a POST is answered with the page again, as the form sent it.
        query = kwargs.get("query") or self.request.GET
        filter_form = EmployeeFilterForm(
            {name: query[name] for name in ENROL_FILTERS if name in query} or None,
            organisation_ids=self.organisation_ids,
        )
        employees, total = self.employees(filter_form)
        if total is None:  # a search, or a unit's not yet trained: counted with the page's rows
            paginator = WindowCountPaginator(employees, self.paginate_by)
        else:
            paginator = Paginator(employees, self.paginate_by)
            paginator.count = total  # as the agreement list sets it
        page = paginator.get_page(query.get("page") or query.get("at_page"))
        rows = list(page.object_list)
        self._mark(rows)
        if "selected" in kwargs:  # sent with a POST: ticked again as sent, also beyond the limit (to untick)
            selected = list(kwargs["selected"])
        else:
            selected = self.selectable(submitted_id(value) for value in query.getlist("selected"))
        shown = {employee.pk for employee in rows if not employee.enrolled_here}
        context.update(
            course_date=self.course_date,
            course=self.course_date.course,
            filter_form=filter_form,
            filter_controls=filter_controls(filter_form, {"q": SEARCH_HELP_NO_EMAIL}),
            page_obj=page,
            paginator=page.paginator,
            is_paginated=page.has_other_pages(),
            employees=rows,
            filter_query=query_without(self.request.GET),
            upload_form=kwargs.get("upload_form") or EnrolmentUploadForm(),
            selected=set(selected),
            # The selection not shown as a box on this page: carried along in hidden inputs.
            selected_elsewhere=[pk for pk in selected if pk not in shown],
            selection_problem=kwargs.get("selection_problem"),
            seats=seats_for_organisations(self.course_date, self.organisation_ids),
        )
        return context

    def post(self, request, pk):
        if "file" in request.FILES or request.POST.get("action") == "upload":
            return self.post_upload(request)
        action = request.POST.get("action")
        # The selection: what was selected on other pages and filters, and what is ticked on this one. Every id
        # must name an employee the user may see: anything else (another city's employee, a value that is no id)
        # is not found.
        ids = [
            submitted_id(value)
            for value in request.POST.getlist("selected") + request.POST.getlist("employees")
        ]
        if None in ids:
            raise Http404
        ids = list(dict.fromkeys(ids))
        problem = None
        if len(ids) > ENROL_SELECTION_MAX:
            problem = _(
                "At most %(limit)s employees can be selected at a time; %(count)s are selected. Please enrol "
                "fewer at once (and the others after), or upload a file of personnel numbers."
            ) % {"limit": ENROL_SELECTION_MAX, "count": len(ids)}
        if action == "count":
            return self.post_count(request, ids, problem)
        if problem:
            return self.render_to_response(
                self.get_context_data(query=request.POST, selected=ids, selection_problem=problem), status=422
            )
        if action in ("filter", "reset") or "page" in request.POST:
            return self.post_navigate(request, action, ids)
        employees = list(
            Employee.objects.visible_to(request.user)
            .filter(pk__in=ids)
            .order_by(*Employee._meta.ordering)  # by name (vielfalt.collation)
        )
        if len(employees) != len(ids):
            raise Http404
        try:
            result = enrolment_create_many(
                actor=request.user, course_date=self.course_date, employees=employees
            )
        except EnrolmentRefused as refused:
            # The choice stays ticked: HR corrects it rather than finding and ticking everyone again.
            return self.render_to_response(
                self.get_context_data(
                    query=request.POST, problems=refused.problems, selected=[e.pk for e in employees]
                ),
                status=422,
            )
        return self.show_result(result)

    def post_count(self, request, ids, problem):
        """The number selected, for htmx to show as a box is ticked (the page shows it as it is sent)."""
        elsewhere = {submitted_id(value) for value in request.POST.getlist("selected")}
        selected = ids if problem else self.selectable(ids)
        return TemplateResponse(
            request,
            "trainings/_selection_count.html",
            {
                "selected": selected,
                "selected_elsewhere": [pk for pk in selected if pk in elsewhere],
                "selection_problem": problem,
            },
        )

    def post_navigate(self, request, action, ids):
        """Another page or filter of the list, the selection kept: a redirect to its address."""
        selected = self.selectable(ids)
        query = QueryDict(mutable=True)
        if action != "reset":
            for name in ENROL_FILTERS:
                if request.POST.get(name):
                    query[name] = request.POST[name]
            if action != "filter" and request.POST.get("page"):
                query["page"] = request.POST["page"]
        query.setlist("selected", [str(pk) for pk in selected])
        return redirect(f"{request.path}?{query.urlencode()}" if query else request.path)

    def post_upload(self, request):
        form = EnrolmentUploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(upload_form=form), status=422)
        try:
            result = enrolment_create_from_file(
                actor=request.user, course_date=self.course_date, data=form.cleaned_data["file"].read()
            )
        except (TableRefused, EnrolmentRefused) as refused:
            return self.render_to_response(
                self.get_context_data(upload_form=form, problems=refused.problems), status=422
            )
        return self.show_result(result)

    def show_result(self, result):
        self.request.session[RESULT_SESSION_KEY] = {
            "date": self.course_date.pk,
            "seated": [e.pk for e in result.seated],
            "waiting": [
                [e.pk, position, result.waiting_reasons.get(e.employee_id)] for e, position in result.waiting
            ],
        }
        return redirect("trainings:enrol_result", pk=self.course_date.pk)


class EnrolmentResultView(LoginRequiredMixin, TemplateView):
    template_name = "trainings/enrol_result.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        course_date = get_object_or_404(
            CourseDate.objects.visible_to(self.request.user).select_related("course"), pk=kwargs["pk"]
        )
        stored = self.request.session.get(RESULT_SESSION_KEY) or {}
        if stored.get("date") != course_date.pk:
            stored = {"seated": [], "waiting": []}
        visible = Enrolment.objects.visible_to(self.request.user).select_related("employee__org_unit")
        seated_ids = stored["seated"]
        waiting = [(row + [None])[:3] for row in stored["waiting"]]
        by_pk = visible.in_bulk(seated_ids + [pk for pk, _position, _reason in waiting])
        reasons = {
            "full": _("The date is fully booked."),
            "quota": _("Your organisation's quota is used up."),
        }
        waiting = [
            (by_pk[pk], position, reasons.get(reason, "")) for pk, position, reason in waiting if pk in by_pk
        ]
        context.update(
            course_date=course_date,
            course=course_date.course,
            seated=[by_pk[pk] for pk in seated_ids if pk in by_pk],
            waiting=waiting,
            seats=seats_for_organisations(
                course_date, enrolling_organisation_ids(self.request.user, course_date.course)
            ),
            starts_at=timezone.localtime(course_date.starts_at),
        )
        return context


class EnrolmentCancelView(LoginRequiredMixin, View):
    def post(self, request, pk):
        enrolment = get_object_or_404(
            Enrolment.objects.visible_to(request.user).select_related("course_date", "employee"), pk=pk
        )
        try:
            promoted = enrolment_cancel(actor=request.user, enrolment=enrolment)
        except EnrolmentRefused as refused:
            for problem in refused.problems:
                messages.error(request, str(problem))
            return redirect(enrolment.course_date)
        text = _("The enrolment of %(name)s was cancelled.") % {"name": enrolment.employee.full_name}
        if promoted:
            text += " " + _("Moved up from the waiting list: %(names)s.") % {
                "names": ", ".join(visible_employee_names(request.user, promoted))
                or _("an employee of another organisation")
            }
        messages.success(request, text)
        return redirect(enrolment.course_date)


# --- Attendance, sign-in sheet, certificates ------------------------------------------------------------------


class AttendanceView(OrganiserDateMixin, View):
    def post(self, request, pk):
        course_date = self.get_course_date()
        seated = course_date.enrolments.filter(status=Enrolment.Status.SEATED).values_list("pk", flat=True)
        form = AttendanceForm(request.POST, enrolment_ids=list(seated))
        try:
            marked = attendance_mark(actor=request.user, course_date=course_date, marks=form.marks())
        except ValidationError as refused:
            messages.error(request, " ".join(refused.messages))
            return redirect(course_date)
        messages.success(
            request,
            ngettext(
                "Attendance saved (%(count)s change).",
                "Attendance saved (%(count)s changes).",
                marked.changed,
            )
            % {"count": marked.changed},
        )
        # A certificate's holder may have handed it on: the organiser learns that its verification page changed.
        for add, count, text in (
            (
                messages.warning,
                marked.revoked,
                ngettext(
                    "%(count)s certificate was revoked: its verification page now says that it does not attest "
                    "participation.",
                    "%(count)s certificates were revoked: their verification pages now say that they do not "
                    "attest participation.",
                    marked.revoked,
                ),
            ),
            (
                messages.info,
                marked.reinstated,
                ngettext(
                    "%(count)s revoked certificate stands again.",
                    "%(count)s revoked certificates stand again.",
                    marked.reinstated,
                ),
            ),
        ):
            if count:
                add(request, text % {"count": count})
        if form.errors:  # a mark no choice of the page has (a page from before a change, or a hand-made one)
            messages.warning(
                request,
                ngettext(
                    "%(count)s mark was not understood and not saved: please check the list.",
                    "%(count)s marks were not understood and not saved: please check the list.",
                    len(form.errors),
                )
                % {"count": len(form.errors)},
            )
        return redirect(course_date)


class SignInSheetView(OrganiserDateMixin, View):
    def post(self, request, pk):
        course_date = self.get_course_date()
        try:
            return redirect(sign_in_sheet_request(actor=request.user, course_date=course_date))
        except ValidationError as error:
            messages.error(request, error.messages[0])
            return redirect(course_date)


class CertificatesBuildView(OrganiserDateMixin, View):
    def post(self, request, pk):
        course_date = self.get_course_date()
        return redirect(certificates_request(actor=request.user, course_date=course_date))


class CertificateDownloadView(LoginRequiredMixin, View):
    def get(self, request, pk):
        # A revoked certificate is no longer handed out (its verification page says it no longer stands).
        certificate = get_object_or_404(
            Certificate.objects.visible_to(request.user).filter(revoked_at=None), pk=pk
        )
        if not certificate.file:
            raise Http404
        audit_record(
            actor=request.user,
            action=AuditEntry.Action.DOWNLOAD,
            obj=certificate,
            object_repr=str(certificate),
        )
        return FileResponse(certificate.file.open("rb"), as_attachment=True, filename=certificate.file_name)


class CertificateVerifyFormView(FormView):
    """Public: type the code printed on a certificate (GET, so the result page can be bookmarked)."""

    template_name = "trainings/verify_form.html"
    form_class = CertificateCodeForm
    # The form is sent by GET: a POST (FormView would redirect a valid one to a success_url it has not) is refused.
    http_method_names = ["get", "head", "options"]

    def get(self, request, *args, **kwargs):
        if "code" not in request.GET:
            return self.render_to_response(self.get_context_data(form=self.form_class()))
        form = self.form_class(request.GET)
        if form.is_valid():
            return redirect("trainings:verify", code=form.cleaned_data["code"])
        return self.render_to_response(self.get_context_data(form=form))


class CertificateVerifyView(TemplateView):
    """Public: anyone holding the code sees what the certificate states, nothing more. An unknown code gets a
    page that says so (404), with the form to type it again."""

    template_name = "trainings/verify.html"

    def get(self, request, *args, **kwargs):
        certificate = Certificate.objects.filter(code=kwargs["code"].upper()).first()
        if certificate is None:
            return self.unknown(kwargs["code"])
        return self.render_to_response(self.get_context_data(certificate=certificate))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["seal"] = certificate_seal_check(context["certificate"])
        return context

    def unknown(self, code: str):
        form = CertificateCodeForm(initial={"code": code[:30]})
        return TemplateResponse(self.request, "trainings/verify_unknown.html", {"form": form}, status=404)

    def post(self, request, *args, **kwargs):
        """After the retention purge the page no longer shows the name; whoever holds the paper can still have
        the name printed on it confirmed."""
        certificate = Certificate.objects.filter(code=kwargs["code"].upper()).first()
        if certificate is None:
            return self.unknown(kwargs["code"])
        context = self.get_context_data(certificate=certificate)
        name = request.POST.get("name", "")[:310]
        context["name_checked"] = bool(name.strip())
        context["name_matches"] = bool(name.strip()) and certificate_name_matches(certificate, name)
        return self.render_to_response(context)


# --- Reports --------------------------------------------------------------------------------------------------


class ReportView(RoleRequiredMixin, TemplateView):
    """Per organisation and org unit, and per course date; `?export=csv|xlsx` downloads the unit table."""

    template_name = "trainings/report.html"
    roles = (Role.HR, Role.MINISTRY)
    UNITS_PER_PAGE = 100
    DATES_PER_PAGE = 50

    HEADER = ["Organisation", "Organisationseinheit", "Zielgruppe", "Beschäftigte", "Geschult", "Anteil (%)"]
    DATE_HEADER = [
        "Kurs",
        "Termin",
        "Kapazität",
        "Belegt",
        "Auslastung (%)",
        "Warteliste",
        "Nicht erschienen",
    ]
    # HR is shown the no-shows of its own organisations' employees only (trainings.selectors._no_shows).
    DATE_HEADER_OWN_NO_SHOWS = [
        *DATE_HEADER[:-1],
        "Nicht erschienen (bei Kursen anderer: eigene Beschäftigte)",
    ]

    def get(self, request, *args, **kwargs):
        export = request.GET.get("export")
        if export not in ("csv", "xlsx"):
            return super().get(request, *args, **kwargs)
        units = [
            [r["organisation"], r["org_unit"], r["target_group"], r["employees"], r["trained"], r["share"]]
            for r in report_by_unit(request.user)
        ]
        dates = [
            [
                d.course.title,
                timezone.localtime(d.starts_at).strftime("%d.%m.%Y %H:%M"),
                d.capacity,
                d.seated_count,
                round(100 * d.seated_count / d.capacity, 1),
                d.waiting_count,
                d.no_shows,
            ]
            for d in report_by_date(request.user)
        ]
        date_header = self.DATE_HEADER if no_shows_of_all(request.user) else self.DATE_HEADER_OWN_NO_SHOWS
        audit_record(
            actor=request.user,
            action=AuditEntry.Action.EXPORT,
            object_repr=record_text(gettext_noop("Training report (%(format)s)"), format=export.upper()),
        )
        stamp = timezone.localdate().isoformat()
        return download(
            export,
            self.HEADER,
            units,
            filename=f"schulungsbericht-{stamp}",
            title="Schulungen",
            more=[("Termine", date_header, dates)],
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # Each table a page at a time (the ministry's report holds a row per organisation, unit and target group
        # of the programme and one per course date: 2,030 and 5,000 at full scale, 1.4 MB in one page); the
        # exports hold them all. Each table's pages keep the other's page in their links.
        query = self.request.GET
        units_page = ReadPaginator(UnitReport(self.request.user), self.UNITS_PER_PAGE).get_page(
            query.get("page")
        )
        dates_page = CountingPaginator(DateReport(self.request.user), self.DATES_PER_PAGE).get_page(
            query.get("dates_page")
        )
        dates = dates_page.object_list
        # The cells as text for {% rowformat %}: a {% for %} loop over model instances, each reversing its URL
        # and formatting its numbers, took half a second to write the ministry's report in one page.
        short = datetime_formatter("SHORT_DATETIME_FORMAT")
        decimal = get_format("DECIMAL_SEPARATOR")

        def share(value: float) -> str:
            return f"{value:.1f}".replace(".", decimal)

        url_prefix, _pk, url_suffix = reverse("trainings:date_detail", args=[0]).rpartition("0")
        cancelled = f" ({_('cancelled')})"
        context.update(
            no_shows_own=not no_shows_of_all(self.request.user),
            units=units_page.object_list,
            units_page=units_page,
            dates=dates,
            dates_page=dates_page,
            units_query=query_without(query),
            dates_query=query_without(query, "dates_page"),
            unit_rows=[
                (
                    r["organisation"],
                    r["org_unit"] or "–",
                    r["target_group"],
                    r["employees"],
                    r["trained"],
                    share(r["share"]),
                )
                for r in units_page.object_list
            ],
            date_rows=[
                (
                    d["course__title"],
                    f"{url_prefix}{d['pk']}{url_suffix}",
                    short(d["starts_at"]),
                    "" if d["cancelled_at"] is None else cancelled,
                    d["seated_count"],
                    d["capacity"],
                    share(round(100 * d["seated_count"] / d["capacity"], 1) if d["capacity"] else 0),
                    d["waiting_count"],
                    d["no_shows"],
                )
                for d in dates
            ],
        )
        return context


# More seats per date than any course room holds; well inside the column's range (PostgreSQL's integer).
MAX_SEAT_QUOTA = 10_000


def seat_quota(raw: str) -> int | None:
    """A submitted seat quota: None for none (empty), else a whole number from 0 to MAX_SEAT_QUOTA (ValueError
    for anything else)."""
    raw = raw.strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()) or int(raw) > MAX_SEAT_QUOTA:
        raise ValueError(raw)
    return int(raw)


class CourseParticipantsView(OrganiserCourseMixin, TemplateView):
    """The organisations taking part in a course and each one's seat quota per date."""

    template_name = "trainings/participants.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        course = self.get_course()
        participants = list(course.participants.select_related("organisation"))
        taken = {p.organisation_id for p in participants} | {course.organiser_id}
        context.update(
            course=course,
            participants=participants,
            candidates=Organisation.objects.exclude(pk__in=taken).order_by(*text_order(Organisation, "name")),
            max_seat_quota=MAX_SEAT_QUOTA,
        )
        return context

    def post(self, request, course_pk):
        course = self.get_course()
        quotas = {}
        errors = []
        for participant in course.participants.select_related("organisation"):
            if request.POST.get(f"remove-{participant.pk}"):
                continue
            try:
                quotas[participant.organisation] = seat_quota(request.POST.get(f"quota-{participant.pk}", ""))
            except ValueError:
                errors.append(
                    _("The seat quota of %(name)s must be a whole number from 0 to %(max)s.")
                    % {
                        "name": participant.organisation,
                        "max": number_format(MAX_SEAT_QUOTA, force_grouping=True),
                    }
                )
        new_id = request.POST.get("add-organisation", "")
        if new_id:
            organisation = get_object_or_404(Organisation, pk=submitted_id(new_id) or 0)
            try:
                quotas[organisation] = seat_quota(request.POST.get("add-quota", ""))
            except ValueError:
                errors.append(
                    _("The seat quota must be a whole number from 0 to %(max)s.")
                    % {"max": number_format(MAX_SEAT_QUOTA, force_grouping=True)}
                )
        if not errors:
            try:
                promoted = course_participants_set(actor=request.user, course=course, quotas=quotas)
            except ValidationError as error:
                errors.extend(error.messages)
        if errors:
            return self.render_to_response(self.get_context_data(errors=errors), status=422)
        messages.success(request, _("The organisations taking part were saved."))
        if promoted:
            messages.info(
                request,
                ngettext(
                    "%(count)s person on a waiting list has a seat now and was told by e-mail.",
                    "%(count)s people on waiting lists have a seat now and were told by e-mail.",
                    promoted,
                )
                % {"count": promoted},
            )
        return redirect(course)
