"""The programme overview at /dashboard/: the ministry sees the whole programme, partner HR its own part."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.middleware.csrf import get_token
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView

from partnerships.models import Commitment
from vielfalt.caching import fill_csrf, programme_fragment, render_shared
from vielfalt.models import Organisation, Role, TargetGroup
from vielfalt.permissions import RoleRequiredMixin, may

from .figures import dashboard_organisation_ids, programme, report_request

FIRST_YEAR = 2012  # the programme began in 2012


def programme_years() -> list[int]:
    return list(range(timezone.localdate().year, FIRST_YEAR - 1, -1))


def requested_year(request) -> int | None:
    value = request.GET.get("year", "") or request.POST.get("year", "")
    if value.isdigit() and int(value) in programme_years():
        return int(value)
    return None


class DashboardMixin(RoleRequiredMixin):
    roles = (Role.MINISTRY, Role.HR)


class DashboardView(DashboardMixin, TemplateView):
    """The overview. At full scale its figures take the database seconds to count, so the rendered content
    is cached per scope (the whole programme, or one partner's), year, language and day, under the programme's
    data version that every write to what it counts bumps (vielfalt.caching); DASHBOARD_CACHE_SECONDS bounds
    how long a bulk change that bypasses the signals can go unseen."""

    template_name = "dashboard/dashboard.html"
    content_template_name = "dashboard/_content.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        organisation_ids = dashboard_organisation_ids(user)
        year = requested_year(self.request)
        scope = "all" if organisation_ids is None else sorted(organisation_ids)
        content = programme_fragment(
            "dashboard", scope, year, get_language(), timezone.localdate()
        ).get_or_render(
            settings.DASHBOARD_CACHE_SECONDS,
            lambda: render_shared(self.content_template_name, self.content_context(organisation_ids, year)),
        )
        context["content"] = mark_safe(fill_csrf(content, get_token(self.request)))  # noqa: S308  (our render)
        return context

    def content_context(self, organisation_ids, year) -> dict:
        overview = programme(organisation_ids=organisation_ids, year=year)
        context = {
            "programme": overview,
            "years": programme_years(),
            "target_groups": TargetGroup.choices,
            # The ministry's scope is the whole programme; a partner's HR never shares a fragment with it.
            "may_programme_report": organisation_ids is None,
            "report_partners": [row.organisation for row in overview.partners],
        }
        if organisation_ids is not None:
            context["scope_label"] = ", ".join(row.organisation.name for row in overview.partners)
        return context


class CommitmentListView(DashboardMixin, TemplateView):
    """The commitments behind the dashboard's progress chart, optionally of one progress state."""

    template_name = "dashboard/commitment_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        figures = programme(
            organisation_ids=dashboard_organisation_ids(self.request.user), year=requested_year(self.request)
        ).commitments
        agreement = self.request.GET.get("agreement", "")
        if agreement.isdigit():
            figures = [figure for figure in figures if figure.commitment.agreement_id == int(agreement)]
        progress = self.request.GET.get("progress", "")
        if progress in Commitment.Progress.values:
            figures = [figure for figure in figures if figure.progress == progress]
            context["progress_label"] = Commitment.Progress(progress).label
        context["figures"] = figures
        return context


class ReportRequestView(DashboardMixin, View):
    """Start a report as a background job and show its status page."""

    def post(self, request):
        year = requested_year(request)
        if year is None:
            raise Http404
        kind = request.POST.get("kind")
        if kind == "programme":
            if not may(request.user, Role.MINISTRY):
                raise PermissionDenied
            job = report_request(actor=request.user, year=year)
        elif kind == "partner":
            organisations = Organisation.objects.acting_for(request.user, (Role.MINISTRY, Role.HR)).exclude(
                kind=Organisation.Kind.STATE_MINISTRY
            )
            value = request.POST.get("organisation", "")
            organisation = organisations.filter(pk=int(value)).first() if value.isdigit() else None
            if organisation is None:
                raise Http404
            job = report_request(actor=request.user, year=year, organisation=organisation)
        else:
            raise Http404
        messages.info(request, _("The report is being created; this page shows when it is ready."))
        return redirect(job)
