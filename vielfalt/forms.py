import json

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.template.defaultfilters import filesizeformat
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from .auth import INACTIVE_ACCOUNT_ATTRIBUTE
from .concurrency import OpenedVersionMixin
from .models import Employee, Organisation, OrgUnit, Role, personnel_number_text
from .validation import ModelForm, submitted_id


def shallow_copy(instance):
    """copy.copy of an object with a plain __dict__, without copy's generic protocol (__reduce_ex__)."""
    result = object.__new__(type(instance))
    result.__dict__.update(instance.__dict__)
    return result


def copy_sharing_choices(field, memo=None):
    """A copy of a form field as independent as Django's deep copy, except that it shares the field's choices
    (and its widget's). Django deep-copies every field of a form (each choice, and the widget's choices,
    normalised again) for each form made. Choices are tuples of strings and lazy translations, and nothing
    changes them in place: a form that needs others assigns new ones (`field.choices = ...` sets the field's and
    its widget's)."""
    result = shallow_copy(field)
    if memo is not None:
        memo[id(field)] = result
    result.widget = shallow_copy(field.widget)
    result.widget.attrs = field.widget.attrs.copy()
    result.error_messages = field.error_messages.copy()
    result.validators = field.validators[:]
    return result


class SharedChoicesMixin:
    """A choice field whose copies share its choices (`copy_sharing_choices`): e.g. the answer page's, which
    makes a form for each respondent."""

    def __deepcopy__(self, memo):
        return copy_sharing_choices(self, memo)


def loads_choices(field, url, **attrs) -> None:
    """Choosing a value of `field` loads the choices that depend on it: an htmx GET of `url` with the value, whose
    response swaps new options into the selects it names (out of band, `includes/choices_swap.html`). In the
    admin, the widget that renders the select is inside the wrapper that adds its add and change links."""
    getattr(field.widget, "widget", field.widget).attrs.update(
        {"data-hx-get": url, "data-hx-trigger": "change", "data-hx-swap": "none", **attrs}
    )


def unit_choices_from(
    organisation_field, unit_field, organisation_id: int | None, unit_name: str = "org_unit"
) -> None:
    """A form's org unit choice offers the units of the organisation chosen in `organisation_field` (none
    before one is chosen), and choosing one loads that organisation's units into it (htmx, `org_unit_choices`):
    not every organisation's units, 2,041 options for an administrator at full scale. `unit_name`: the unit
    field's name on the form (one of OrgUnitChoicesView.UNIT_FIELDS), whose select the units go into."""
    unit_field.queryset = (
        OrgUnit.objects.filter(organisation_id=organisation_id) if organisation_id else OrgUnit.objects.none()
    )
    loads_choices(
        organisation_field,
        reverse_lazy("org_unit_choices"),
        **{"data-hx-vals": json.dumps({"unit": unit_name})},
    )


def only_one(queryset):
    """The object of `queryset` if it holds exactly one, else None, from at most two rows: `len()` read every
    organisation an administrator acts for (403 at full scale) before the form's select read them again."""
    first_two = list(queryset[:2])
    return first_two[0] if len(first_two) == 1 else None


def chosen_organisation_id(form) -> int | None:
    """The organisation a bound form was submitted for (the select's value), else the initial one."""
    field = form.fields.get("organisation")
    value = form.data.get(form.add_prefix("organisation")) if form.is_bound else None
    if value is None and field is not None:
        value = form.initial.get("organisation", field.initial)
    value = getattr(value, "pk", value)
    return value if isinstance(value, int) else submitted_id(value)


