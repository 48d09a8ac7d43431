import time
from functools import partial
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db.models import F
from django.http import FileResponse, Http404, HttpResponse
from django.middleware.csrf import REASON_NO_CSRF_COOKIE
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext
from django.views import View
from django.views.decorators.http import require_safe
from django.views.generic import DetailView, FormView, TemplateView, UpdateView
from django.views.generic.edit import CreateView
from django_filters.views import FilterView

from .audit import ChangeReader, actor_text, audit_record, record_text
from .clients import client_address
from .collation import NAMES_SQL, text_order
from .concurrency import EditConflict
from .filters import AuditEntryFilter, EmployeeFilter, filter_controls
from .formats import datetime_formatter
from .forms import DocumentCheckForm, EmployeeForm, EmployeeImportForm
from .jobs import job_retry
from .middleware import SESSION_TOUCHED_KEY, body_length
from .models import AuditEntry, Employee, Job, Membership, Organisation, Role, TargetGroup, employee_figures
from .pagination import GroupedPaginator, WindowCountPaginator, cursor, newest_first, query_without
from .permissions import MinistryMixin, PartnerHRMixin, organisation_ids, own_organisation_ids
from .seal import check_pdf_bounded
from .services import (
    employee_create,
    employee_deactivate,
    employee_update,
    employees_import_file,
    employees_import_start,
)
from .tabular import TableRefused, download, runs_inline
from .throttle import Throttle
from .validation import submitted_id

HOME_MEMBERSHIPS = (
    "SELECT m.id, m.user_id, m.organisation_id, m.role, o.name AS organisation_name FROM vielfalt_membership m"  # noqa: S608
    " JOIN vielfalt_organisation o ON o.id = m.organisation_id WHERE m.user_id = %s"
    f" ORDER BY o.name COLLATE {NAMES_SQL}"
)


class HomeView(LoginRequiredMixin, TemplateView):
    """The start page: what the user's roles let them do."""

    template_name = "vielfalt/home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        # Only the user's own organisations: an administrator's start page must not count every employee of the
        # programme on each visit.
        own_hr = own_organisation_ids(user, Role.HR)
        context["organises_courses"] = bool(own_organisation_ids(user, Role.ORGANISER))
        if own_hr:  # from the counts kept by triggers: a city's 100,000 employees are not counted per visit
            context["employee_counts"] = employee_figures(own_hr)
        # Two raw statements: a start page shows a few rows of each, and compiling ORM queries cost it more
        # than reading them. The roles with their organisation's name (`organisation_name`).
        context["memberships"] = list(Membership.objects.raw(HOME_MEMBERSHIPS, [user.pk]))
        # The user's own latest jobs, through the one authorisation rule (vielfalt.permissions via visible_to).
        context["recent_jobs"] = Job.objects.visible_to(user).filter(requested_by=user)[:5]
        return context


class EmployeeListView(PartnerHRMixin, FilterView):
    template_name = "employees/employee_list.html"
    filterset_class = EmployeeFilter
    paginate_by = 50

    def get_queryset(self):
        # Rows as dictionaries of the shown columns: a template looks a key up in a dictionary at once, while an
        # attribute of a model instance costs it a failed item lookup first (and the instances their creation).
        # The list of one organisation names the org units from the filter's options, which the page reads
        # anyway, instead of joining them: a search joined every match ("Müller": 2,500 of 100,000) before
        # keeping a page of them.
        ids = organisation_ids(self.request.user, Role.HR)
        self.units_from_options = ids is not None and len(ids) == 1
        names = (
            {}
            if self.units_from_options
            else {"org_unit_name": F("org_unit__name"), "organisation_name": F("organisation__name")}
        )
        return (
            Employee.objects.visible_to(self.request.user)
            .order_by(*Employee._meta.ordering)  # by name (vielfalt.collation)
            .values(
                "pk",
                "personnel_number",
                "first_name",
                "last_name",
                "email",
                "target_group",
                "is_active",
                "org_unit_id",
                **names,
            )
        )

    def get_filterset_kwargs(self, filterset_class):
        return {**super().get_filterset_kwargs(filterset_class), "user": self.request.user}

    def get_paginator(self, queryset, per_page, **kwargs):
        """The total comes from the employee counts kept by triggers (per organisation, org unit, target group
        and status) instead of counting up to 100,000 rows on every page; only a search has PostgreSQL count
        the matches, with the page's own statement (the sort of the page reads every match anyway)."""
        units = self.filterset.unit_totals()
        if units is not None:  # sorted by org unit: each page read from the units it falls in
            return GroupedPaginator(
                queryset, per_page, groups=units, read=partial(_unit_rows, queryset), **kwargs
            )
        total = self.filterset.counted_total()
        if total is None:
            return WindowCountPaginator(queryset, per_page, **kwargs)
        paginator = super().get_paginator(queryset, per_page, **kwargs)
        paginator.count = total  # as the agreement list sets it
        return paginator

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["show_organisation"] = "organisation" in self.filterset.filters
        # The cells as plain values, for a loop whose variables need no lookups and no filters (the loop over
        # 50 rows was most of the page's work).
        target_groups = {group: str(label) for group, label in TargetGroup.choices}
        active, inactive = (
            _("active"),
            format_html('<span class="badge text-bg-secondary">{}</span>', _("inactive")),
        )
        units = dict(self.filterset.form.fields["org_unit"].choices) if self.units_from_options else {}
        context["rows"] = [
            (
                row["pk"],
                row["personnel_number"],
                f"{row['last_name']}, {row['first_name']}",
                row.get("organisation_name"),
                (row["org_unit_name"] if "org_unit_name" in row else units.get(row["org_unit_id"])) or "–",
                target_groups.get(row["target_group"], row["target_group"]),
                row["email"] or "–",
                active if row["is_active"] else inactive,
                f"{row['first_name']} {row['last_name']}",
            )
            for row in context["object_list"]
        ]
        context["filter_controls"] = filter_controls(self.filterset.form, self.filterset.control_help)
        context["filter_query"] = query_without(self.request.GET)
        return context


