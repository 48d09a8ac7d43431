import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .models import AuditEntry, Employee, Organisation, OrgUnit, Role, TargetGroup
from .permissions import organisation_ids

ACTIVE_CHOICES = [("true", _("active")), ("false", _("inactive"))]


class EmployeeFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    organisation = django_filters.ModelChoiceFilter(queryset=None, label=_("Organisation"))
    org_unit = django_filters.ModelChoiceFilter(queryset=None, label=_("Org unit"))
    target_group = django_filters.ChoiceFilter(choices=TargetGroup.choices, label=_("Target group"))
    is_active = django_filters.TypedChoiceFilter(
        choices=ACTIVE_CHOICES, coerce=lambda v: v == "true", label=_("Status")
    )
    ordering = django_filters.OrderingFilter(
        fields=(
            ("last_name", "last_name"),
            ("personnel_number", "personnel_number"),
            ("org_unit__name", "org_unit"),
        ),
        label=_("Sort by"),
        field_labels={
            "last_name": _("Name"),
            "personnel_number": _("Personnel number"),
            "org_unit__name": _("Org unit"),
        },
    )

    class Meta:
        model = Employee
        fields = ["q", "organisation", "org_unit", "target_group", "is_active"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        organisations = Organisation.objects.acting_for(user, Role.HR)
        self.filters["organisation"].queryset = organisations
        # The user's roles name their organisations (no query); only someone acting for every organisation
        # needs them counted.
        ids = organisation_ids(user, Role.HR)
        if ids is None:
            self.filters["org_unit"].queryset = OrgUnit.objects.filter(organisation__in=organisations)
            single = len(organisations) <= 1
        else:
            self.filters["org_unit"].queryset = OrgUnit.objects.filter(organisation_id__in=ids)
            single = len(ids) <= 1
        if single:
            del self.filters["organisation"]

    def search(self, queryset, name, value):
        for word in value.split()[:5]:
            queryset = queryset.filter(
                Q(last_name__icontains=word)
                | Q(first_name__icontains=word)
                | Q(personnel_number__icontains=word)
                | Q(email__icontains=word)
            )
        return queryset


class AuditEntryFilter(django_filters.FilterSet):
    action = django_filters.ChoiceFilter(choices=AuditEntry.Action.choices, label=_("Action"))
    actor_name = django_filters.CharFilter(lookup_expr="iexact", label=_("User name"))
    object_repr = django_filters.CharFilter(lookup_expr="icontains", label=_("Object"))

    class Meta:
        model = AuditEntry
        fields = ["action", "actor_name", "object_repr"]


def filter_controls(filterset) -> list[dict]:
    """The filter form as plain data for `includes/filter_form.html`.

    Rendering a form through Django's widget templates costs a template per option; list pages are hot, so
    they render these few controls directly instead."""
    form = filterset.form
    data = form.data
    controls = []
    for name, field in form.fields.items():
        bound = form[name]
        control = {"name": name, "label": field.label, "id": bound.id_for_label}
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
        controls.append(control)
    return controls
