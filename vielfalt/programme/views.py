"""The programme overview at /dashboard/: the ministry sees the whole programme, partner HR its own part."""

from html import escape as html_escape
from urllib.parse import quote

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import get_format
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView

from partnerships.models import Commitment
from vielfalt.formats import escape_text
from vielfalt.models import Role, TargetGroup
from vielfalt.pagination import query_without
from vielfalt.permissions import RoleRequiredMixin, acting_for_partners, may
from vielfalt.validation import submitted_id

from .figures import (
    CommitmentFigure,
    DashboardPartner,
    commitment_rows,
    dashboard_organisation_ids,
    dashboard_programme,
    programme,
    report_request,
)

FIRST_YEAR = 2012  # the programme began in 2012


def programme_years() -> list[int]:
    return list(range(timezone.localdate().year, FIRST_YEAR - 1, -1))


def requested_year(request) -> int | None:
    year = submitted_id(request.GET.get("year", "") or request.POST.get("year", ""))
    return year if year in programme_years() else None


def partner_rows_html(rows: list[tuple]) -> str:
    """The rows of the dashboard's partner table, from `dashboard_programme`'s plain partner tuples (fields as
    DashboardPartner names them). Built here rather than in the template language: for 400 partners × 14 cells
    the template engine took most of the page's time (a variable lookup, a localised number and a URL reversal
    per cell); this takes a few milliseconds, for the same HTML. Text is escaped with `html.escape` (what
    Django's `escape` does, without its check for lazy strings per call) where it holds a character to escape;
    numbers and what `quote` returns need no escaping."""
    index_url = reverse("partnerships:index")
    procedures_url = reverse("partnerships:procedure_list")
    suppressed = html_escape(_("suppressed"))
    separator = get_format("DECIMAL_SEPARATOR")
    trained_keys = [
        (group, f'<td class="text-end" data-key="trained-{html_escape(group)}">')
        for group in TargetGroup.values
    ]

    statuses = {}  # a handful of labels, each escaped once

    def share(value: float | None) -> str:
        return "–" if value is None else f"{value:.1f}".replace(".", separator) + " %"

    lines = []
    for (
        pk,
        slug,
        name,
        status_label,
        progress,
        trained,
        trained_share,
        respondents,
        migration_share,
        procedures,
        posts_filled,
    ) in rows:
        trained_cells = "".join(f"{cell}{trained.get(group, 0)}</td>" for group, cell in trained_keys)
        if respondents is None:
            respondents = migration = "–"
        else:
            migration = suppressed if migration_share is None else share(migration_share)
        if (status := statuses.get(status_label)) is None:
            status = statuses[status_label] = html_escape(status_label or "–")
        lines.append(
            f'<tr data-organisation="{escape_text(slug)}">'
            f'<th scope="row" class="fw-normal">{escape_text(name)}</th>'
            f'<td><a href="{index_url}?q={quote(name)}">{status}</a></td>'
            f'<td class="text-end" data-key="on_track">{progress.get("on_track", 0)}</td>'
            f'<td class="text-end" data-key="behind">{progress.get("behind", 0)}</td>'
            f'<td class="text-end" data-key="done">{progress.get("done", 0)}</td>'
            f"{trained_cells}"
            f'<td class="text-end">{share(trained_share)}</td>'
            f'<td class="text-end" data-key="respondents">{respondents}</td>'
            f'<td class="text-end" data-key="migration">{migration}</td>'
            f'<td class="text-end" data-key="procedures"><a href="{procedures_url}?organisation={pk}">'
            f"{procedures}</a></td>"
            f'<td class="text-end" data-key="posts_filled">{posts_filled}</td></tr>'
        )
    return mark_safe("\n".join(lines))  # noqa: S308  (every value escaped above)


def year_options_html(years: list[int], selected: int | None = None) -> str:
    """The <option>s of a year choice (the page has three, of a dozen years each): numbers, as they are, without
    the template engine localising each one."""
    return mark_safe(  # noqa: S308  (numbers only)
        "".join(
            f'<option value="{year}"{" selected" if year == selected else ""}>{year}</option>'
            for year in years
        )
    )


