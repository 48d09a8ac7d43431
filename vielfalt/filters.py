import django_filters
from django import forms
from django.db import connection
from django.db.models import F, Func, OrderBy, Q, Value
from django.db.models.functions import Collate, Upper
from django.db.models.lookups import Regex
from django.forms.utils import pretty_name
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_filters.fields import ChoiceField
from django_filters.filters import FilterMethod, QuerySetRequestMixin

from .collation import NAMES_SQL, field_at, text_order
from .forms import copy_sharing_choices
from .models import (
    SEARCH_ANYWHERE,
    AuditEntry,
    Employee,
    Organisation,
    OrgUnit,
    Role,
    TargetGroup,
    employee_total,
    employee_unit_totals,
    word_start,
)
from .permissions import organisation_ids
from .validation import SearchField, submitted_id

ACTIVE_CHOICES = [("true", _("active")), ("false", _("inactive"))]


class TypedChoiceField(ChoiceField, forms.TypedChoiceField):
    """django-filter's choice field (an empty option first: "all") whose value is coerced (`coerce`)."""


class TypedChoiceFilter(django_filters.ChoiceFilter):
    """A choice filter with a coerced value and, unlike django-filter's TypedChoiceFilter, the empty option of
    its other choice filters: a select without one filters by its first option as soon as the form is sent."""

    field_class = TypedChoiceField


def is_filtered(query) -> bool:
    """Whether a list's query string narrows the list (not only pages or sorts it): unfiltered, a list's total
    comes from the counts kept by triggers (vielfalt.counts) instead of counting its rows."""
    return any(value for key, value in query.items() if key not in ("page", "ordering"))


def _copy_filter(filter_):
    """A filter for one request: its attributes shared, its `extra` its own (the one thing a filter changes on
    itself, e.g. a queryset or choices set per request), its `method` bound to itself, no form field built
    yet."""
    copy = filter_.__class__.__new__(filter_.__class__)
    copy.__dict__.update(filter_.__dict__)
    copy.extra = dict(filter_.extra)
    copy.__dict__.pop("_field", None)
    if isinstance(copy.__dict__.get("filter"), FilterMethod):
        copy.filter = FilterMethod(copy)
    return copy


class _DeclaredFilters(dict):
    """The filters a filterset class declares. django-filter deep-copies them for every request, with every
    choice, label and queryset they hold: a filter copied as `_copy_filter` copies it is as independent, at a
    tenth of the cost."""

    def __deepcopy__(self, memo):
        return {name: _copy_filter(filter_) for name, filter_ in self.items()}


class _SharedFields(dict):
    """A filter form's fields, which each form copies sharing their choices (vielfalt.forms)."""

    def __deepcopy__(self, memo):
        return {name: copy_sharing_choices(field, memo) for name, field in self.items()}


class SearchFilter(django_filters.CharFilter):
    """A list's search (`q`): a SearchField, of bounded length, filtered by the filter set's `search` method."""

    field_class = SearchField

    def __init__(self, **kwargs):
        super().__init__(**{"label": _("Search"), "method": "search", **kwargs})


class PortalFilterSet(django_filters.FilterSet):
    """A FilterSet for pages requested often (every list page).

    django-filter builds a new form class and new form fields from the filters on every request, before the
    form deep-copies those fields again. Here the form class is built once per filterset class and set of
    filters, from the declared filters, and its forms copy its fields sharing their choices. Options that depend
    on who asks are not in the filters but set on each form's own fields, from `choices_for_request()` (a dict
    of field name to choices). A filter whose field depends on the request
    (ModelChoiceFilter and its kind, which query their options through the ORM) is not allowed: its options
    come from `choices_for_request()` instead, in a typed choice filter. It may also set `control_help`, a
    dict of field name to a hint shown under that control (includes/filter_form.html)."""

    _form_classes = None
    control_help: dict = {}  # noqa: RUF012  (replaced per request, never changed in place)

    @classmethod
    def get_filters(cls):
        filters = super().get_filters()
        for name, filter_ in filters.items():
            if isinstance(filter_, QuerySetRequestMixin):
                raise TypeError(f"{cls.__name__}.{name}: set its options in choices_for_request() instead")
        return _DeclaredFilters(filters)

    def choices_for_request(self) -> dict:
        return {}

    def get_form_class(self):
        # Per class (a subclass does not share its parent's), and per set of filters: __init__ may remove some.
        if "_form_classes" not in type(self).__dict__:
            type(self)._form_classes = {}
        key = tuple(self.filters)
        form_class = self._form_classes.get(key)
        if form_class is None:
            # From the declared filters, not this request's copies: nothing one request sets on its filters
            # reaches the form class that every later request uses (options per request: choices_for_request).
            fields = {}
            for name in key:
                filter_ = _copy_filter(self.base_filters[name])
                filter_.model = self._meta.model
                fields[name] = filter_.field
            form_class = type(f"{type(self).__name__}Form", (self._meta.form,), fields)
            form_class.base_fields = _SharedFields(form_class.base_fields)
            self._form_classes[key] = form_class
        return form_class

    @property
    def form(self):
        if not hasattr(self, "_form"):
            form = super().form
            for name, choices in self.choices_for_request().items():
                form.fields[name].choices = choices
        return self._form


