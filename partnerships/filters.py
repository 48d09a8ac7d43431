import django_filters
from django.db import connection
from django.db.models import Case, IntegerField, Q, Value, When
from django.utils.translation import gettext_lazy as _

from vielfalt.filters import PortalFilterSet, SearchFilter, TextOrderingFilter, TypedChoiceFilter
from vielfalt.models import Organisation

from .models import Agreement, Signatory
from .triggers import FROZEN

# The years in which agreements were signed, newest first: from the latest date of signing, one index probe
# (agreement_signed_on) for the latest date before each year found, instead of reading every agreement.
SIGNING_YEARS_SQL = """
WITH RECURSIVE years(day) AS (
    SELECT max(signed_on) FROM partnerships_agreement
    UNION ALL
    SELECT (
        SELECT max(signed_on) FROM partnerships_agreement WHERE signed_on < make_date(extract(year FROM day)::int, 1, 1)
    ) FROM years WHERE day IS NOT NULL
)
SELECT extract(year FROM day)::int FROM years WHERE day IS NOT NULL
"""


def signing_years():
    """(year, label) of every year an agreement was signed in, newest first: on PostgreSQL a handful of index
    look-ups (SIGNING_YEARS_SQL), elsewhere (SQLite, `make run` without DATABASE_URL) the ORM's distinct years."""
    if connection.vendor != "postgresql":
        return signing_years_portable()
    with connection.cursor() as cursor:
        cursor.execute(SIGNING_YEARS_SQL)
        return [(year, str(year)) for (year,) in cursor.fetchall()]


def signing_years_portable():
    days = Agreement.objects.filter(signed_on__isnull=False).dates("signed_on", "year", order="DESC")
    return [(day.year, str(day.year)) for day in days]


# The statuses in the order of the life cycle: what "sort by status" means to a reader, in any language (their
# codes' order, "draft, ended, in_review, …", is neither that nor the order of their German names).
LIFE_CYCLE = Case(
    *(When(status=status, then=Value(position)) for position, status in enumerate(Agreement.Status.values)),
    output_field=IntegerField(),
)


class AgreementOrderingFilter(TextOrderingFilter):
    def filter(self, qs, value):
        if any(param and param.removeprefix("-") == "status" for param in value or ()):
            qs = qs.alias(life_cycle=LIFE_CYCLE)
        return super().filter(qs, value)


# Every agreement that was signed, in force or ended since (its validity ran out, an amendment replaced it): what
# an archive of the signed agreements holds, and what the export offers first.
CONCLUDED = "concluded"


class AgreementFilter(PortalFilterSet):
    q = SearchFilter()
    status = django_filters.ChoiceFilter(
        choices=[*Agreement.Status.choices, (CONCLUDED, _("signed or ended"))],
        label=_("Status"),
        method="filter_status",
    )
    partner_kind = django_filters.ChoiceFilter(
        field_name="partner__kind",
        choices=[c for c in Organisation.Kind.choices if c[0] != Organisation.Kind.STATE_MINISTRY],
        label=_("Kind of partner"),
    )
    partner_district = django_filters.ChoiceFilter(
        field_name="partner__district",
        choices=Organisation.District.choices,
        label=_("Administrative district"),
    )
    year = TypedChoiceFilter(
        field_name="signed_on__year", choices=signing_years, coerce=int, label=_("Year signed")
    )
    ordering = AgreementOrderingFilter(
        fields=(
            ("partner__name", "partner"),
            ("title", "title"),
            ("life_cycle", "status"),
            ("signed_on", "signed"),
            ("updated_at", "updated"),
        ),
        label=_("Sort by"),
        # Not django-filter's "- all -": unsorted, the list shows the latest change first.
        empty_label=_("Last change (default)"),
        then=("-updated_at", "-pk"),
        field_labels={
            "partner__name": _("Partner"),
            "title": _("Title"),
            "life_cycle": _("Status"),
            "signed_on": _("Date of signing"),
            "updated_at": _("Last change"),
        },
    )

    class Meta:
        model = Agreement
        fields = ["q", "status", "partner_kind", "partner_district", "year"]

    def filter_status(self, queryset, name, value):
        return with_status(queryset, value)

    def search(self, queryset, name, value):
        """Each word in the title, the place, the partner's name or a signatory's name. The partner's name is
        matched among the organisations, not through a join: a condition over both tables can only be checked
        once they are joined, and with a page's LIMIT PostgreSQL joined every agreement to every organisation to
        check it (2,000 × 403 pairs, 788,085 of them dropped: 37–41 ms of a search for "0042" at full scale)."""
        for word in value.split()[:5]:
            queryset = queryset.filter(
                Q(title__icontains=word)
                | Q(place__icontains=word)
                | Q(partner__in=Organisation.objects.filter(name__icontains=word).values("pk"))
                | Q(pk__in=Signatory.objects.filter(name__icontains=word).values("agreement_id"))
            )
        return queryset


def with_status(agreements, status: str):
    """The agreements of a status, or (CONCLUDED) every one signed."""
    if status == CONCLUDED:
        return agreements.filter(status__in=FROZEN)
    return agreements.filter(status=status)
