import json

from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from vielfalt.concurrency import OpenedVersionMixin
from vielfalt.forms import chosen_organisation_id, loads_choices, only_one, unit_choices_from
from vielfalt.models import Organisation, OrgUnit
from vielfalt.validation import ModelForm, MultiLineField

from .models import Agreement, AnonymisedProcedure, Commitment, ProgressReport, Signatory
from .services import (
    AGREEMENT_FIELDS,
    COMMITMENT_FIELDS,
    PROCEDURE_FIELDS,
    SIGNATORY_FIELDS,
    signed_copy_check,
    signing_date_problem,
)

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class AgreementForm(OpenedVersionMixin, ModelForm):
    class Meta:
        model = Agreement
        fields = AGREEMENT_FIELDS
        widgets = {
            "preamble": forms.Textarea(attrs={"rows": 4}),
            "body": forms.Textarea(attrs={"rows": 10}),
            "signed_on": DATE_WIDGET,
            "valid_from": DATE_WIDGET,
            "valid_until": DATE_WIDGET,
        }

    def __init__(self, *args, partner_id: int | None = None, **kwargs):
        """`partner_id`: the partner the form is filled in for (chosen, submitted or the agreement's), whose
        signed agreements it may amend; none before a partner is chosen. Choosing one in the browser loads its
        agreements and org units into the form (`partner_choices`)."""
        super().__init__(*args, **kwargs)
        ministries = Organisation.objects.filter(kind=Organisation.Kind.STATE_MINISTRY)
        self.fields["partner"].queryset = Organisation.objects.partners()
        loads_choices(
            self.fields["partner"],
            reverse_lazy("partnerships:partner_choices"),
            **{"data-hx-include": "[name='commitments-TOTAL_FORMS']"},
            # An agreement amends no agreement but another: its own id, left out of the choices.
            **({"data-hx-vals": json.dumps({"agreement": self.instance.pk})} if self.instance.pk else {}),
        )
        self.fields["state_party"].queryset = ministries
        if not self.instance.pk and len(ministries) == 1:
            self.fields["state_party"].initial = ministries[0]
        self.fields["amends"].queryset = amendable(partner_id, exclude=self.instance.pk)
        self.fields["amends"].label_from_instance = amended_label
        self.fields["amends"].help_text = _(
            "Only for an amendment: the signed agreement of the partner it changes. The amendment holds the "
            "whole agreement as changed and replaces it once it takes effect."
        )

    def clean(self):
        cleaned = super().clean()  # which agreement it may amend: Agreement.clean
        if problem := signing_date_problem(
            self.instance if self.instance.pk else None, cleaned.get("signed_on")
        ):
            self.add_error("signed_on", problem)
        valid_from, valid_until = cleaned.get("valid_from"), cleaned.get("valid_until")
        if valid_from and valid_until and valid_until < valid_from:
            self.add_error("valid_until", _("The end of validity lies before its beginning."))
        return cleaned


def amendable(partner_id: int | None, *, exclude: int | None = None):
    """The agreements an agreement of this partner may amend: its signed and ended ones (none without a
    partner). Not every partner's: at full scale that was a select of 1,100 agreements on every form."""
    if partner_id is None:
        return Agreement.objects.none()
    agreements = Agreement.objects.filter(
        partner_id=partner_id, status__in=[Agreement.Status.SIGNED, Agreement.Status.ENDED]
    ).order_by("-signed_on", "-pk")
    return agreements.exclude(pk=exclude) if exclude else agreements


def amended_label(agreement: Agreement) -> str:
    """An agreement among its partner's: title and date of signing (the partner is chosen above)."""
    if agreement.signed_on is None:
        return agreement.title
    return f"{agreement.title} ({date_format(agreement.signed_on, 'SHORT_DATE_FORMAT')})"


def responsible_units(partner_id: int | None):
    """The org units a commitment of this partner's agreement can name: the partner's (none without one)."""
    if partner_id is None:
        return OrgUnit.objects.none()
    return OrgUnit.objects.filter(organisation_id=partner_id)


class SignatoryForm(ModelForm):
    class Meta:
        model = Signatory
        fields = SIGNATORY_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["order"].required = False