def _options(select: str, column: str, ids, order: str, *, also=None) -> list[tuple[int, str]]:
    """(id, label) rows of `select` whose `column` is one of `ids` (None: every row) and that meet `also` (a
    condition and its parameter) if given, in `order`. Plain SQL: the ORM took several times longer to build
    these statements and their model instances than the database took to answer them, on every list page."""
    conditions, params = [], []
    if ids is not None:
        if not ids:
            return []
        conditions.append(f"{column} IN ({', '.join(['%s'] * len(ids))})")
        params += sorted(ids)
    if also is not None:
        conditions.append(also[0])
        params.append(also[1])
    if conditions:
        select += " WHERE " + " AND ".join(conditions)
    with connection.cursor() as cursor:
        cursor.execute(f"{select} ORDER BY {order}", params)
        return cursor.fetchall()


def organisation_options(ids) -> list[tuple[int, str]]:
    """The organisations with these ids (None: every one), by name."""
    table = connection.ops.quote_name(Organisation._meta.db_table)
    return _options(f"SELECT id, name FROM {table}", "id", ids, f"name COLLATE {NAMES_SQL}, id")  # noqa: S608


def org_unit_options(ids, *, name_organisation: bool, unit_id: int | None = None) -> list[tuple[int, str]]:
    """The org units of the organisations with these ids (None: of every one), by name; with `unit_id` only that
    unit, if it is one of theirs. With `name_organisation` each label names its organisation too, "Ordnungsamt
    (Stadt Duisburg)": units of different organisations often share a name."""
    units = connection.ops.quote_name(OrgUnit._meta.db_table)
    also = None if unit_id is None else ("u.id = %s", unit_id)
    if not name_organisation:
        select = f"SELECT u.id, u.name FROM {units} u"  # noqa: S608
        return _options(select, "u.organisation_id", ids, f"u.name COLLATE {NAMES_SQL}, u.id", also=also)
    organisations = connection.ops.quote_name(Organisation._meta.db_table)
    select = (
        f"SELECT u.id, u.name || ' (' || o.name || ')' FROM {units} u"  # noqa: S608
        f" JOIN {organisations} o ON o.id = u.organisation_id"
    )
    return _options(
        select,
        "u.organisation_id",
        ids,
        f"u.name COLLATE {NAMES_SQL}, o.name COLLATE {NAMES_SQL}, u.id",
        also=also,
    )


def _chosen_id(data, name: str) -> int | None:
    """The id a filter form's data names under `name`, if it is one (not whether the user may choose it)."""
    return submitted_id((data or {}).get(name))


def search_order(queryset):
    """A searched queryset in the same order, sorted after the search instead of walked along an index.

    The matches of a search lie together in a list's order (every "Müller" sorts where "Müller" sorts), so
    PostgreSQL's bet on walking the order's index until a page of matches turns up loses: for a common name it
    read half of 100,000 employees. Sorted by the same values through expressions no index holds, it reads the
    matches through the search's (trigram) indexes and sorts only them."""
    return queryset.order_by(*[_unindexed(term, queryset.model) for term in queryset.query.order_by])


def _unindexed(term, model):
    """An ordering term (a field name, "-" for descending, or a collated column as `text_order` writes it) as an
    expression sorting the same but read from no index. A term that names a relation stays: Django sorts by the
    related model's ordering there, which a join reads."""
    if isinstance(term, OrderBy) and isinstance(term.expression, Collate):
        column = term.expression.get_source_expressions()[0]
        if isinstance(column, F) and not _names_relation(model, column.name):
            return OrderBy(Collate(_Unindexed(column), term.expression.collation), descending=term.descending)
        return term
    if not isinstance(term, str) or term == "?" or _names_relation(model, term.removeprefix("-")):
        return term
    expression = _Unindexed(F(term.removeprefix("-")))
    return expression.desc() if term.startswith("-") else expression.asc()


def _names_relation(model, path: str) -> bool:
    field = field_at(model, path)
    return field is not None and field.is_relation


class _Unindexed(Func):
    """`COALESCE(column, column)`: the column's value, of its type, NULL where it is NULL, which no index holds."""

    template = "COALESCE(%(expressions)s, %(expressions)s)"


