import functools

from axes.admin import AccessAttemptAdmin, AccessFailureLogAdmin, AccessLogAdmin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import PAGE_VAR, ChangeList
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.utils import translation
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp_webauthn.models import WebAuthnCredential

from .account_events import account_changed
from .audit import ChangeReader, actor_text, audit_record, model_changes
from .collation import text_order
from .filters import object_search, search_order
from .forms import chosen_organisation_id, unit_choices_from
from .invitations import AccountAddForm, link_valid_until
from .models import (
    ORG_UNIT_TREE_CONSTRAINTS,
    AuditEntry,
    AuthenticatorApp,
    Employee,
    Job,
    Membership,
    Organisation,
    OrgUnit,
    Role,
    User,
)
from .permissions import may
from .services import account_invitation_send
from .signals import accounts_left, employees_left

# The portal's name where Django's admin said "Django-Verwaltung" (its header) and "Website-Verwaltung" (its titles).
admin.site.site_header = _("Vielfalt verbindet – administration")
admin.site.site_title = _("Vielfalt verbindet – administration")
admin.site.index_title = _("Administration of the portal")  # Django's "Website-Verwaltung"


def admin_site_permission(request) -> bool:
    """Who reaches the admin: an administrator of the portal (vielfalt.permissions) with the staff flag. Django
    asked for the staff flag alone, and its model permissions decided the rest: a clerk of one city given the
    flag and "view employee" (a group, a permission) browsed every organisation's staff there, which no page of
    the portal shows them."""
    user = request.user
    return user.is_active and user.is_staff and may(user, Role.ADMIN)


admin.site.has_permission = admin_site_permission

# Field values the audit log never keeps, only that they changed.
SECRET_FIELDS = {"password"}


class TextOrderChangeList(ChangeList):
    """An admin list whose text columns sort as the portal's lists do (vielfalt.collation)."""

    def get_ordering(self, request, queryset):
        return text_order(queryset.model, *super().get_ordering(request, queryset))


def name_controls(form) -> None:
    """Each control of `form` named by its field's label (aria-label), where the admin shows no <label> for it:
    the rows of a tabular inline (a column heading names them for the eye only) and a file field, which
    Django 6.1 puts under a <legend> (axe: "Form elements must have labels", WCAG 1.3.1 and 4.1.2)."""
    for field in form.fields.values():
        name_control(field)


def name_control(field) -> None:
    """`field`'s control named by its label. The widget named is the one that renders the control: inside the
    admin's wrapper of a relation's select (its add and change links), whose own `attrs` are not the copy a form
    renders."""
    if field.label:
        getattr(field.widget, "widget", field.widget).attrs.setdefault("aria-label", field.label)


class NamedControlsFormSet:
    """An inline formset whose every control (also "Delete") is named by its column's heading."""

    def add_fields(self, form, index):
        super().add_fields(form, index)
        name_controls(form)


class TabularInline(admin.TabularInline):
    """The portal's tabular inline: Django's, each control named (name_controls). Every tabular inline of the
    portal uses it."""

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        return type(formset.__name__, (NamedControlsFormSet, formset), {})