class EmployeeForm(OpenedVersionMixin, ModelForm):
    organisation = forms.ModelChoiceField(queryset=Organisation.objects.none(), label=_("Organisation"))

    class Meta:
        model = Employee
        fields = [
            "organisation",
            "personnel_number",
            "last_name",
            "first_name",
            "email",
            "org_unit",
            "target_group",
            "is_active",
        ]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        organisations = Organisation.objects.acting_for(user, Role.HR)
        self.fields["organisation"].queryset = organisations
        if self.instance.pk:
            # An employee stays with the organisation that keeps the record.
            del self.fields["organisation"]
            self.fields["org_unit"].queryset = self.instance.organisation.units.all()
        elif only := only_one(organisations):
            self.fields["organisation"].initial = only
            self.fields["organisation"].widget = forms.HiddenInput()
            self.fields["org_unit"].queryset = only.units.all()
        else:  # several organisations (an administrator: all): the units of the one chosen
            unit_choices_from(
                self.fields["organisation"], self.fields["org_unit"], chosen_organisation_id(self)
            )
        self.fields["email"].help_text = _("Optional; staff without e-mail receive letters.")
        self.fields["is_active"].help_text = _(
            "Clear it when the person has left: their enrolments on course dates that have not begun are "
            "cancelled (their seats go to the waiting list), and survey e-mails no longer go to them."
        )

    def clean_personnel_number(self):
        # As the model keeps it, before `clean` looks for another employee with the number.
        return personnel_number_text(self.cleaned_data["personnel_number"])

    def clean(self):
        cleaned = super().clean()
        organisation = cleaned.get("organisation") or (
            self.instance.organisation if self.instance.pk else None
        )
        unit = cleaned.get("org_unit")
        if organisation and unit and unit.organisation_id != organisation.pk:
            self.add_error("org_unit", _("This unit belongs to another organisation."))
        number = cleaned.get("personnel_number")
        if organisation and number:
            duplicates = Employee.objects.filter(organisation=organisation, personnel_number=number)
            if self.instance.pk:
                duplicates = duplicates.exclude(pk=self.instance.pk)
            if duplicates.exists():
                self.add_error(
                    "personnel_number", _("An employee with this personnel number already exists.")
                )
        return cleaned

    def validate_unique(self):
        # The organisation is not always a form field; `clean` checks the personnel number instead.
        pass


class EmployeeImportForm(forms.Form):
    organisation = forms.ModelChoiceField(queryset=Organisation.objects.none(), label=_("Organisation"))
    file = forms.FileField(
        label=_("File (CSV or XLSX)"),
        help_text=_(
            "Columns: Personalnummer, Nachname, Vorname, E-Mail, Organisationseinheit, Zielgruppe, Aktiv (ja or "
            "nein; nein for someone who has left: their enrolments on course dates that have not begun are "
            "cancelled). CSV as saved by Excel (semicolons, UTF-8 or Windows-1252) or with commas."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,text/csv"}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        organisations = Organisation.objects.acting_for(user, Role.HR)
        self.fields["organisation"].queryset = organisations
        if only := only_one(organisations):
            self.fields["organisation"].initial = only
            self.fields["organisation"].widget = forms.HiddenInput()

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.EMPLOYEE_IMPORT_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                _("The file is larger than %(limit)s.") % {"limit": filesizeformat(limit)}
            )
        return upload


class DocumentCheckForm(forms.Form):
    """A PDF to check for the portal's seal (public; bounded in size)."""

    file = forms.FileField(
        label=_("PDF document"),
        help_text=_("A PDF the portal issued: agreement, certificate, letter or report."),
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,application/pdf"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.SEAL_CHECK_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                _("The file is larger than %(limit)s.") % {"limit": filesizeformat(limit)}
            )
        return upload


class LoginForm(AuthenticationForm):
    """Django's login form, which tells the holder of a deactivated account (right name and password) that the
    account is deactivated and whom to ask, rather than that name or password are wrong."""

    def get_invalid_login_error(self):
        if getattr(self.request, INACTIVE_ACCOUNT_ATTRIBUTE, False):
            return forms.ValidationError(
                _(
                    "Your account is deactivated (for instance because it was not used for a long time). If you "
                    "still need it, ask the portal's administration to activate it again: %(email)s."
                ),
                code="inactive",
                params={"email": settings.PORTAL_OPERATOR["email"]},
            )
        return super().get_invalid_login_error()
