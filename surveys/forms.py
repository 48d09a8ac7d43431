import re

from django import forms
from django.core.validators import MaxLengthValidator
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from vielfalt.collation import text_order
from vielfalt.concurrency import OpenedVersionMixin
from vielfalt.formats import escape_text
from vielfalt.forms import SharedChoicesMixin, chosen_organisation_id, loads_choices, only_one
from vielfalt.models import Organisation, OrgUnit, Role
from vielfalt.validation import ModelForm, OneLineField

from . import questionnaire as q
from .models import Campaign
from .services import Answers

OTHER_UNITS = "other"


class CampaignForm(OpenedVersionMixin, ModelForm):
    # The contact is printed twice on every code sheet, a one-page letter (its information block and its last
    # paragraph): what fits there with the longest purpose. The column keeps 300 for campaigns saved before.
    CONTACT_MAX_LENGTH = 200

    organisation = forms.ModelChoiceField(queryset=Organisation.objects.none(), label=_("Organisation"))

    class Meta:
        model = Campaign
        fields = [
            "organisation",
            "title",
            "opens_on",
            "closes_on",
            "units",
            "k",
            "previous_estimate",
            "purpose",
            "legal_basis",
            "dpo_contact",
            "contact",
        ]
        widgets = {
            "opens_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "closes_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "units": forms.CheckboxSelectMultiple,
            "purpose": forms.Textarea(attrs={"rows": 3}),
            "legal_basis": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        contact = self.fields["contact"]
        contact.max_length = self.CONTACT_MAX_LENGTH
        contact.validators.append(MaxLengthValidator(self.CONTACT_MAX_LENGTH))
        organisations = Organisation.objects.acting_for(user, Role.HR)
        self.fields["organisation"].queryset = organisations
        only = only_one(organisations)
        if only:
            self.fields["organisation"].initial = only
        # The units of the campaign's organisation only: of the one chosen (loaded by htmx when another is chosen,
        # `surveys:campaign_units`), none before one is; not every organisation's (an administrator's form
        # listed 2,041 check boxes at full scale, 80 ms).
        if self.instance.pk:
            del self.fields["organisation"]
            organisation_id = self.instance.organisation_id
        else:
            organisation_id = chosen_organisation_id(self)
            loads_choices(self.fields["organisation"], reverse_lazy("surveys:campaign_units"))
            if not only:
                self.fields["units"].help_text = _(
                    "The units of the organisation chosen above. Leave empty for the whole organisation."
                )
        units = OrgUnit.objects.filter(organisation__in=organisations, organisation_id=organisation_id or 0)
        self.fields["units"].queryset = units.order_by(*text_order(OrgUnit, "name"))

    def clean_opens_on(self):
        opens_on = self.cleaned_data["opens_on"]
        changed = self.instance.pk is None or opens_on != self.instance.opens_on
        if changed and opens_on < timezone.localdate():
            raise forms.ValidationError(_("The start lies in the past. Please choose today or a later day."))
        return opens_on

    def clean(self):
        data = super().clean()
        organisation = data.get("organisation") or getattr(self.instance, "organisation", None)
        if organisation and any(unit.organisation_id != organisation.pk for unit in data.get("units", [])):
            self.add_error("units", _("Choose only units of the campaign's organisation."))
        return data


class CampaignExtendForm(forms.Form):
    closes_on = forms.DateField(
        label=_("New closing day"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )


class InviteForm(forms.Form):
    units = forms.ModelMultipleChoiceField(
        queryset=OrgUnit.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Invite the employees of these org units"),
        help_text=_("Leave empty to invite every participating employee not yet invited."),
    )

    def __init__(self, *args, campaign, **kwargs):
        super().__init__(*args, **kwargs)
        units = campaign.units.all() if campaign.units.exists() else campaign.organisation.units.all()
        self.fields["units"].queryset = units.order_by(*text_order(units.model, "name"))


# Taking part is voluntary, but each question wants a choice, "Prefer not to say" among them: say so, instead of
# Django's "This field is required".
CHOOSE_AN_ANSWER = {"required": _("Please choose an answer, or “Prefer not to say”.")}
# A year typed with two digits ("95"): how to write it, instead of Django's "greater than or equal to 1900".
FOUR_DIGIT_YEAR = _("Please enter the year with four digits, for example 1995.")
# What is wrong with the answers, in easy-to-read language (the questions are, so must their errors be).
EASY_ERRORS = {
    "required": _("Please choose an answer. You do not want to answer? Then choose: Prefer not to say."),
    "year": _("Please write the year with 4 numbers. For example: 1995."),
    "future": _("This year has not come yet. Please check the year."),
    "not_abroad": _(
        "Write the year only if you were born in another country. Otherwise please leave it empty."
    ),
    "languages": _(
        "You chose languages and: Prefer not to say. Please choose only languages. Or only: Prefer not to say."
    ),
}


def _escape(value) -> str:
    """What django.utils.html.escape returns, without its check for lazy arguments (a hundred calls a page)."""
    return escape_text(str(value))


class RadioField(SharedChoicesMixin, forms.ChoiceField):
    pass


class CheckboxesField(SharedChoicesMixin, forms.MultipleChoiceField):
    pass


def _radio(label, choices, **kwargs):
    return RadioField(
        label=label, choices=choices, widget=forms.RadioSelect, error_messages=CHOOSE_AN_ANSWER, **kwargs
    )


# What can be a unit's primary key: ASCII digits (str.isdecimal takes other scripts' digits too), short enough
# for int() and a bigint.
UNIT_ID = re.compile(r"[1-9][0-9]{0,17}")


class UnitField(RadioField):
    """The org unit question. With `any_unit` (the answer page's POST, which does not look the campaign up),
    any unit id passes here: the submission checks it against the units the campaign offers, under its lock."""

    any_unit = False

    def valid_value(self, value):
        return (self.any_unit and UNIT_ID.fullmatch(str(value)) is not None) or super().valid_value(value)


# The questions in easy-to-read language (Leichte Sprache in German): short sentences, one statement each,
# terms explained. The same fields and choices, so the derived values are the same whatever the wording.
EASY = {
    "own_citizenship": (
        _("Were you German when you were born? That means: did you have a German passport from birth?"),
        "",
    ),
    "birth_country": (_("Where were you born?"), _("Germany or another country.")),
    "immigration_year": (
        _("Were you born in another country? Then: in which year did you come to Germany?"),
        _("Write the year. For example: 1995. Were you born in Germany? Then leave this empty."),
    ),
    "mother_citizenship": (_("Was your mother German when she was born?"), ""),
    "mother_immigrated": (_("Did your mother come to Germany from another country? In 1950 or later?"), ""),
    "father_citizenship": (_("Was your father German when he was born?"), ""),
    "father_immigrated": (_("Did your father come to Germany from another country? In 1950 or later?"), ""),
    "target_group": (_("What is your work?"), _("Choose one answer.")),
    "org_unit": (_("Where do you work?"), _("Choose your office. Or choose: another office.")),
    "languages": (
        _("Which languages do you speak with citizens at work?"),
        _("You can choose more than one language."),
    ),
}


# Said instead of the org unit question when no unit of the campaign has k invited (SurveyForm._unit_not_asked).
UNIT_NOT_ASKED = {
    False: _(
        "This survey does not ask for your org unit: each of its units has too few invited staff, so naming yours "
        "could tell who you are."
    ),
    True: _(
        "We do not ask where you work. The offices here are small. Then people might know: this is your answer."
    ),
}


def _draft_value(name: str, field, value: str) -> bool:
    """Whether `value` can be an answer to the question `name` (SurveyForm.draft); not yet whether it is valid."""
    if name == "immigration_year":
        return re.fullmatch(r"[0-9]{1,4}", value) is not None
    if name == "org_unit":
        return value in (OTHER_UNITS, q.NO_ANSWER) or UNIT_ID.fullmatch(value) is not None
    return field.valid_value(value)


class SurveyForm(forms.Form):
    """The questionnaire of version `questionnaire.VERSION`. Every question offers "keine Angabe". With
    `easy`, the same questions in easy-to-read language."""

    own_citizenship = _radio(_("Did you have German citizenship at birth?"), q.Citizenship.choices)
    birth_country = _radio(_("Where were you born?"), q.BirthCountry.choices)
    immigration_year = forms.IntegerField(
        label=_("If you were born abroad: in which year did you move to Germany?"),
        help_text=_("Leave empty if you were born in Germany or prefer not to say."),
        required=False,
        min_value=1900,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
        error_messages={"min_value": FOUR_DIGIT_YEAR, "invalid": FOUR_DIGIT_YEAR},
    )
    mother_citizenship = _radio(_("Did your mother have German citizenship at birth?"), q.Citizenship.choices)
    mother_immigrated = _radio(_("Did your mother move to Germany in 1950 or later?"), q.YesNo.choices)
    father_citizenship = _radio(_("Did your father have German citizenship at birth?"), q.Citizenship.choices)
    father_immigrated = _radio(_("Did your father move to Germany in 1950 or later?"), q.YesNo.choices)
    target_group = _radio(_("Which group do you belong to at work?"), q.TargetGroupAnswer.choices)
    org_unit = UnitField(
        label=_("In which org unit do you work?"),
        choices=[],
        widget=forms.RadioSelect,
        error_messages=CHOOSE_AN_ANSWER,
    )
    languages = CheckboxesField(
        label=_("Which languages do you use with citizens at work?"),
        help_text=_("Choose all that apply, or “Prefer not to say”."),
        choices=[*q.LANGUAGES, (q.NO_ANSWER, _("Prefer not to say"))],
        widget=forms.CheckboxSelectMultiple,
        error_messages=CHOOSE_AN_ANSWER,
    )

    def __init__(self, *args, units, easy: bool = False, **kwargs):
        """`units`: the org units the campaign offers; None to take any unit id (checked by the submission)."""
        super().__init__(*args, **kwargs)
        self.easy = easy
        if easy:
            for name, (label, help_text) in EASY.items():
                field = self.fields[name]
                field.label = label
                field.help_text = help_text
                field.error_messages["required"] = EASY_ERRORS["required"]  # a copy of the form's own
            year = self.fields["immigration_year"].error_messages
            year["min_value"] = year["invalid"] = EASY_ERRORS["year"]
        if units is None:
            self.units = None
            self.fields["org_unit"].any_unit = True
            units = []
        else:
            self.units = {str(unit.pk): unit for unit in units}
        self.fields["org_unit"].choices = [
            *((str(unit.pk), unit.name) for unit in units),
            (OTHER_UNITS, _("Another unit")),
            (q.NO_ANSWER, _("Prefer not to say")),
        ]

    def questions_html(self) -> str:
        """The questions for surveys/_questions.html: each a fieldset (the year a labelled input) with its help,
        its errors and its options. Written here with `escape` rather than through the widgets or a template
        loop: with about a hundred options and ten questions, those were most of the answer page's cost."""
        blocks = []
        for field, options in self.questions():
            if field.name == "org_unit" and self.units == {}:
                blocks.append(self._unit_not_asked())
                continue
            auto_id, label, errors = field.auto_id, _escape(field.label), field.errors
            error_lines = "".join(
                f'<p class="text-danger fw-semibold mb-1" id="{auto_id}_error">{_escape(error)}</p>'
                for error in errors
            )
            error_id = f" {auto_id}_error" if errors else ""
            help_text = _escape(field.help_text)
            if field.name == "immigration_year":
                value = field.value()
                blocks.append(
                    f'  <div class="mb-4" id="{field.html_name}-question" tabindex="-1">\n'
                    f'    <label class="form-label fw-semibold" for="{field.id_for_label}">{label}</label>\n'
                    f'    <p class="form-text mt-0" id="{auto_id}_help">{help_text}</p>\n'
                    f"    {error_lines}\n"
                    f'    <input type="number" name="{field.html_name}" id="{auto_id}" class="form-control w-auto'
                    f'{" is-invalid" if errors else ""}" inputmode="numeric" min="1900" autocomplete="off" '
                    f'value="{"" if value is None else _escape(value)}" aria-describedby="{auto_id}_help{error_id}"'
                    f"{' aria-invalid="true"' if errors else ''}>\n"
                    "  </div>"
                )
                continue
            described = (
                f' aria-describedby="{f"{auto_id}_help" if help_text else ""}{error_id}"'
                if help_text or errors
                else ""
            )
            help_line = f'<p class="form-text mt-0" id="{auto_id}_help">{help_text}</p>' if help_text else ""
            blocks.append(
                f'  <fieldset class="mb-4" id="{field.html_name}-question" tabindex="-1"{described}>\n'
                f'    <legend class="h6 fw-semibold">{label}</legend>\n'
                f"    {help_line}\n"
                f"    {error_lines}\n"
                f"    {options}\n"
                "  </fieldset>"
            )
        return mark_safe("\n".join(blocks))  # noqa: S308  (every label, text and value escaped)

    @classmethod
    def draft(cls, data) -> dict:
        """The answers ticked so far in posted `data`, for the respondent's state while they switch the language
        (AnswerView): only values the questions can take, so that what is kept is a few hundred bytes whatever
        was posted (a cookie over 4 kB would be dropped by the browser, and the respondent's state with it)."""
        draft = {}
        for name, field in cls.base_fields.items():
            if name == "languages":
                values = [value for value in data.getlist(name) if field.valid_value(value)]
            else:
                values = [value for value in data.getlist(name)[:1] if _draft_value(name, field, value)]
            if values:
                draft[name] = values if name == "languages" else values[0]
        return draft

    def _unit_not_asked(self) -> str:
        """In place of the org unit question when the campaign offers no unit (none has k invited): its only
        choices were "Another unit" and "Prefer not to say", which asked nothing and puzzled respondents. The
        answer is "Another unit", as results count everyone of a unit below k, so the unit table stays right."""
        note = UNIT_NOT_ASKED[self.easy]
        return (
            f'  <input type="hidden" name="{self["org_unit"].html_name}" value="{OTHER_UNITS}">\n'
            f'  <p class="mb-4" id="org_unit-question">{_escape(note)}</p>'
        )

    def questions(self) -> list[tuple]:
        """Each bound field with the HTML of its options (none for the year), with the ids of Django's radio and
        checkbox widgets."""
        rows = []
        for field in self:
            if field.name == "immigration_year":
                rows.append((field, ""))
                continue
            value = field.value()
            chosen = {str(item) for item in (value if isinstance(value, list | tuple) else [value]) if item}
            kind, name, auto_id = field.field.widget.input_type, _escape(field.html_name), field.auto_id
            options = "".join(
                f'\n    <div class="form-check">\n      <input class="form-check-input" type="{kind}" name="{name}" '
                f'id="{auto_id}_{index}" value="{_escape(key)}"{" checked" if str(key) in chosen else ""}>\n'
                f'      <label class="form-check-label" for="{auto_id}_{index}">{_escape(label)}</label>\n    </div>'
                for index, (key, label) in enumerate(field.field.choices)
            )
            rows.append((field, mark_safe(options)))  # noqa: S308  (every value and label escaped above)
        return rows

    def clean_immigration_year(self):
        year = self.cleaned_data.get("immigration_year")
        if year is not None and year > timezone.localdate().year:
            raise forms.ValidationError(
                EASY_ERRORS["future"] if self.easy else _("Please enter a year that is not in the future.")
            )
        return year

    def clean_languages(self):
        languages = self.cleaned_data["languages"]
        if q.NO_ANSWER in languages and len(languages) > 1:
            raise forms.ValidationError(
                EASY_ERRORS["languages"]
                if self.easy
                else _("“Prefer not to say” cannot be combined with languages.")
            )
        return [code for code in languages if code != q.NO_ANSWER]

    def clean(self):
        data = super().clean()
        if data.get("birth_country") != q.BirthCountry.ABROAD and data.get("immigration_year") is not None:
            self.add_error(
                "immigration_year",
                EASY_ERRORS["not_abroad"]
                if self.easy
                else _("A year of moving to Germany only applies if you were born abroad."),
            )
        return data

    def answers(self) -> Answers:
        data = self.cleaned_data
        unit_answer = data["org_unit"]
        if self.units is not None:
            unit = self.units.get(unit_answer)
        elif unit_answer in (OTHER_UNITS, q.NO_ANSWER):
            unit = None
        else:  # UnitField let only a unit id through; the submission checks that the campaign offers it
            unit = OrgUnit(pk=int(unit_answer))
        return Answers(
            own_citizenship=data["own_citizenship"],
            birth_country=data["birth_country"],
            immigration_year=data["immigration_year"],
            mother_citizenship=data["mother_citizenship"],
            father_citizenship=data["father_citizenship"],
            mother_immigrated=data["mother_immigrated"],
            father_immigrated=data["father_immigrated"],
            target_group=data["target_group"],
            org_unit=unit,
            org_unit_other=unit_answer == OTHER_UNITS,
            languages=tuple(data["languages"]),
        )


class CodeForm(forms.Form):
    code = OneLineField(
        label=_("Your code"),
        help_text=_("12 characters, as on your code sheet or in your e-mail, for example ABCD-EFGH-JKMN."),
        max_length=40,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
        # Sent empty: what to type, not Django's "This field is required".
        error_messages={"required": _("Please enter the code from your code sheet or your e-mail.")},
    )

    def __init__(self, *args, easy: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if easy:  # easy-to-read language (Leichte Sprache)
            self.fields["code"].error_messages["required"] = _(
                "Please type in your code. It is in your letter or in your e-mail."
            )
            self.fields["code"].help_text = _(
                "The code has 12 letters and numbers. It is in your letter or in your e-mail. "
                "For example: ABCD-EFGH-JKMN."
            )