class AuditedAdminMixin:
    """Every change the Django admin makes leaves an audit entry, like a change through the portal's services:
    who, what, and field by field before and after; inline rows are counted per inline as the services count
    signatories and commitments. Every ModelAdmin of the portal uses it (through `AuditedModelAdmin`).

    A filtered or searched list counts its matches, not also the whole table for "(n total)": 200,000
    employees or enrolments, 500,000 audit entries."""

    show_full_result_count = False

    # The portal's audit log is the admin's one record of changes. Django's own (LogEntry, `django_admin_log`)
    # was a second: the same changes under the object's name ("Yılmaz, Ayşe", a user name) kept for ever, which
    # neither the retention purge nor an erasure (Art. 17 GDPR) pseudonymised, and which the runtime role could
    # change and delete. Nothing writes it; the object's history page and the index's "Recent actions" read the
    # audit log (`history_view`, templates/admin/index.html).

    def log_addition(self, request, obj, message):
        return None

    def log_change(self, request, obj, message):
        return None

    def log_deletions(self, request, queryset):
        return None

    def history_view(self, request, object_id, extra_context=None):
        """Django's history page of an object, from the audit log: every change to it, through the admin or the
        portal's pages, with its details in words, as the audit log's page shows them."""
        entries = (
            AuditEntry.objects.visible_to(request.user)
            .filter(content_type=ContentType.objects.get_for_model(self.model), object_id=unquote(object_id))
            .order_by("at", "pk")
        )
        page = self.get_paginator(request, entries, 100).get_page(request.GET.get(PAGE_VAR, 1))
        actions = dict(AuditEntry.Action.choices)
        changes = ChangeReader()
        rows = [
            {
                "at": entry.at,
                "actor": actor_text(entry.actor_name, entry.actor_id),
                "action": actions.get(entry.action, entry.action),
                "details": changes.html(entry.content_type_id, entry.changes) if entry.changes else "",
            }
            for entry in page
        ]
        return super().history_view(
            request,
            object_id,
            extra_context={
                "action_list": page,
                "history_rows": rows,
                "page_range": page.paginator.get_elided_page_range(page.number),
                "pagination_required": page.paginator.num_pages > 1,
                **(extra_context or {}),
            },
        )

    def audit_organisation(self, obj) -> Organisation | None:
        """The organisation the entry belongs to; None lets `audit_record` take `obj.organisation`."""
        return None

    def get_changelist(self, request, **kwargs):
        return TextOrderChangeList

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if isinstance(db_field, models.FileField) and formfield is not None:
            name_control(formfield)  # see name_controls
        return formfield

    def save_model(self, request, obj, form, change):
        fields = [f.name for f in obj._meta.concrete_fields if f.name in form.changed_data]
        if change and fields:
            stored = type(obj)._default_manager.get(pk=obj.pk)
            form._audit_before = {name: getattr(stored, name) for name in fields}
        form._audit_fields = fields
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        obj = form.instance
        fields = getattr(form, "_audit_fields", [])
        changes = model_changes(obj, fields, getattr(form, "_audit_before", {})) if change else {}
        for name in SECRET_FIELDS & changes.keys():
            changes[name] = "***"
        for field in obj._meta.many_to_many:
            if field.name in form.changed_data:
                changes[field.name] = [str(value) for value in form.cleaned_data[field.name]]
        for formset in formsets:
            if rows := self.formset_changes(formset):
                changes[formset.prefix] = rows
        form._audit_changes = changes  # what a ModelAdmin may also tell (UserAdmin: the roles)
        if change and not changes:
            return
        audit_record(
            actor=request.user,
            action=AuditEntry.Action.CHANGE if change else AuditEntry.Action.CREATE,
            obj=obj,
            organisation=self.audit_organisation(obj),
            changes={"via": "admin", **changes},
        )

    def formset_changes(self, formset) -> dict:
        """What an inline's rows changed, for the audit entry: counts (a ModelAdmin may say more)."""
        counts = {
            "created": len(getattr(formset, "new_objects", ())),
            "changed": len(getattr(formset, "changed_objects", ())),
            "deleted": len(getattr(formset, "deleted_objects", ())),
        }
        return counts if any(counts.values()) else {}

    def _audit_deletion(self, request, obj) -> None:
        if isinstance(obj, Organisation):
            # An entry that pointed at the organisation would keep it from being deleted (PROTECT).
            audit_record(
                actor=request.user,
                action=AuditEntry.Action.DELETE,
                object_repr=str(obj),
                changes={"via": "admin", "organisation": obj.pk},
            )
            return
        audit_record(
            actor=request.user,
            action=AuditEntry.Action.DELETE,
            obj=obj,
            organisation=self.audit_organisation(obj),
            changes={"via": "admin"},
        )

    def delete_model(self, request, obj):
        self._audit_deletion(request, obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset: models.QuerySet):
        for obj in queryset:
            self._audit_deletion(request, obj)
        super().delete_queryset(request, queryset)


class AuditedModelAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """The base of every ModelAdmin of the portal."""


class ViewOnlyAdminMixin:
    """Shown in the admin, never added, changed or deleted there: records that only the portal's services write
    (with their checks, e-mails and audit entries), or that nobody may change at all. Each admin says why."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def role_text(membership: Membership) -> str:
    """ "Personalverwaltung – Stadt Duisburg": a role in words."""
    return f"{membership.get_role_display()} – {membership.organisation}"


class MembershipInline(TabularInline):
    model = Membership
    extra = 1
    # A plain select, named by its column (TabularInline): select2's box of an autocomplete field has no
    # accessible name (axe: aria-input-field-name), and a select finds an organisation by typing its name.


@admin.register(User)
class UserAdmin(AuditedAdminMixin, BaseUserAdmin):
    """A new account gets no password from the administrator: the person chooses it through a link sent by
    e-mail (vielfalt.invitations), which the list's action sends again while they have not."""

    inlines = [MembershipInline]
    add_form = AccountAddForm
    # When the account was last used, (re)activated, deactivated and pseudonymised: the dormancy and retention
    # periods count from these (vielfalt.privacy).
    fieldsets = (
        *BaseUserAdmin.fieldsets[:-1],
        (
            BaseUserAdmin.fieldsets[-1][0],
            {
                "fields": (
                    "last_login",
                    "date_joined",
                    "active_since",
                    "dormancy_notice_at",
                    "mail_failed_at",
                    "deactivated_at",
                    "pseudonymised_at",
                )
            },
        ),
    )
    readonly_fields = (
        "active_since",
        "dormancy_notice_at",
        "mail_failed_at",
        "deactivated_at",
        "pseudonymised_at",
    )
    add_form_template = "admin/vielfalt/user/add_form.html"
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "first_name", "last_name", "email")}),
    )
    actions = ["send_password_link", "deactivate"]
    # Plain labelled lists: Django's filter widget names its search boxes with an aria-label on a <span>,
    # which ARIA prohibits (axe: aria-prohibited-attr). The portal's roles are memberships, not groups.
    filter_horizontal = ()

    def user_change_password(self, request, id, form_url=""):
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            user = self.get_object(request, unquote(id))
            audit_record(
                actor=request.user,
                action=AuditEntry.Action.CHANGE,
                obj=user,
                changes={"via": "admin", "password": "***"},
            )
            if user.last_login is not None:  # a password in use, not an invited account's first
                account_changed(user=user, actor=request.user, event="password", audit=False)
        return response

    # An e-mail to the holder that did not get through (a notice of a change to the account, a link to choose a
    # password): the administrator can tell them another way.
    list_display = [
        "username",
        "email",
        "first_name",
        "last_name",
        "roles",
        "is_active",
        "last_login",
        "mail_failed_at",
    ]
    # A review of who may do what: by role and organisation (the portal's roles are memberships, not groups).
    list_filter = ["memberships__role", "is_active", "is_superuser", "is_staff"]
    search_fields = ["username", "first_name", "last_name", "email", "memberships__organisation__name"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("memberships__organisation")

    def save_model(self, request, obj, form, change):
        earlier = ""
        if change and "email" in form.changed_data:
            earlier = User.objects.filter(pk=obj.pk).values_list("email", flat=True).first() or ""
        super().save_model(request, obj, form, change)
        if earlier:  # told at the earlier address: a link to a new password would now go elsewhere
            account_changed(
                user=obj, actor=request.user, event="email", name=obj.email, address=earlier, audit=False
            )

    @admin.display(description=_("roles"))
    def roles(self, user) -> str:
        return "; ".join(sorted(role_text(membership) for membership in user.memberships.all()))

    def formset_changes(self, formset) -> dict:
        """Which roles were granted and withdrawn, in which organisations: the change an audit of access rights
        looks for (counts said "roles: 1 created", not that it was the ministry's)."""
        if formset.model is not Membership:
            return super().formset_changes(formset)
        with translation.override(settings.LANGUAGE_CODE):  # the audit log's language (vielfalt.audit)
            granted = [role_text(membership) for membership in formset.new_objects]
            withdrawn = [role_text(membership) for membership in formset.deleted_objects]
            before = {form.instance.pk: form.initial for form in formset.initial_forms}
            for membership, _fields in formset.changed_objects:
                initial = before[membership.pk]
                earlier = Membership(role=initial["role"], organisation_id=initial["organisation"])
                withdrawn.append(role_text(earlier))
                granted.append(role_text(membership))
        rows = {"granted": "; ".join(granted), "withdrawn": "; ".join(withdrawn)}
        return {key: value for key, value in rows.items() if value}

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)  # the roles first: the e-mail names them
        if not change:
            self._send_password_links(request, [form.instance])
            return
        rows = form._audit_changes.get("memberships")  # the inline's prefix: the memberships' related name
        deactivated = "is_active" in form.changed_data and not form.instance.is_active
        if deactivated or (rows and rows.get("withdrawn")):  # in the admin's transaction, as the purge does
            accounts_left.send(sender=User, actor=request.user, user_ids=[form.instance.pk])
        # The holder told of roles granted and withdrawn, as the mixin recorded them.
        if rows:
            with translation.override(settings.LANGUAGE_CODE):  # the e-mail's language
                labels = {"granted": _("granted"), "withdrawn": _("withdrawn")}
                text = "; ".join(f"{labels[key]}: {value}" for key, value in rows.items())
            account_changed(user=form.instance, actor=request.user, event="roles", name=text, audit=False)

    def has_delete_permission(self, request, obj=None):
        """An account is deactivated here, never deleted (the field "active" and the action "Deactivate"): deleted,
        its roles went with it unrecorded, its registrations stayed, and the retention periods' deactivation and
        pseudonymisation (vielfalt.privacy) were skipped."""
        return False

    @admin.action(description=_("Deactivate the selected accounts"), permissions=["change"])
    def deactivate(self, request, queryset):
        """As unticking "active" on the account's page does: the deactivation recorded, and what the account held
        only while acting for an organisation ended (accounts_left), in the admin's transaction."""
        if queryset.filter(pk=request.user.pk).exists():
            # Ticked with the others by mistake, it would end the session in the middle of the admin's work and
            # could leave the portal without an administrator: deactivated only by another one.
            self.message_user(request, _("Your own account is not deactivated here."), messages.WARNING)
        users = list(queryset.filter(is_active=True).exclude(pk=request.user.pk))
        for user in users:
            user.is_active = False
            user.save(update_fields=["is_active"])  # User.save notes when (deactivated_at)
            audit_record(
                actor=request.user,
                action=AuditEntry.Action.CHANGE,
                obj=user,
                changes={"via": "admin", "is_active": [True, False]},
            )
        if users:
            accounts_left.send(sender=User, actor=request.user, user_ids=[user.pk for user in users])
        self.message_user(
            request,
            ngettext("%(count)d account deactivated.", "%(count)d accounts deactivated.", len(users))
            % {"count": len(users)},
            messages.SUCCESS,
        )

    @admin.action(description=_("Send a link to choose a password"), permissions=["change"])
    def send_password_link(self, request, queryset):
        self._send_password_links(request, queryset)

    def _send_password_links(self, request, users) -> None:
        sent, not_queued = [], []
        for user in users:
            try:
                account_invitation_send(
                    actor=request.user, user=user, not_queued=functools.partial(not_queued.append, user)
                )
            except ValidationError as refused:
                self.message_user(request, " ".join(refused.messages), messages.WARNING)
            else:
                sent.append(user)
        # The e-mails are handed over once the admin's transaction commits (this runs after them): the
        # administrator is told which really went out, and which must be sent again.
        transaction.on_commit(lambda: self._tell_password_links(request, sent, not_queued))

    def _tell_password_links(self, request, sent, not_queued) -> None:
        if not_queued:
            self.message_user(
                request,
                _(
                    "The link to choose a password could not be sent to %(addresses)s: the background service is "
                    "not reachable. Please send it again in a few minutes (action “Send a link to choose a "
                    "password” in the list of accounts)."
                )
                % {"addresses": ", ".join(user.email for user in not_queued)},
                messages.ERROR,
            )
        sent = [user for user in sent if user not in not_queued]
        if sent:
            self.message_user(
                request,
                ngettext(
                    "A link to choose a password is being sent to %(addresses)s. It works once and until %(date)s.",
                    "Links to choose a password are being sent to %(addresses)s. They work once and until %(date)s.",
                    len(sent),
                )
                % {
                    "addresses": ", ".join(user.email for user in sent),
                    "date": date_format(link_valid_until(), "DATETIME_FORMAT"),
                },
                messages.SUCCESS,
            )


