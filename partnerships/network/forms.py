from django import forms
from django.db.models import Exists, OuterRef, Q
from django.template.defaultfilters import filesizeformat
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from vielfalt.collation import text_order
from vielfalt.concurrency import OpenedVersionMixin
from vielfalt.models import Organisation, TargetGroup
from vielfalt.permissions import acting_for, own_organisation_ids
from vielfalt.validation import KeptOnceBegunMixin, ModelForm, MultiLineField, OneLineField, SearchField
from vielfalt.widgets import Select

from ..models import Agreement, Commitment
from ..triggers import FROZEN
from .models import (
    AUTHOR_ROLES,
    PROGRAMME_ROLES,
    Answer,
    ContactPerson,
    FieldOfAction,
    Meeting,
    MeetingDocument,
    PracticeEntry,
    Question,
)
from .services import (
    CONTACT_FIELDS,
    MEETING_FIELDS,
    MEETING_FIELDS_FIXED_ONCE_BEGUN,
    PRACTICE_FIELDS,
    QUESTION_FIELDS,
)
from .uploads import MAX_BYTES


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


def fields_of_action_field(required=False):
    return forms.MultipleChoiceField(
        label=_("Fields of action"),
        choices=FieldOfAction.choices,
        required=required,
        widget=forms.CheckboxSelectMultiple,
    )


def own_organisation_id(user, roles) -> int | None:
    """The organisation a user most likely writes for: the first one they hold one of `roles` in."""
    for role in roles:
        ids = own_organisation_ids(user, role)
        if ids:
            return min(ids)
    return None


class OrganisationChoiceMixin:
    """Adds an `organisation` choice of the organisations the user acts for (hidden if there is one)."""

    organisation_roles = AUTHOR_ROLES

    def add_organisation_field(self, user, initial=None):
        organisations = (
            acting_for(user, self.organisation_roles)
            .only("pk", "name")
            .order_by(*text_order(Organisation, "name"))
        )
        self.fields["organisation"] = forms.ModelChoiceField(
            label=_("For organisation"), queryset=organisations, empty_label=None, widget=Select
        )
        self.fields["organisation"].initial = initial or own_organisation_id(user, self.organisation_roles)
        self.order_fields(["organisation", *[name for name in self.fields if name != "organisation"]])


# The kinds a partner of the programme can be: every kind but the state ministry, which runs the programme.
PARTNER_KINDS = [
    (value, label) for value, label in Organisation.Kind.choices if value != Organisation.Kind.STATE_MINISTRY
]


class ProfileForm(OpenedVersionMixin, forms.Form):
    """A partner's profile and its organisation's kind and district; it carries the profile's version
    (`instance`: the profile it was opened at) for `profile_update`'s check."""

    kind = forms.ChoiceField(label=_("Kind"), choices=PARTNER_KINDS)
    district = forms.ChoiceField(
        label=_("Administrative district"),
        choices=[("", "–"), *Organisation.District.choices],
        required=False,
    )
    description = MultiLineField(
        label=_("About us"), widget=forms.Textarea(attrs={"rows": 5}), required=False, max_length=5000
    )
    fields_of_action = fields_of_action_field()
    open_for_visits = forms.BooleanField(
        label=_("Open for visits and job shadowing"),
        required=False,
        help_text=_("Other partners may ask to visit you or to shadow your staff."),
    )
    website = forms.URLField(label=_("Website"), required=False, assume_scheme="https")

    def __init__(self, *args, instance=None, **kwargs):
        self.instance = instance
        super().__init__(*args, **kwargs)


class ContactForm(ModelForm):
    consent = forms.BooleanField(
        label=_("This person has agreed to be listed in the partner directory with these details."),
        required=True,
    )

    class Meta:
        model = ContactPerson
        fields = CONTACT_FIELDS


def commitment_label(commitment: Commitment) -> str:
    """A commitment among the partner's: its field of action and the agreement's date of signing (an amendment
    repeats the fields of action of the agreement it replaced)."""
    if commitment.agreement.signed_on is None:
        return commitment.field_of_action
    return _("%(field)s (agreement of %(date)s)") % {
        "field": commitment.field_of_action,
        "date": date_format(commitment.agreement.signed_on, "SHORT_DATE_FORMAT"),
    }


