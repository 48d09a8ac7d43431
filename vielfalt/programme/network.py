"""The partners' network where it needs the trainings app too (the roof reads from every app): the directory
with the courses a partner opens to others and a filter by the target groups of its courses, and the network's
figures per partner and year for the dashboard.

The two directory views are mounted at the network's own paths (/network/partners/…) before the network's
URLs (vielfalt/urls.py includes the programme's URLs first), so that the network app itself never imports
trainings."""

from django import forms
from django.db.models import Count, Exists, OuterRef, Prefetch
from django.db.models.functions import ExtractYear
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView

from partnerships.network import views as network_views
from partnerships.network.forms import DirectoryFilterForm
from partnerships.network.models import Answer, Meeting, PracticeEntry, Question, Registration
from trainings.models import COURSE_TARGET_GROUPS, Course, CourseParticipant
from vielfalt.collation import sort_key, text_order
from vielfalt.models import Organisation
from vielfalt.permissions import organisation_ids

from .views import DashboardMixin


def opened_courses():
    """Courses another organisation takes part in: those a partner opens to others."""
    return Course.objects.filter(Exists(CourseParticipant.objects.filter(course=OuterRef("pk"))))


class ProgrammeDirectoryForm(DirectoryFilterForm):
    target_group = forms.ChoiceField(
        label=_("Target group of its courses"),
        choices=[("", _("all")), *COURSE_TARGET_GROUPS],
        required=False,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target_group"].widget.attrs["class"] = "form-select"


class PartnerListView(network_views.PartnerListView):
    form_class = ProgrammeDirectoryForm

    def filter_partners(self, partners, data):
        partners = super().filter_partners(partners, data)
        if data.get("target_group"):
            courses = Course.objects.filter(target_groups__icontains=f'"{data["target_group"]}"')
            partners = partners.filter(pk__in=courses.values("organiser_id"))
        return partners


class PartnerDetailView(network_views.PartnerDetailView):
    template_name = "dashboard/network_partner_detail.html"

    def get_context_data(self, partner) -> dict:
        context = super().get_context_data(partner)
        courses = list(
            opened_courses()
            .filter(organiser=partner)
            .prefetch_related(
                Prefetch("participants", queryset=CourseParticipant.objects.select_related("organisation"))
            )
            .order_by(*text_order(Course, "title"))
        )
        visible = set(
            Course.objects.visible_to(self.request.user)
            .filter(pk__in=[c.pk for c in courses])
            .values_list("pk", flat=True)
        )
        context["opened_courses"] = [(course, course.pk in visible) for course in courses]
        return context


def _count_by(queryset, organisation_field: str, date_field: str, ids) -> dict[tuple[int, int], int]:
    if ids is not None:
        queryset = queryset.filter(**{f"{organisation_field}__in": ids})
    rows = (
        queryset.annotate(year=ExtractYear(date_field))
        .values_list(organisation_field, "year")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {(organisation_id, year): n for organisation_id, year, n in rows}


class NetworkFiguresView(DashboardMixin, TemplateView):
    """Practice entries, meetings hosted, participants sent and questions asked and answered, per partner and
    year: the ministry for every partner, partner HR for its own organisations."""

    template_name = "dashboard/network.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        ids = organisation_ids(self.request.user, DashboardMixin.roles)
        figures = {
            "entries": _count_by(PracticeEntry.objects.published(), "organisation_id", "published_at", ids),
            "meetings": _count_by(
                Meeting.objects.filter(cancelled_at__isnull=True), "host_id", "starts_at", ids
            ),
            "participants": _count_by(
                Registration.objects.filter(status=Registration.Status.SEATED),
                "organisation_id",
                "meeting__starts_at",
                ids,
            ),
            "questions": _count_by(Question.objects.all(), "organisation_id", "created_at", ids),
            "answers": _count_by(Answer.objects.all(), "organisation_id", "created_at", ids),
        }
        keys = sorted({key for counts in figures.values() for key in counts}, key=lambda k: (-k[1], k[0]))
        names = dict(Organisation.objects.filter(pk__in={k[0] for k in keys}).values_list("pk", "name"))
        context["rows"] = sorted(
            (
                {
                    "organisation": names.get(key[0], ""),
                    "year": key[1],
                    **{n: c.get(key, 0) for n, c in figures.items()},
                }
                for key in keys
            ),
            key=lambda row: (-row["year"], sort_key(row["organisation"])),
        )
        # The cells as plain values for {% rowformat %} (400 partners over a dozen years: 1,600 rows of 7 cells,
        # which a template loop localised and escaped one by one: 68 ms a page).
        context["cells"] = [
            (
                row["year"],
                row["organisation"],
                row["entries"],
                row["meetings"],
                row["participants"],
                row["questions"],
                row["answers"],
            )
            for row in context["rows"]
        ]
        return context


__all__ = ["NetworkFiguresView", "PartnerDetailView", "PartnerListView"]