class SecondFactorAdmin(AuditedModelAdmin):
    """An account's second factors as administrators see them: whose, which, when set up and last used. Never a
    key, a recovery code or a QR code: with one, an administrator could pass a ministry official's second
    factor (django-otp's own pages showed and let them edit the app's key, and listed the recovery codes). Never
    added or changed here: a factor an administrator planted on someone's account would be theirs to use. What
    an administrator does here is remove a factor for someone who lost it; that is recorded, and the holder is
    told by e-mail (vielfalt.account_events). Passkeys are listed too (django-otp-webauthn registers no admin, so
    a lost passkey could not be removed at all)."""

    list_display = ["user", "name", "confirmed", "created_at", "last_used_at"]
    list_filter = ["confirmed"]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__email", "name"]
    fields = ["user", "name", "confirmed", "created_at", "last_used_at"]
    readonly_fields = fields
    removed_event = ""  # vielfalt.account_events

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def audit_organisation(self, obj):
        return None

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        self._tell_holder(request, obj)

    def delete_queryset(self, request, queryset):
        removed = list(queryset.select_related("user"))
        super().delete_queryset(request, queryset)
        for obj in removed:
            self._tell_holder(request, obj)

    def _tell_holder(self, request, obj) -> None:  # the deletion itself is audited by AuditedAdminMixin
        account_changed(
            user=obj.user, actor=request.user, event=self.removed_event, name=obj.name, audit=False
        )