class PracticeEntryForm(OpenedVersionMixin, OrganisationChoiceMixin, ModelForm):
    target_groups = forms.MultipleChoiceField(
        label=_("Target groups"),
        choices=TargetGroup.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = PracticeEntry
        fields = PRACTICE_FIELDS
        widgets = {
            "summary": forms.Textarea(attrs={"rows": 3}),
            "what_was_done": forms.Textarea(attrs={"rows": 8}),
            "effort": forms.Textarea(attrs={"rows": 3}),
            "what_worked": forms.Textarea(attrs={"rows": 3}),
            "what_did_not_work": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, user, organisation=None, **kwargs):
        super().__init__(*args, **kwargs)
        if organisation is None:
            self.add_organisation_field(user)
            organisation_id = self.data.get("organisation") or self.fields["organisation"].initial
        else:
            organisation_id = organisation.pk
        try:
            organisation_id = int(organisation_id)
        except (TypeError, ValueError):
            organisation_id = None
        if (
            organisation is None
            and not self.fields["organisation"].queryset.filter(pk=organisation_id).exists()
        ):
            organisation_id = (
                None  # one the user does not act for: no other organisation's contacts or commitments
            )
        self.fields["contact"].queryset = ContactPerson.objects.filter(organisation_id=organisation_id)
        # The commitments of the partner's signed agreements (in force or ended since; not a draft's, nor those of
        # one an amendment replaced: the amendment's copies are offered), and the entry's own.
        replaced = Exists(Agreement.objects.filter(amends=OuterRef("agreement_id"), status__in=FROZEN))
        in_force = Q(agreement__status__in=FROZEN) & ~Q(replaced)
        self.fields["commitment"].queryset = (
            Commitment.objects.filter(agreement__partner_id=organisation_id)
            .filter(in_force | Q(pk=self.instance.commitment_id or 0))
            .select_related("agreement")
            .order_by("agreement__signed_on", "order", "pk")
        )
        self.fields["commitment"].label_from_instance = commitment_label
        self.fields["contact"].help_text = _("Contact persons are managed on your organisation's profile.")


class ReturnForm(forms.Form):
    comment = MultiLineField(
        label=_("What should be changed"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000
    )


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        help_text=_("PDF, DOCX, ODT or XLSX, at most %(size)s.") % {"size": filesizeformat(MAX_BYTES)},
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.docx,.odt,.xlsx"}),
    )


class MeetingDocumentForm(UploadForm):
    kind = forms.ChoiceField(label=_("Kind"), choices=MeetingDocument.Kind.choices)


class MeetingForm(KeptOnceBegunMixin, OpenedVersionMixin, OrganisationChoiceMixin, ModelForm):
    kept_once_begun = MEETING_FIELDS_FIXED_ONCE_BEGUN
    kept_once_begun_help = _("The meeting has begun; its start and deadline stay as they were.")

    fields_of_action = fields_of_action_field()
    invited = forms.ModelMultipleChoiceField(
        label=_("Invited organisations"),
        queryset=Organisation.objects.order_by(*text_order(Organisation, "name")).only("pk", "name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Only when the meeting is not open to every partner."),
    )

    class Meta:
        model = Meeting
        fields = MEETING_FIELDS
        widgets = {
            "agenda": forms.Textarea(attrs={"rows": 6}),
            "starts_at": DateTimeInput(),
            "ends_at": DateTimeInput(),
            "registration_deadline": DateTimeInput(),
        }

    def __init__(self, *args, user, creating: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if creating:
            self.add_organisation_field(user)
            self.fields["organisation"].label = _("Host")
        elif self.instance.pk:
            self.fields["invited"].initial = list(self.instance.invited.values_list("pk", flat=True))
            self.keep_once_begun()


class RegistrationForm(OrganisationChoiceMixin, forms.Form):
    organisation_roles = PROGRAMME_ROLES
    name = OneLineField(label=_("Name"), max_length=200)
    email = forms.EmailField(label=_("E-mail"))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_organisation_field(user)
        self.fields["name"].initial = user.get_full_name() or user.get_username()
        self.fields["email"].initial = user.email
        self.fields["name"].help_text = _("Register yourself or a colleague of your organisation.")


class QuestionForm(OrganisationChoiceMixin, forms.Form):
    organisation_roles = PROGRAMME_ROLES
    title = OneLineField(label=_("Your question"), max_length=300)
    body = MultiLineField(
        label=_("Details"), widget=forms.Textarea(attrs={"rows": 5}), required=False, max_length=10_000
    )
    fields_of_action = fields_of_action_field()

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_organisation_field(user)


class AnswerForm(OrganisationChoiceMixin, forms.Form):
    organisation_roles = PROGRAMME_ROLES
    body = MultiLineField(label=_("Your answer"), widget=forms.Textarea(attrs={"rows": 5}), max_length=10_000)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_organisation_field(user)


class QuestionEditForm(ModelForm):
    """The asker (or the ministry) changes a question; its organisation stays."""

    fields_of_action = fields_of_action_field()

    class Meta:
        model = Question
        fields = QUESTION_FIELDS
        labels = {"title": _("Your question")}
        widgets = {"body": forms.Textarea(attrs={"rows": 5})}


class AnswerEditForm(ModelForm):
    class Meta:
        model = Answer
        fields = ["body"]
        labels = {"body": _("Your answer")}
        widgets = {"body": forms.Textarea(attrs={"rows": 5})}


class MailSettingsForm(forms.Form):
    answers = forms.BooleanField(label=_("E-mail me answers to my questions"), required=False)
    weekly_digest = forms.BooleanField(
        label=_("Weekly digest of new practice entries, meetings and questions"), required=False
    )


class FilterForm(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, forms.ChoiceField):
                field.widget.attrs["class"] = "form-select"


class PracticeFilterForm(FilterForm):
    q = SearchField(label=_("Search"), required=False)
    field = forms.ChoiceField(
        label=_("Field of action"), choices=[("", _("all")), *FieldOfAction.choices], required=False
    )
    target_group = forms.ChoiceField(
        label=_("Target group"), choices=[("", _("all")), *TargetGroup.choices], required=False
    )


class DirectoryFilterForm(FilterForm):
    q = SearchField(label=_("Search"), required=False)
    district = forms.ChoiceField(
        label=_("Administrative district"),
        choices=[("", _("all")), *Organisation.District.choices],
        required=False,
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=[("", _("all")), *PARTNER_KINDS], required=False)
    field = forms.ChoiceField(
        label=_("Field of action"), choices=[("", _("all")), *FieldOfAction.choices], required=False
    )
    visits = forms.ChoiceField(
        label=_("Visits"),
        choices=[("", _("all")), ("1", _("open for visits and job shadowing"))],
        required=False,
    )