class CommitmentForm(ModelForm):
    class Meta:
        model = Commitment
        fields = COMMITMENT_FIELDS
        widgets = {"description": forms.Textarea(attrs={"rows": 3}), "due_on": DATE_WIDGET}

    def __init__(self, *args, units=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["order"].required = False
        self.fields["responsible_unit"].queryset = units if units is not None else OrgUnit.objects.none()
        self.fields["responsible_unit"].help_text = _("One of the partner's org units.")


def _formset(model, form, extra):
    return forms.inlineformset_factory(
        Agreement, model, form=form, extra=extra, can_delete=True, max_num=50, validate_max=True
    )


def signatory_formset(extra: int):
    return _formset(Signatory, SignatoryForm, extra)


def commitment_formset(extra: int):
    return _formset(Commitment, CommitmentForm, extra)


def formset_rows(formset) -> list[dict]:
    """The formset's rows for the service: kept rows in their chosen order, each with the id it had."""
    rows = []
    for form in formset.forms:
        if not form.has_changed() and not form.instance.pk:
            continue
        if formset.can_delete and formset._should_delete_form(form):
            continue
        data = {name: form.cleaned_data.get(name) for name in form._meta.fields}
        data["order"] = data.get("order") or 0
        data["id"] = form.instance.pk
        rows.append(data)
    rows.sort(key=lambda row: row["order"])
    for position, row in enumerate(rows, start=1):
        row["order"] = position
    return rows


class ProgressReportForm(ModelForm):
    class Meta:
        model = ProgressReport
        fields = ["reported_on", "value_reached", "text"]
        widgets = {"reported_on": DATE_WIDGET, "text": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reported_on"].initial = timezone.localdate()

    def clean_reported_on(self):
        value = self.cleaned_data["reported_on"]
        if value > timezone.localdate():
            raise ValidationError(_("The date lies in the future."))
        return value


class TransitionReasonForm(forms.Form):
    """A step back in the life cycle or the step to "signed": confirmed, with a reason for the audit log."""

    to = forms.CharField(widget=forms.HiddenInput)
    reason = MultiLineField(
        label=_("Reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Kept in the audit log with the change."),
    )
    confirm = forms.BooleanField(label=_("Yes, change the status."))


class SignedCopyForm(forms.Form):
    file = forms.FileField(
        label=_("Signed copy (PDF, at most 20 MB)"),
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,.pdf"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        signed_copy_check(upload)
        return upload


class ProcedureForm(OpenedVersionMixin, ModelForm):
    class Meta:
        model = AnonymisedProcedure
        fields = ["organisation", *PROCEDURE_FIELDS]
        widgets = {"held_on": DATE_WIDGET}

    def __init__(self, *args, organisations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = organisations
        if only := only_one(organisations):
            self.fields["organisation"].initial = only
        if self.instance.pk:
            self.fields["organisation"].disabled = True
            self.fields["org_unit"].queryset = OrgUnit.objects.filter(
                organisation_id=self.instance.organisation_id
            )
        else:  # the units of the organisation chosen (vielfalt.forms.unit_choices_from)
            unit_choices_from(
                self.fields["organisation"], self.fields["org_unit"], chosen_organisation_id(self)
            )

    def clean(self):
        cleaned = super().clean()
        received, invited, filled = (cleaned.get(n) for n in ("applications", "invited", "posts_filled"))
        stated = cleaned.get("stated_migration_background")
        if received is not None and invited is not None and invited > received:
            self.add_error("invited", _("More invited than applications received."))
        if invited is not None and filled is not None and filled > invited:
            self.add_error("posts_filled", _("More posts filled than applicants invited."))
        if received is not None and stated is not None and stated > received:
            self.add_error("stated_migration_background", _("More than the applications received."))
        unit, organisation = cleaned.get("org_unit"), cleaned.get("organisation")
        if unit and organisation and unit.organisation_id != organisation.pk:
            self.add_error("org_unit", _("The org unit must belong to the organisation."))
        held_on = cleaned.get("held_on")
        if held_on and held_on > timezone.localdate():
            self.add_error("held_on", _("The date lies in the future."))
        return cleaned