for model, event in (
    (AuthenticatorApp, "app_removed"),
    (WebAuthnCredential, "passkey_removed"),
    (StaticDevice, "recovery_codes_removed"),
):
    if admin.site.is_registered(model):
        admin.site.unregister(model)  # django-otp's own, which shows keys and codes
    admin.site.register(model, type(f"{model.__name__}Admin", (SecondFactorAdmin,), {"removed_event": event}))


class UnlockAdmin(AuditedAdminMixin, AccessAttemptAdmin):
    """An account's failed attempts (django-axes): deleting them is how an administrator unlocks an account
    before its cool-off ends, which left no trace; now the audit log names the account unlocked."""

    def _audit_deletion(self, request, obj) -> None:
        audit_record(
            actor=request.user,
            action=AuditEntry.Action.DELETE,
            obj=obj,
            object_repr=obj.username,
            changes={"via": "admin", "unlocked": obj.username},
        )


class LoginRecordAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """The login records (django-axes) are shown, never deleted here: the retention purge deletes them after
    their period (vielfalt.privacy); deleted here, a trail of failed logins vanished without a trace."""

    def has_delete_permission(self, request, obj=None):
        return False


for model, model_admin in (
    (AccessAttempt, UnlockAdmin),
    (AccessLog, type("AccessLogAdmin", (LoginRecordAdmin, AccessLogAdmin), {})),
    (AccessFailureLog, type("AccessFailureLogAdmin", (LoginRecordAdmin, AccessFailureLogAdmin), {})),
):
    if admin.site.is_registered(model):
        admin.site.unregister(model)  # axes's own, which deleted without a trace
    admin.site.register(model, model_admin)


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(AuditedAdminMixin, BaseGroupAdmin):
    filter_horizontal = ()  # as UserAdmin's