def _unit_rows(queryset, unit: int | None, start: int, stop: int) -> list:
    """The employees of the (filtered) list in one org unit (None: in none), by name, from `start` to `stop`: a
    walk along the index employee_unit_order."""
    return list(queryset.filter(org_unit=unit).order_by(*Employee._meta.ordering)[start:stop])


class OrgUnitChoicesView(PartnerHRMixin, View):
    """The org units of the organisation chosen on a form (htmx, on change: vielfalt.forms.unit_choices_from)
    into its org unit select, back at "none chosen": only an organisation the user acts for as HR."""

    # The unit fields whose selects take the choices: the portal's forms' org unit, the admin's parent unit.
    UNIT_FIELDS = {"org_unit", "parent"}

    def get(self, request):
        organisation = get_object_or_404(
            Organisation.objects.acting_for(request.user, Role.HR),
            pk=submitted_id(request.GET.get("organisation")) or 0,
        )
        unit_field = request.GET.get("unit", "org_unit")
        if unit_field not in self.UNIT_FIELDS:
            raise Http404
        context = {
            "selects": [(f"id_{unit_field}", [(unit.pk, unit.name) for unit in organisation.units.all()])],
            "empty_label": EmployeeForm.base_fields["org_unit"].empty_label,
        }
        return render(request, "includes/choices_swap.html", context)


class EmployeeCreateView(PartnerHRMixin, CreateView):
    model = Employee
    form_class = EmployeeForm
    template_name = "employees/employee_form.html"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def form_valid(self, form):
        data = dict(form.cleaned_data)
        organisation = data.pop("organisation")
        employee = employee_create(actor=self.request.user, organisation=organisation, **data)
        messages.success(self.request, _("%(name)s was added.") % {"name": employee.full_name})
        return redirect("employee_list")


class EmployeeUpdateView(PartnerHRMixin, UpdateView):
    form_class = EmployeeForm
    template_name = "employees/employee_form.html"

    def get_queryset(self):
        return Employee.objects.visible_to(self.request.user).select_related("organisation")

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def form_valid(self, form):
        # The service reads the record again under its row's lock and applies the form's values to it.
        try:
            employee_update(
                actor=self.request.user,
                employee=self.object,
                opened_version=form.opened_version,
                **form.cleaned_data,
            )
        except EditConflict as conflict:
            form.edit_conflict(conflict)
            return self.form_invalid(form)
        messages.success(self.request, _("The changes were saved."))
        return redirect("employee_list")


class EmployeeDeactivateView(PartnerHRMixin, View):
    def post(self, request, pk):
        employee = get_object_or_404(Employee.objects.visible_to(request.user), pk=pk)
        employee_deactivate(actor=request.user, employee=employee)
        messages.success(request, _("%(name)s was deactivated.") % {"name": employee.full_name})
        return redirect("employee_list")


class EmployeeImportView(PartnerHRMixin, FormView):
    form_class = EmployeeImportForm
    template_name = "employees/employee_import.html"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def form_valid(self, form):
        organisation = form.cleaned_data["organisation"]
        data = form.cleaned_data["file"].read()
        try:
            if not runs_inline(data):
                # A large file would hold this web worker for long: a background job imports it.
                job = employees_import_start(actor=self.request.user, organisation=organisation, data=data)
                return redirect(job)
            result = employees_import_file(actor=self.request.user, organisation=organisation, data=data)
        except TableRefused as refused:
            return self.render_to_response(
                self.get_context_data(form=form, problems=refused.problems), status=422
            )
        messages.success(
            self.request,
            result.summary(),
        )
        return redirect("employee_list")