def partner_options_html(rows: list[tuple]) -> str:
    """The <option>s of the activity report's partner choice: 400 of them, built as the rows above."""
    return mark_safe(  # noqa: S308  (the name escaped, the primary key a number)
        "".join(f'<option value="{row[0]}">{html_escape(row[2])}</option>' for row in rows)
    )


class DashboardMixin(RoleRequiredMixin):
    roles = (Role.MINISTRY, Role.HR)


class DashboardView(DashboardMixin, TemplateView):
    """The overview. Its figures come from aggregate queries over counts that the database keeps up to date
    with every write (trainings.StaffTally/AttendanceTally, surveys.ResponseTally), about 100 ms for the whole
    programme at full scale (cold); the aggregates are cached until the next write to their tables
    (figures.dashboard_programme), so that the ministry's most visited page costs what a list page does."""

    template_name = "dashboard/dashboard.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        organisation_ids = dashboard_organisation_ids(self.request.user)
        context.update(self.content_context(organisation_ids, requested_year(self.request)))
        return context

    def content_context(self, organisation_ids, year) -> dict:
        overview = dashboard_programme(organisation_ids=organisation_ids, year=year)
        years = programme_years()
        context = {
            "programme": overview,
            "year_options": year_options_html(years, selected=overview.year),
            "report_year_options": year_options_html(years),
            "target_groups": TargetGroup.choices,
            "may_programme_report": organisation_ids is None,
            "report_partners": partner_options_html(overview.partners),
            "partner_rows": partner_rows_html(overview.partners),
        }
        if organisation_ids is not None:
            context["scope_label"] = ", ".join(DashboardPartner._make(row).name for row in overview.partners)
        return context


class CommitmentListView(DashboardMixin, TemplateView):
    """The commitments behind the dashboard's progress chart, optionally of one progress state or agreement, a
    page of 50 at a time: their progress from the dashboard's own figures (`commitment_rows`), then only the
    page's commitments read."""

    template_name = "dashboard/commitment_list.html"
    paginate_by = 50

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        organisation_ids = dashboard_organisation_ids(self.request.user)
        year = requested_year(self.request)
        agreement = submitted_id(self.request.GET.get("agreement"))
        progress = self.request.GET.get("progress", "")
        progress = progress if progress in Commitment.Progress.values else None
        if progress:
            context["progress_label"] = Commitment.Progress(progress).label
        rows = commitment_rows(
            organisation_ids=organisation_ids, year=year, progress=progress, agreement=agreement
        )
        if rows is None:  # SQLite: every commitment's figure computed in Python
            figures = [
                figure
                for figure in programme(organisation_ids=organisation_ids, year=year).commitments
                if (agreement is None or figure.commitment.agreement_id == agreement)
                and (progress is None or figure.progress == progress)
            ]
            rows = [(figure.commitment.pk, figure.progress, figure.computed) for figure in figures]
        paginator = Paginator(rows, self.paginate_by)
        page = paginator.get_page(self.request.GET.get("page"))
        commitments = Commitment.objects.select_related("agreement__partner").in_bulk(
            [row[0] for row in page]
        )
        context["figures"] = [
            CommitmentFigure(commitment=commitments[pk], progress=state, computed=computed)
            for pk, state, computed in page
            if pk in commitments  # deleted since the figures were read
        ]
        context["paginator"], context["page_obj"] = paginator, page
        context["filter_query"] = query_without(self.request.GET)
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
            organisations = acting_for_partners(request.user, (Role.MINISTRY, Role.HR))
            organisation = organisations.filter(
                pk=submitted_id(request.POST.get("organisation")) or 0
            ).first()
            if organisation is None:
                raise Http404
            job = report_request(actor=request.user, year=year, organisation=organisation)
        else:
            raise Http404
        messages.info(request, _("The report is being created; this page shows when it is ready."))
        return redirect(job)