# Why PostgreSQL refused to save units (ORG_UNIT_TREE_CONSTRAINTS), as the form says it.
ORG_UNIT_REFUSALS = dict(
    zip(
        ORG_UNIT_TREE_CONSTRAINTS,
        (
            _(
                "The org units were not saved: a change saved meanwhile by someone else would place a unit under "
                "itself or under one of its own subunits. Reload the page and try again."
            ),
            _(
                "The org units were not saved: a unit's parent belongs to another organisation (changed meanwhile "
                "by someone else). Reload the page and try again."
            ),
        ),
        strict=True,
    )
)


def org_unit_refusal(error: IntegrityError):
    """What the form says when PostgreSQL refused to save units (a loop, a parent of another organisation), or
    None for any other error."""
    return ORG_UNIT_REFUSALS.get(getattr(getattr(error.__cause__, "diag", None), "constraint_name", None))


class OrgUnitTreeFormMixin:
    """The forms that save org units (a unit's, an organisation's with its units): a save that PostgreSQL refuses
    for the tree answers with the form again and why, not with a server error. OrgUnit.clean checks the tree as
    the form is checked; another administrator's move saved between that check and this save (A under B here,
    B under A there) passed it, and the database's trigger refused the second save. The form is checked once
    more, in a new transaction, against the tree as it is now, and refused with the reason (the user's input
    kept)."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except IntegrityError as error:
            refusal = org_unit_refusal(error)
            if refusal is None or request.method != "POST":
                raise
        request.org_unit_refusal = refusal  # the whole transaction was rolled back: nothing of it was saved
        return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        refusal = getattr(request, "org_unit_refusal", None)
        if refusal is None:
            return form

        class RefusedForm(form):
            def clean(self):
                super().clean()
                raise ValidationError(refusal)

        return RefusedForm


class OrgUnitInline(TabularInline):
    model = OrgUnit
    extra = 0
    fields = ["name", "parent"]

    def get_formset(self, request, obj=None, **kwargs):
        """Each row's parent one of the organisation's own units: every row offered every organisation's."""
        formset = super().get_formset(request, obj, **kwargs)
        formset.form.base_fields["parent"].queryset = obj.units.all() if obj else OrgUnit.objects.none()
        return formset


class OrganisationForm(forms.ModelForm):
    def clean_kind(self):
        # As on the partner's profile (network's profile_update): a partner turned into the state ministry left
        # the programme's partners, its profile page and every partner list, and its figures with them.
        kind = self.cleaned_data["kind"]
        if self.instance.pk and self.instance.is_partner and kind == Organisation.Kind.STATE_MINISTRY:
            raise ValidationError(_("A partner of the programme cannot be the state ministry."))
        return kind


@admin.register(Organisation)
class OrganisationAdmin(OrgUnitTreeFormMixin, AuditedModelAdmin):
    form = OrganisationForm
    list_display = ["name", "article", "slug", "kind", "district", "require_second_factor"]
    list_filter = ["kind", "district", "require_second_factor"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [OrgUnitInline]

    def get_deleted_objects(self, objs, request):
        """An organisation is deleted here only while it holds nothing: its roles (the accounts' memberships) and
        units went with it unrecorded, whatever the portal's own ways of ending them. The delete page names what
        it holds instead of deleting it (as Django names protected records)."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        records = {
            name: count for name, count in counts.items() if name != Organisation._meta.verbose_name_plural
        }
        if records:
            protected = [
                *protected,
                _("Records (%(records)s): an organisation holding records is not deleted here.")
                % {"records": ", ".join(f"{name}: {count}" for name, count in records.items())},
            ]
        return deleted, counts, perms_needed, protected


class OrgUnitForm(forms.ModelForm):
    """The parent is one of the unit's own organisation's units: the admin offered every organisation's (2,041
    at full scale, the same names in every city). A new unit's are those of the organisation chosen, loaded when
    one is chosen, as on the portal's forms (unit_choices_from)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        parent = self.fields["parent"]
        if self.instance.pk:
            parent.queryset = self.instance.organisation.units.exclude(pk=self.instance.pk)
        else:
            unit_choices_from(self.fields["organisation"], parent, chosen_organisation_id(self), "parent")