class EmployeeExportView(PartnerHRMixin, View):
    """The filtered employee list as CSV (streamed) or XLSX; formulas neutralised; every export audited."""

    HEADER = [
        "Personalnummer",
        "Nachname",
        "Vorname",
        "E-Mail",
        "Organisationseinheit",
        "Zielgruppe",
        "Aktiv",
    ]

    def get(self, request, export_format):
        # The file is German like its header, and names target groups as the screens do (the import reads both).
        with translation.override("de"):
            target_groups = {group: str(label) for group, label in TargetGroup.choices}
        queryset = Employee.objects.visible_to(request.user).select_related("org_unit", "organisation")
        filterset = EmployeeFilter(request.GET, queryset=queryset, user=request.user)
        if not filterset.is_valid():
            # django-filter leaves a filter it cannot read out: the file would hold more people than the list
            # the user asked for. The list says what is wrong with the filter.
            messages.error(request, _("Nothing was exported: the list's filter is not valid."))
            return redirect(f"{reverse('employee_list')}?{request.GET.urlencode()}")
        employees = filterset.qs.order_by(
            *text_order(Employee, "organisation__name"), *Employee._meta.ordering
        )
        rows = (
            [
                e.personnel_number,
                e.last_name,
                e.first_name,
                e.email,
                e.org_unit.name if e.org_unit else "",
                target_groups[e.target_group],
                "ja" if e.is_active else "nein",
            ]
            for e in employees.iterator(chunk_size=2000)
        )
        audit_record(
            actor=request.user,
            action=AuditEntry.Action.EXPORT,
            object_repr=record_text(gettext_noop("Employees (%(format)s)"), format=export_format.upper()),
            changes={"filters": {k: v for k, v in request.GET.items() if v and k in filterset.filters}},
        )
        stamp = timezone.localdate().isoformat()
        return download(
            export_format,
            self.HEADER,
            rows,
            filename=f"beschaeftigte-{stamp}",
            title="Beschäftigte",
            stream=True,
        )


