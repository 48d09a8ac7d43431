"""Data protection pages: retention overview (administrators), record of processing (ministry, administrators),
Art. 15 access export of one employee (partner HR of the employee's organisation) and of one's own account
(every user)."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.functional import cached_property
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.generic import TemplateView

from vielfalt.jobs import job_enqueue
from vielfalt.models import Employee, Role
from vielfalt.permissions import PartnerHRMixin, RoleRequiredMixin
from vielfalt.privacy import ACCESS_EXPORT_JOB

from .privacy import (
    ErasureRefused,
    access_export,
    access_export_json,
    access_export_record,
    employee_erase,
    processing_record,
    retention_overview,
    user_access_export,
    user_access_export_json,
)
from .tasks import task_access_export_pdf, task_processing_record_pdf


class RetentionView(RoleRequiredMixin, TemplateView):
    """The retention periods and what the next run of the purge would do."""

    roles = (Role.ADMIN,)
    template_name = "privacy/retention.html"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), **retention_overview()}


class ProcessingRecordView(RoleRequiredMixin, TemplateView):
    """The record of processing activities (Art. 30 GDPR); POST makes its PDF as a background job."""

    roles = (Role.MINISTRY, Role.ADMIN)
    template_name = "privacy/record.html"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "records": processing_record()}

    def post(self, request):
        job = job_enqueue(
            task=task_processing_record_pdf,
            kind="processing_record_pdf",
            description=_("Record of processing activities (PDF)"),
            requested_by=request.user,
            role=(Role.MINISTRY, Role.ADMIN),
            language=get_language(),
        )
        messages.info(request, _("The PDF is being created; this page shows when it is ready."))
        return redirect(job)


class EmployeeAccessView(PartnerHRMixin, TemplateView):
    """What the portal holds about one employee, on screen, as JSON (`?format=json`) and as PDF (POST); and its
    erasure on request (Art. 17, POST with action=erase)."""

    template_name = "privacy/access.html"

    @cached_property
    def employee(self) -> Employee:
        queryset = Employee.objects.visible_to(self.request.user).select_related("organisation")
        return get_object_or_404(queryset, pk=self.kwargs["pk"])

    def get(self, request, *args, **kwargs):
        if request.GET.get("format") == "json":
            content = access_export_json(actor=request.user, employee=self.employee)
            access_export_record(actor=request.user, employee=self.employee, export_format="json")
            response = HttpResponse(content, content_type="application/json; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="auskunft-art15-{self.employee.pk}.json"'
            return response
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["employee"] = self.employee
        context["export"] = access_export(actor=self.request.user, employee=self.employee)
        return context

    def post(self, request, pk):
        employee = self.employee
        if request.POST.get("action") == "erase":
            try:
                employee_erase(actor=request.user, employee=employee)
            except ErasureRefused as refused:
                messages.error(request, str(refused))
            else:
                messages.success(
                    request, _("Names, e-mail and personnel number were replaced by a pseudonym.")
                )
            return redirect("employee_access", pk=employee.pk)
        access_export_record(actor=request.user, employee=employee, export_format="pdf")
        job = job_enqueue(
            task=task_access_export_pdf,
            kind=ACCESS_EXPORT_JOB,
            description=_("Access export (Art. 15 GDPR) of employee no. %(pk)s") % {"pk": employee.pk},
            requested_by=request.user,
            organisation=employee.organisation,
            role=Role.HR,
            employee_id=employee.pk,
            actor_id=request.user.pk,
            language=get_language(),
        )
        messages.info(request, _("The PDF is being created; this page shows when it is ready."))
        return redirect(job)


class MyDataView(LoginRequiredMixin, TemplateView):
    """What the portal holds about the logged-in user (Art. 15 GDPR), on screen and as JSON (`?format=json`).
    Only one's own account, as changing one's password or second factor: no role is needed and no other
    user's data can be asked for."""

    template_name = "privacy/my_data.html"
    rows_shown = 100  # per section on the page, the latest (read no further); the JSON has every row

    def get(self, request, *args, **kwargs):
        if request.GET.get("format") == "json":
            response = HttpResponse(
                user_access_export_json(user=request.user), content_type="application/json; charset=utf-8"
            )
            response["Content-Disposition"] = 'attachment; filename="auskunft-art15-konto.json"'
            return response
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        export = user_access_export(user=self.request.user, latest=self.rows_shown)
        return {**super().get_context_data(**kwargs), "export": export}
