from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vielfalt.concurrency import OpenedVersionMixin
from vielfalt.models import Organisation, OrgUnit, TargetGroup
from vielfalt.validation import KeptOnceBegunMixin, ModelForm, OneLineField, SearchField

from .models import COURSE_TARGET_GROUPS, Course, CourseDate, Enrolment
from .services import DATE_FIELDS, DATE_FIELDS_FIXED_ONCE_BEGUN


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class CourseForm(OpenedVersionMixin, ModelForm):
    target_groups = forms.MultipleChoiceField(
        label=_("Target groups"), choices=COURSE_TARGET_GROUPS, widget=forms.CheckboxSelectMultiple
    )
    participants = forms.ModelMultipleChoiceField(
        label=_("Organisations taking part"),
        queryset=Organisation.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Their HR offices may enrol employees. Seat quotas are set on the course page."),
    )

    class Meta:
        model = Course
        fields = [
            "organiser",
            "title",
            "description",
            "target_groups",
            "duration_hours",
            "format",
            "language",
        ]

    def __init__(self, *args, organisers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organiser"].queryset = organisers
        if len(organisers) == 1:
            self.fields["organiser"].initial = organisers[0]
            self.fields["organiser"].widget = forms.HiddenInput()
        if self.instance.pk:
            del self.fields["organiser"]
            del self.fields["participants"]


class CourseDateForm(KeptOnceBegunMixin, OpenedVersionMixin, ModelForm):
    kept_once_begun = DATE_FIELDS_FIXED_ONCE_BEGUN
    kept_once_begun_help = _("The date has begun; its start and deadlines stay as they were.")

    class Meta:
        model = CourseDate
        fields = DATE_FIELDS
        widgets = {
            "starts_at": DateTimeInput(),
            "ends_at": DateTimeInput(),
            "enrolment_deadline": DateTimeInput(),
            "cancellation_deadline": DateTimeInput(),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.keep_once_begun()

    def clean_starts_at(self):
        if self.fields["starts_at"].disabled:
            return self.instance.starts_at
        starts_at = self.cleaned_data["starts_at"]
        changed = self.instance.pk is None or starts_at != self.instance.starts_at
        if changed and starts_at < timezone.now():
            raise forms.ValidationError(_("The start lies in the past. Please choose a future date."))
        return starts_at


NOT_TRAINED_CHOICES = [("", _("all")), ("1", _("not yet trained"))]


class EmployeeFilterForm(forms.Form):
    q = SearchField(label=_("Search"), required=False)
    org_unit = forms.ModelChoiceField(
        label=_("Org unit"),
        queryset=OrgUnit.objects.none(),
        required=False,
        empty_label=settings.FILTERS_EMPTY_CHOICE_LABEL,
    )
    target_group = forms.ChoiceField(
        label=_("Target group"),
        choices=[("", settings.FILTERS_EMPTY_CHOICE_LABEL), *TargetGroup.choices],
        required=False,
    )
    trained = forms.ChoiceField(label=_("Training"), choices=NOT_TRAINED_CHOICES, required=False)

    def __init__(self, *args, organisation_ids, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["org_unit"].queryset = OrgUnit.objects.filter(organisation_id__in=organisation_ids)


class EnrolmentUploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSV or XLSX file with personnel numbers"),
        help_text=_(
            "One personnel number per line, in a column “Personalnummer”. Nothing is enrolled if any line is refused."
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.EMPLOYEE_IMPORT_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                _("The file is larger than %(size)s.") % {"size": filesizeformat(limit)}
            )
        return upload


class CertificateCodeForm(forms.Form):
    """The verification code printed on a certificate, typed from paper (any case, with or without dashes)."""

    code = OneLineField(
        label=_("Verification code"),
        max_length=30,
        help_text=_("As printed on the certificate, e.g. ABCD-EFGH-JKLM."),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}
        ),
    )

    def clean_code(self):
        raw = "".join(self.cleaned_data["code"].split()).replace("-", "").upper()
        if len(raw) != 12 or not raw.isalnum() or not raw.isascii():
            raise forms.ValidationError(
                _("A verification code has 12 letters and digits, e.g. ABCD-EFGH-JKLM.")
            )
        return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


class AttendanceForm(forms.Form):
    """One choice per seated enrolment of a date, named "attendance-<pk>" as the date's page renders them."""

    def __init__(self, *args, enrolment_ids, **kwargs):
        super().__init__(*args, **kwargs)
        for pk in enrolment_ids:
            self.fields[f"attendance-{pk}"] = forms.ChoiceField(
                choices=Enrolment.Attendance.choices, required=False
            )

    def marks(self) -> dict[int, str]:
        """enrolment pk → attendance of the marks sent; one left out or with an unknown value is skipped."""
        self.is_valid()
        return {
            int(name.removeprefix("attendance-")): value for name, value in self.cleaned_data.items() if value
        }