class AuditLogView(MinistryMixin, FilterView):
    """The audit log, newest first, a page at a time from where the last one ended (`?before=`/`?after=` an
    entry's id): the log only grows, by every login and change, and a page of it costs the same however long it
    has grown. No page numbers and no total: those would count the whole log on every page."""

    template_name = "audit/auditentry_list.html"
    filterset_class = AuditEntryFilter
    per_page = 50

    def get_queryset(self):
        # Rows as dictionaries of the shown columns (no model instances: see EmployeeListView).
        return (
            AuditEntry.objects.visible_to(self.request.user)
            .order_by("-at", "-pk")
            .values(
                "pk",
                "at",
                "actor_name",
                "actor_id",
                "action",
                "object_repr",
                "content_type_id",
                "changes",
                organisation_name=F("organisation__name"),
            )
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["filter_controls"] = filter_controls(self.filterset.form, self.filterset.control_help)
        query = self.request.GET.copy()
        page = newest_first(
            context["object_list"],
            before=cursor(query.pop("before", [None])[-1]),
            after=cursor(query.pop("after", [None])[-1]),
            per_page=self.per_page,
        )
        query.pop("page", None)  # links kept from when the log had page numbers: the newest page
        for name, key, mark in (("newer_query", "after", page.newer), ("older_query", "before", page.older)):
            if mark is not None:
                link = query.copy()
                link[key] = str(mark)
                context[name] = link.urlencode()
        # The cells as plain values for {% rowformat %} (no lookups and filters per cell in the template).
        actions = {action: str(label) for action, label in AuditEntry.Action.choices}
        short = datetime_formatter("SHORT_DATETIME_FORMAT")
        changes = ChangeReader()
        context["rows"] = [
            (
                short(row["at"]),
                actor_text(row["actor_name"], row["actor_id"]),
                actions.get(row["action"], row["action"]),
                row["object_repr"],
                row["organisation_name"] or "–",
                changes.html(row["content_type_id"], row["changes"]) if row["changes"] else "",
            )
            for row in page.rows
        ]
        return context


class JobDetailView(LoginRequiredMixin, DetailView):
    """A job's state; htmx asks for the fragment again every two seconds until the job is finished."""

    context_object_name = "job"

    def get_queryset(self):
        return Job.objects.visible_to(self.request.user)

    def get_template_names(self):
        if self.request.headers.get("HX-Request"):
            return ["jobs/job_status.html"]
        return ["jobs/job_detail.html"]

    def render_to_response(self, context, **response_kwargs):
        response = super().render_to_response(context, **response_kwargs)
        if self.request.headers.get("HX-Request") and self.object.is_finished:
            # The page that polls shows more than the job (an agreement's documents, a campaign's figures):
            # load it again now that the job's result is there.
            response["HX-Refresh"] = "true"
        return response


class JobRetryView(LoginRequiredMixin, View):
    """The retry button of a failed job (one that could not be queued, or whose worker was lost)."""

    def post(self, request, pk):
        job = get_object_or_404(Job.objects.visible_to(request.user), pk=pk)
        job_retry(actor=request.user, job=job)
        return redirect(job)


class JobDownloadView(LoginRequiredMixin, View):
    def get(self, request, pk):
        job = get_object_or_404(Job.objects.visible_to(request.user), pk=pk, status=Job.Status.READY)
        if not job.result_file:
            if job.result_url:
                return redirect(job.result_url)
            raise Http404
        audit_record(
            actor=request.user, action=AuditEntry.Action.DOWNLOAD, obj=job, object_repr=job.result_name
        )
        return FileResponse(job.result_file.open("rb"), as_attachment=True, filename=job.result_name)


# Checks per client address (vielfalt.throttle: a keyed hash of it, not the address, in the cache).
SEAL_CHECKS = Throttle("seal-check", limit="SEAL_CHECK_LIMIT", seconds="SEAL_CHECK_LIMIT_SECONDS")


class DocumentCheckView(FormView):
    """Public ("Dokument prüfen"): does a PDF carry an intact seal of the portal, and since when?

    The request body is refused before it is read when it is larger than the limit, so that nobody can fill
    the disk through a page that needs no login. The file is parsed in a child process bounded in time and
    memory (vielfalt.seal.check_pdf_bounded): a file built to be slow to parse ties up no worker. And one client
    address has at most SEAL_CHECK_LIMIT checks within SEAL_CHECK_LIMIT_SECONDS: beyond that the page answers 429
    and checks nothing, so that nobody keeps the workers busy with one bounded check after another."""

    template_name = "vielfalt/document_check.html"
    form_class = DocumentCheckForm

    def post(self, request, *args, **kwargs):
        if (
            body_length(request) > settings.SEAL_CHECK_MAX_BYTES + 64 * 1024
        ):  # the file plus the form's other fields
            refused = _("The file is larger than %(limit)s.") % {
                "limit": filesizeformat(settings.SEAL_CHECK_MAX_BYTES)
            }
            return self.render_to_response(self.get_context_data(refused=refused), status=413)
        if SEAL_CHECKS.exceeded(client_address(request)):
            minutes = max(1, -(-settings.SEAL_CHECK_LIMIT_SECONDS // 60))
            refused = ngettext(
                "You have had many documents checked in a short time. Please try again in %(minutes)s minute.",
                "You have had many documents checked in a short time. Please try again in %(minutes)s minutes.",
                minutes,
            ) % {"minutes": minutes}
            return self.render_to_response(self.get_context_data(refused=refused), status=429)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        SEAL_CHECKS.add(client_address(self.request))
        upload = form.cleaned_data["file"]
        upload.seek(0)
        check = check_pdf_bounded(upload.read())
        return self.render_to_response(
            self.get_context_data(form=self.get_form_class()(), check=check, file_name=upload.name)
        )


class SessionKeepAliveView(LoginRequiredMixin, View):
    """ "Stay logged in" in the warning before the idle timeout (static/js/session.js, WCAG 2.2.1): the session's
    30 minutes start again now. Only the caller's own session, and not past its 12 hours after the login
    (vielfalt.middleware.SessionLifetimeMiddleware ends it first)."""

    http_method_names = ["post"]

    def post(self, request):
        request.session[SESSION_TOUCHED_KEY] = int(time.time())  # saved with a new expiry
        return HttpResponse(status=204)


class PublicPageView(TemplateView):
    """Accessibility statement, imprint and privacy: open to everyone."""


def csrf_failure(request, reason=""):
    """`CSRF_FAILURE_VIEW`: a form refused by the CSRF check, in the portal's layout and the user's language.
    Django's own page is a bare English document ("Forbidden (403)", `lang="en"`) without a way on. People meet it
    with a form opened before they logged in or out in another tab, since the login gives a new token."""
    back, host = request.headers.get("Referer", ""), {request.get_host()}
    if url_has_allowed_host_and_scheme(back, allowed_hosts=host, require_https=request.is_secure()):
        parts = urlsplit(back)
        back = parts.path + (f"?{parts.query}" if parts.query else "")
    # The path alone again: "https://portal//evil.example/" is this host's, its path "//evil.example/" is not.
    if not url_has_allowed_host_and_scheme(back, allowed_hosts=host):
        back = ""
    context = {"back": back, "no_cookie": reason == REASON_NO_CSRF_COOKIE}
    return render(request, "403_csrf.html", context, status=403)


@require_safe
def healthz(request):
    """Liveness probe for the container, and the trivial view the benchmarks compare against."""
    return HttpResponse("ok", content_type="text/plain")