@admin.register(OrgUnit)
class OrgUnitAdmin(OrgUnitTreeFormMixin, AuditedModelAdmin):
    form = OrgUnitForm
    list_display = ["name", "organisation", "parent"]
    list_filter = ["organisation"]
    search_fields = ["name"]

    def get_readonly_fields(self, request, obj=None):
        # A unit stays with its organisation, as an employee does (EmployeeAdmin), and its parent is offered from
        # that organisation's units: moved, the unit left its employees (still the first organisation's) and its
        # subunits filed under another organisation's unit.
        if obj is not None:
            return [*super().get_readonly_fields(request, obj), "organisation"]
        return super().get_readonly_fields(request, obj)


class SearchedEmployeeList(TextOrderChangeList):
    """The admin's employee list, a search's matches sorted as the portal's list sorts them
    (vielfalt.filters.search_order). Walking the name order's index until a page of matches turned up read
    77,504 of 200,000 employees to show "Müller" (92 ms)."""

    def get_queryset(self, request, exclude_parameters=None):
        queryset = super().get_queryset(request, exclude_parameters)
        return search_order(queryset) if self.query else queryset


@admin.register(Employee)
class EmployeeAdmin(AuditedModelAdmin):
    list_display = [
        "personnel_number",
        "last_name",
        "first_name",
        "organisation",
        "org_unit",
        "target_group",
        "is_active",
    ]
    list_filter = ["organisation", "target_group", "is_active"]
    search_fields = ["personnel_number", "last_name", "first_name", "email"]
    list_select_related = ["organisation", "org_unit"]
    raw_id_fields = ["org_unit"]

    def get_search_results(self, request, queryset, search_term):
        """The portal's employee search (EmployeeQuerySet.search): every word anywhere in a name, the personnel
        number or the address, one or two characters at the start of a word, each through the trigram indexes.
        Django's search looked for a short word anywhere, which no index holds: every employee was read."""
        return queryset.search(search_term), False

    def get_changelist(self, request, **kwargs):
        return SearchedEmployeeList

    def get_readonly_fields(self, request, obj=None):
        # The record stays with the organisation that keeps it, as on the employee form: moved here, the person's
        # record and history went to another city's HR office unasked, and their enrolments stayed the first's.
        if obj is not None:
            return [*super().get_readonly_fields(request, obj), "organisation"]
        return super().get_readonly_fields(request, obj)

    def save_model(self, request, obj, form, change):
        left = change and "is_active" in form.changed_data and not obj.is_active
        super().save_model(request, obj, form, change)
        if left:  # as the portal's form does (vielfalt.services.employee_update), in the admin's transaction
            employees_left.send(sender=Employee, actor=request.user, employee_ids=[obj.pk])


@admin.register(AuditEntry)
class AuditEntryAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    """Read-only: the audit log has no update or delete path, here neither.

    The log grows by every login: its list here reads no more than it must. No date hierarchy (its years are a
    DISTINCT over every entry: 161 ms of 500,000), one COUNT instead of two, and the user name searched as a
    whole name (an index, as on the portal's own page `/audit/`) besides a part of the object's description (the
    trigram index; a login's description is its user name)."""

    list_display = ["at", "actor_name", "action", "object_repr", "organisation"]
    list_filter = ["action"]
    search_fields = ["=actor_name", "object_repr"]

    def get_search_results(self, request, queryset, search_term):
        """Each word the whole user name, or in the object's description as the portal's audit page reads it
        (vielfalt.filters.object_search: one or two characters at the start of a word, through the index).
        Django's search looked for one or two characters anywhere, which no index holds: the whole log was read
        (258 ms of 500,000 entries for "qx")."""
        for word in search_term.split():
            queryset = queryset.filter(Q(actor_name__iexact=word) | object_search(word))
        return queryset, False


@admin.register(Job)
class JobAdmin(AuditedModelAdmin):
    list_display = ["created_at", "kind", "description", "status", "requested_by", "attempts"]
    list_filter = ["status", "kind"]
    readonly_fields = [f.name for f in Job._meta.fields]

    def has_add_permission(self, request):
        return False