# django-filter's own words, translated when shown.
_descending = lazy(lambda label: gettext("%s (descending)") % label, str)


class TextOrderingFilter(django_filters.OrderingFilter):
    """django-filter's sort by a column the user picks, text in the order readers expect (vielfalt.collation),
    ties broken by `then` (the list's own order). django-filter's replaced the list's order by the column alone:
    sorted by org unit, the 100,000 employees of a city fell into a few dozen groups of equal values, in which
    each page (LIMIT and OFFSET) was free to pick its rows anew, so that paging repeated some and skipped
    others."""

    def __init__(self, *args, then=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.then = tuple(then)

    def build_choices(self, fields, labels):
        """django-filter's options, each column ascending then descending, with the descending ones named in the
        language of the request. django-filter formats "%s (descending)" where the filter is declared, on import,
        so that an English page offered "Datum der Unterzeichnung (absteigend)"."""
        choices = []
        for field, param in fields.items():
            label = labels.get(field) or pretty_name(param)
            choices += [(param, label), (f"-{param}", labels.get(f"-{param}") or _descending(label))]
        return choices

    def filter(self, qs, value):
        chosen = [self.get_ordering_value(param) for param in value or () if param]
        if not chosen:
            return qs
        named = {term.removeprefix("-") for term in chosen}
        ties = [term for term in self.then if term.removeprefix("-") not in named]
        last, first = chosen[-1], self.then[0] if self.then else ""
        if last.removeprefix("-") == first.removeprefix("-") and last.startswith("-") != first.startswith(
            "-"
        ):
            # The list's own first column the other way round: the list reversed, along the same index.
            ties = [term.removeprefix("-") if term.startswith("-") else f"-{term}" for term in ties]
        return qs.order_by(*text_order(qs.model, *chosen, *ties))


def _given(value):
    """A filter form's cleaned value, None for "all" (the empty option)."""
    return None if value in (None, "") else value


# How EmployeeQuerySet.search reads a search, under the search field of the employee list; the enrolment page
# searches names and personnel numbers only.
SEARCH_HELP = _(
    "Name, personnel number or e-mail address. One or two characters find the beginning of a name, "
    "personnel number or address."
)
SEARCH_HELP_NO_EMAIL = _(
    "Name or personnel number. One or two characters find the beginning of a name or personnel number."
)


class EmployeeFilter(PortalFilterSet):
    q = SearchFilter()
    organisation = TypedChoiceFilter(choices=(), coerce=int, label=_("Organisation"))
    org_unit = TypedChoiceFilter(choices=(), coerce=int, label=_("Org unit"))
    target_group = django_filters.ChoiceFilter(choices=TargetGroup.choices, label=_("Target group"))
    is_active = TypedChoiceFilter(choices=ACTIVE_CHOICES, coerce=lambda v: v == "true", label=_("Status"))
    ordering = TextOrderingFilter(
        fields=(
            ("last_name", "last_name"),
            ("personnel_number", "personnel_number"),
            ("org_unit__name", "org_unit"),
        ),
        label=_("Sort by"),
        # Not django-filter's "- all -": unsorted, the list is by name.
        empty_label=_("Name (default)"),
        then=("last_name", "first_name", "personnel_number"),
        field_labels={
            "last_name": _("Name"),
            "personnel_number": _("Personnel number"),
            "org_unit__name": _("Org unit"),
        },
    )

    control_help = {"q": SEARCH_HELP}  # noqa: RUF012  (replaced, never changed in place)

    class Meta:
        model = Employee
        fields = ["q", "organisation", "org_unit", "target_group", "is_active"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # The organisations the user acts for as HR (permissions.py), and their org units: the options, and so
        # the only values the form accepts.
        self.organisation_ids = ids = organisation_ids(user, Role.HR)
        # The user's roles name their organisations (no query); only someone acting for every organisation
        # needs them read to know whether there is more than one.
        self.organisations = organisation_options(ids) if ids is None or len(ids) > 1 else []
        if len(self.organisations) <= 1:
            del self.filters["organisation"]

    def choices_for_request(self):
        if "organisation" not in self.filters:
            return {"org_unit": org_unit_options(self.organisation_ids, name_organisation=False)}
        # Several organisations (an administrator: all of them): the units of the organisation chosen, not
        # every unit of every organisation (thousands of options nobody can pick from). Before one is chosen,
        # only a unit the address names (a link kept from before), with its organisation's name.
        organisation = _chosen_id(self.data, "organisation")
        if organisation in {pk for pk, _name in self.organisations}:
            units = org_unit_options([organisation], name_organisation=False)
        else:
            self.control_help = {
                **self.control_help,
                "org_unit": _("To filter by org unit, choose an organisation first and apply the filter."),
            }
            unit = _chosen_id(self.data, "org_unit")
            units = (
                []
                if unit is None
                else org_unit_options(self.organisation_ids, name_organisation=True, unit_id=unit)
            )
        return {"organisation": self.organisations, "org_unit": units}

    def counted_total(self) -> int | None:
        """How many employees the list shows, from the counts the triggers keep (EmployeeCount): every filter
        but the search is one of their columns. None where PostgreSQL has to count the matches: a search, a
        form with errors (the list is empty), or no counts kept (SQLite)."""
        if not self.is_bound:  # no query string: every employee in reach
            return employee_total(self.organisation_ids)
        if not self.is_valid() or self.form.cleaned_data.get("q"):
            return None
        data = self.form.cleaned_data
        organisation = data.get("organisation")
        return employee_total(
            self.organisation_ids if organisation in (None, "") else [organisation],
            unit=_given(data.get("org_unit")),
            target_group=_given(data.get("target_group")),
            is_active=_given(data.get("is_active")),
        )

    def unit_totals(self) -> list[tuple[int | None, int]] | None:
        """Sorted by org unit (either way) and not searched, the list of one organisation as its org units in
        that order with how many employees each shows under the filters (employee_unit_totals), for a paginator
        reading a page from the units it falls in (GroupedPaginator). None otherwise: a search, several
        organisations (their units' names repeat), another order, errors, or no counts kept (SQLite)."""
        if not self.is_bound or not self.is_valid():
            return None
        data = self.form.cleaned_data
        ordering = list(data.get("ordering") or ())
        if data.get("q") or ordering not in (["org_unit"], ["-org_unit"]):
            return None
        organisation = _given(data.get("organisation"))
        if organisation is None:
            if self.organisation_ids is None or len(self.organisation_ids) != 1:
                return None
            (organisation,) = self.organisation_ids
        return employee_unit_totals(
            organisation,
            descending=ordering[0].startswith("-"),
            unit=_given(data.get("org_unit")),
            target_group=_given(data.get("target_group")),
            is_active=_given(data.get("is_active")),
        )

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        if self.is_bound and self.form.cleaned_data.get("q"):
            queryset = search_order(queryset)
        return queryset

    def search(self, queryset, name, value):
        return queryset.search(value)


def object_search(text: str) -> Q:
    """Audit entries whose object's description holds `text` (see AuditEntryFilter.object_search)."""
    text = text.strip()
    if len(text) >= SEARCH_ANYWHERE:
        return Q(object_repr__icontains=text)
    return Q(Regex(Upper("object_repr"), Upper(Value(word_start(text, " (,-")))))


class AuditEntryFilter(PortalFilterSet):
    action = django_filters.ChoiceFilter(choices=AuditEntry.Action.choices, label=_("Action"))
    actor_name = django_filters.CharFilter(lookup_expr="iexact", label=_("User name"))
    object_repr = SearchFilter(method="object_search", label=_("Object"))

    def object_search(self, queryset, name, value):
        """The text anywhere in the object's description; one or two characters at the start of a word in it
        ("Lê" finds "Lê, Anna" and "Nguyễn-Lê", not "Bolê"), as the employee search reads them: the trigram
        index (audit_object_search) holds no piece of a text that short, and PostgreSQL read the whole log for
        one (500,000 entries: 73 ms for "Lê", 258 ms for "qx")."""
        return queryset.filter(object_search(value))

    class Meta:
        model = AuditEntry
        fields = ["action", "actor_name", "object_repr"]


def filter_controls(form, control_help=None) -> list[dict]:
    """A filter form (a filterset's, or any form of filter fields) as plain data for `includes/filter_form.html`,
    with a hint under a control where `control_help` names one (e.g. `filterset.control_help`) and the errors of
    a bound form.

    Rendering a form through Django's widget templates costs a template per option; list pages are hot, so
    they render these few controls directly instead."""
    control_help = control_help or {}
    data = form.data
    errors = form.errors if form.is_bound else {}
    controls = []
    for name, field in form.fields.items():
        bound = form[name]
        control = {
            "name": name,
            "label": field.label,
            "id": bound.id_for_label,
            "help": control_help.get(name, ""),
            "errors": errors.get(name, []),
        }
        if hasattr(field, "choices"):
            selected = str(data.get(name, "") or "")
            # (value, " selected" or "", label): the template writes them through {% rowformat %}.
            control["options"] = [
                (value, " selected" if value == selected else "", label)
                for value, label in ((str(value), label) for value, label in field.choices)
                if not isinstance(label, list | tuple)  # no option groups in our filters
            ]
        else:
            control["value"] = data.get(name, "") or ""
            control["max_length"] = getattr(field, "max_length", None)
        controls.append(control)
    return controls
