from copy import copy

from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from vielfalt.admin import AuditedModelAdmin, TabularInline, ViewOnlyAdminMixin

from .forms import ContactForm
from .models import (
    Answer,
    Attachment,
    ContactPerson,
    Meeting,
    PartnerProfile,
    PracticeEntry,
    Question,
    Registration,
)
from .services import CONTACT_FIELDS, PROFILE_FIELDS, check_practice_links, contact_create, contact_delete


def profile_edit_link(organisation) -> str:
    """The partner's own profile page, where the portal edits its profile and its contact persons."""
    url = reverse("network:profile_edit", args=[organisation.slug])
    return format_html('<a href="{}">{}</a>', url, _("the partner's profile"))


@admin.register(PartnerProfile)
class PartnerProfileAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    """Read-only, with a link to the partner's profile page: there the profile changes through its service
    (profile_update), which refuses a save over a colleague's change made since the form was opened and records
    the change as the portal's edit. Saved here, a colleague's change was overwritten unasked, past that check.
    Not added or deleted either: the portal keeps one profile per partner (profile_of)."""

    list_display = ["organisation", "open_for_visits", "updated_at"]
    search_fields = ["organisation__name"]
    fields = ["organisation", *PROFILE_FIELDS, "updated_at", "profile_page"]
    readonly_fields = ["profile_page"]
    list_select_related = ["organisation"]

    @admin.display(description=_("managed on"))
    def profile_page(self, profile) -> str:
        return profile_edit_link(profile.organisation)


class ContactPersonAddForm(ContactForm):
    """The directory's form (the person's consent asked for, its time recorded), with the organisation."""

    class Meta(ContactForm.Meta):
        fields = ["organisation", *CONTACT_FIELDS]


@admin.register(ContactPerson)
class ContactPersonAdmin(AuditedModelAdmin):
    """Added and deleted through the directory's services, as on the partner's profile: added with the person's
    consent, deleted with an audit entry that names the organisation, not the person ("Contact person of Stadt
    Duisburg"); the admin's entry named the person whose listing had ended.

    Never changed here, as nowhere in the portal: a listing is the person's consent to it, so the profile removes
    one and lists another with their consent. Changed here, another name or address was listed under the consent
    the first person had given (its time kept), past the directory's services."""

    list_display = ["name", "function", "organisation", "consent_given_at"]
    search_fields = ["name", "organisation__name"]
    readonly_fields = ["consent_given_at", "profile_page"]

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("managed on"))
    def profile_page(self, contact) -> str:
        """The partner's profile, where the portal removes a contact person and lists another with consent."""
        return profile_edit_link(contact.organisation)

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ContactPersonAddForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["organisation", *CONTACT_FIELDS, "consent"]
        return ["organisation", *CONTACT_FIELDS, "consent_given_at", "profile_page"]

    def save_model(self, request, obj, form, change):
        contact = contact_create(
            actor=request.user,
            organisation=obj.organisation,
            consent=form.cleaned_data["consent"],
            **{name: getattr(obj, name) for name in CONTACT_FIELDS},
        )
        obj.pk, obj.consent_given_at, obj.created_at = (
            contact.pk,
            contact.consent_given_at,
            contact.created_at,
        )
        obj._state.adding, obj._state.db = False, contact._state.db

    def save_related(self, request, form, formsets, change):
        admin.ModelAdmin.save_related(self, request, form, formsets, change)  # contact_create audited it

    def delete_model(self, request, obj):
        contact_delete(actor=request.user, contact=obj)

    def delete_queryset(self, request, queryset):
        for contact in queryset.select_related("organisation"):
            contact_delete(actor=request.user, contact=contact)


class AttachmentInline(TabularInline):
    model = Attachment
    extra = 0
    readonly_fields = ["name", "kind", "size", "sha256", "uploaded_by", "uploaded_at"]
    exclude = ["file"]
    can_delete = False


class PracticeEntryForm(forms.ModelForm):
    def clean(self):
        """The services' check of the entry's contact and commitment (their organisation's own; a commitment newly
        linked of a signed agreement): the admin put another organisation's contact person, who agreed to be
        listed for their own only, on an entry."""
        cleaned = super().clean()
        if self.errors:
            return cleaned
        entry = copy(self.instance)  # as stored: the commitment linked until now
        for name in ("organisation", "contact", "commitment"):
            if name in cleaned:
                setattr(entry, name, cleaned[name])
        check_practice_links(entry, linked_before=self.instance.commitment_id if self.instance.pk else None)
        return cleaned


@admin.register(PracticeEntry)
class PracticeEntryAdmin(AuditedModelAdmin):
    form = PracticeEntryForm
    list_display = ["title", "organisation", "field_of_action", "status", "published_at"]
    list_filter = ["status", "field_of_action"]
    search_fields = ["title", "organisation__name"]
    readonly_fields = ["status", "published_at", "created_by"]
    inlines = [AttachmentInline]


class RegistrationInline(TabularInline):
    model = Registration
    extra = 0
    readonly_fields = ["organisation", "name", "email", "status", "created_at"]
    can_delete = False


@admin.register(Meeting)
class MeetingAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    """Read-only once saved: a meeting changes and is cancelled on its own page (administrators act for every
    host there), whose services tell everyone registered with a calendar entry that replaces theirs, move the
    waiting list up into new seats, cancel the registrations of a cancelled meeting and keep a meeting that has
    begun as it was. Saved here, none of that happened: a meeting "cancelled" in the admin kept its people
    registered and nobody was told, a moved one was attended at its old time. Nor added or deleted: one added
    here skipped the meeting's checks (neither place nor link, registration after its start), and one deleted
    took its registrations with it, telling nobody (its page cancels it and tells everyone registered)."""

    list_display = ["title", "host", "starts_at", "capacity", "cancelled_at"]
    list_filter = ["kind"]
    search_fields = ["title", "host__name"]
    inlines = [RegistrationInline]


class AnswerInline(TabularInline):
    model = Answer
    extra = 0


@admin.register(Question)
class QuestionAdmin(AuditedModelAdmin):
    list_display = ["title", "organisation", "created_at"]
    search_fields = ["title"]
    inlines = [AnswerInline]
