"""Data protection in the core: retention periods, pseudonyms, the one path that pseudonymises the audit log, and
the core's share of the Art. 15 export and of the Art. 30 record.

Each feature app has a `privacy.py` of the same shape for its own data (what it holds about an employee, what it
purges, its processing activities); the programme package (`vielfalt/programme/privacy.py`) puts them together
into the purge command and beat task, the Art. 15 export and the Art. 30 record. Nothing here imports an app.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import connection, models, transaction
from django.db.models import F
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from .audit import ChangeReader, actor_text
from .models import AuditEntry, AuthenticatorApp, Employee, Job, Membership, User

PSEUDONYM_PREFIX = "P-"
REDACTED = "…"


# --- The shapes the apps fill in ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Processing:
    """One processing activity of the record of processing (Art. 30(1) GDPR), declared by the app that does it."""

    name: str
    subjects: str  # categories of data subjects
    data: str  # categories of personal data
    purpose: str
    legal_basis: str
    retention: str  # how long, in words, with the configured period
    recipients: str  # who can see it in the portal
    app: str = ""


@dataclass
class AccessSection:
    """A part of the Art. 15 export: a title and rows (label → value, as text). `records` names every database
    row the section shows (`record_key`), so that a test can check nothing held about the person is left out."""

    title: str
    rows: list[dict[str, str]] = field(default_factory=list)
    records: list[str] = field(default_factory=list)
    note: str = ""
    more: int = 0  # rows left out (a page shows the latest; a download has them all)


def record_key(obj: models.Model) -> str:
    return f"{obj._meta.label_lower}:{obj.pk}"


def as_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, datetime):
        return date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")
    if hasattr(value, "isoformat"):
        return date_format(value, "SHORT_DATE_FORMAT")
    return str(value)


def model_rows(obj: models.Model, names: list) -> dict[str, str]:
    """One object's fields as label → text, choices shown by their labels. A name may come with its own label,
    `(name, label)`, for fields whose verbose name is not meant for readers."""
    row = {}
    for item in names:
        name, label = item if isinstance(item, tuple) else (item, None)
        model_field = obj._meta.get_field(name)
        display = getattr(obj, f"get_{name}_display", None)
        value = display() if display and model_field.choices else getattr(obj, name)
        row[str(capfirst(label or model_field.verbose_name))] = as_text(value)  # a heading, as the admin's
    return row


# --- Periods -----------------------------------------------------------------------------------------------------

PERIOD_LABELS = {
    "employee": gettext_lazy("Employee records, after they became inactive and were last changed"),
    "job_file": gettext_lazy("Files of background jobs (exports, reports, access exports)"),
    "audit": gettext_lazy("Audit log entries, after which people in them are replaced by pseudonyms"),
    "invitation": gettext_lazy(
        "Survey invitations' token hashes and e-mail stamps, after their campaign closed"
    ),
    "login": gettext_lazy("Login records (user name, IP address, browser) and expired sessions"),
    "dormant": gettext_lazy(
        "Accounts of the portal without a login, after which they are deactivated (0: never; not superusers)"
    ),
    "dormant_notice": gettext_lazy(
        "Notice to the holder before an account is deactivated, and no deactivation sooner after it (0: none)"
    ),
    "account": gettext_lazy(
        "Deactivated accounts, after which user name, names and e-mail address are replaced by a pseudonym"
    ),
    "registration": gettext_lazy(
        "Registrations for network meetings, after the meeting ended, after which name and e-mail address are "
        "replaced by a pseudonym"
    ),
}
PERIOD_SETTINGS = {
    "employee": "RETENTION_EMPLOYEE_DAYS",
    "job_file": "RETENTION_JOB_FILE_DAYS",
    "audit": "RETENTION_AUDIT_DAYS",
    "invitation": "RETENTION_INVITATION_DAYS",
    "login": "RETENTION_LOGIN_DAYS",
    "dormant": "ACCOUNT_DORMANT_DAYS",
    "dormant_notice": "ACCOUNT_DORMANT_NOTICE_DAYS",
    "account": "RETENTION_ACCOUNT_DAYS",
    "registration": "RETENTION_REGISTRATION_DAYS",
}


def retention_days(kind: str) -> int:
    return settings.RETENTION_PERIODS[kind]


def retention_text(kind: str) -> str:
    days = retention_days(kind)
    return ngettext("%(days)d day", "%(days)d days", days) % {"days": days}


def cutoff(kind: str, now: datetime) -> datetime:
    return now - timedelta(days=retention_days(kind))


def pseudonym(kind: str, key) -> str:
    """A stable pseudonym for a person: the same key gives the same pseudonym, so that the audit log still shows
    that two entries concern one person. Keyed with the portal's secret: only who holds it (and the key) could
    recompute it, which is what makes it a pseudonym (Art. 4(5) GDPR) rather than a hash anyone can reverse."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"{kind}:{key}".encode(), hashlib.sha256).hexdigest()
    return PSEUDONYM_PREFIX + digest[:12]


# --- Employees ---------------------------------------------------------------------------------------------------


def employees_due(*, now: datetime):
    """Inactive employee records unchanged for the retention period and not yet pseudonymised. The programme
    package leaves out those the apps still report activity for."""
    return Employee.objects.filter(
        is_active=False, pseudonymised_at__isnull=True, updated_at__lt=cutoff("employee", now)
    )


def employees_pseudonymise(*, employee_ids, now: datetime) -> int:
    """Replace names, e-mail and personnel number by a pseudonym. The record stays (with its organisation, org
    unit and target group), so enrolments, attendance and the programme's figures keep counting it."""
    count = 0
    due = Employee.objects.filter(pk__in=list(employee_ids), pseudonymised_at__isnull=True)
    for employee_id in due.values_list("pk", flat=True):
        name = pseudonym("vielfalt.employee", employee_id)
        count += Employee.objects.filter(pk=employee_id, pseudonymised_at__isnull=True).update(
            first_name="–",
            last_name=name,
            personnel_number=name,
            email="",
            pseudonymised_at=now,
            updated_at=now,
        )
    return count


# --- Accounts of the portal ------------------------------------------------------------------------------------


def last_activity():
    """When an account was last used, made or (re)activated, whichever is latest."""
    return Greatest(
        Coalesce("last_login", "date_joined"), Coalesce("active_since", "date_joined"), "date_joined"
    )


def _unused_since(before: datetime):
    """Active accounts, superusers excepted, without a login since `before`, made and last activated before it
    (an invitation never taken up, too). Superusers are the operators' own and stay: the portal would lock out
    the people who reactivate the others."""
    return User.objects.filter(is_active=True, is_superuser=False, date_joined__lt=before).filter(
        models.Q(last_login__isnull=True) | models.Q(last_login__lt=before),
        models.Q(active_since__isnull=True) | models.Q(active_since__lt=before),
    )


def accounts_to_notify(*, now: datetime):
    """Accounts that will be dormant in the notice period and whose holder has not been told since the account
    was last used: the holder is told now, and the account is deactivated no sooner than the notice period
    later (a login meanwhile keeps it)."""
    days, notice = retention_days("dormant"), retention_days("dormant_notice")
    if not days or not notice:
        return User.objects.none()
    return (
        _unused_since(now - timedelta(days=days - notice))
        .alias(activity=last_activity())
        .filter(models.Q(dormancy_notice_at__isnull=True) | models.Q(dormancy_notice_at__lte=F("activity")))
    )


def accounts_notify(*, user_ids, now: datetime) -> int:
    return User.objects.filter(pk__in=list(user_ids)).update(dormancy_notice_at=now)


def accounts_dormant(*, now: datetime):
    """Active accounts without a login for the dormancy period since they were made, last activated or last
    used, whose holder was told at least the notice period ago and has not used the account since."""
    days = retention_days("dormant")
    if not days:
        return User.objects.none()
    if not retention_days("dormant_notice"):
        return _unused_since(now - timedelta(days=days))
    # The notice named the day: every run of that day deactivates, also one that starts a little earlier in the
    # day than the run that told (the period is then a few seconds short of full, never more than a day).
    return (
        _unused_since(now - timedelta(days=days - 1))
        .alias(activity=last_activity())
        .filter(dormancy_notice_at__gt=F("activity"), dormancy_notice_at__lt=notice_given_before(now))
    )


def notice_given_before(now: datetime) -> datetime:
    """The end of the day, the notice period before `now`'s day: a notice given at any time of that day has run
    out, whatever the time of day of the run that told and of the run that deactivates (the nightly purge
    starts a little earlier or later each night, and the notice names the day, not the hour)."""
    day = timezone.localdate(now) - timedelta(days=retention_days("dormant_notice") - 1)
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


def accounts_deactivate(*, user_ids, now: datetime) -> int:
    """Deactivate dormant accounts: their sessions end at the next request, and logging in fails."""
    return User.objects.filter(pk__in=list(user_ids), is_active=True).update(
        is_active=False, deactivated_at=now
    )


def accounts_due(*, now: datetime):
    """Accounts deactivated for the retention period and not pseudonymised yet."""
    return User.objects.filter(
        is_active=False, pseudonymised_at__isnull=True, deactivated_at__lt=cutoff("account", now)
    )


def accounts_pseudonymise(*, user_ids, now: datetime) -> int:
    """Replace user name, names and e-mail address of deactivated accounts by a pseudonym, and delete what lets
    them log in (password, roles, second factors). The row stays: agreements, reports and audit entries point to
    it (the audit log names the person until its own period ends)."""
    from django.contrib.auth.hashers import make_password
    from django_otp.plugins.otp_static.models import StaticDevice
    from django_otp_webauthn.models import WebAuthnCredential, WebAuthnUserHandle

    ids = list(
        User.objects.filter(pk__in=list(user_ids), pseudonymised_at__isnull=True).values_list("pk", flat=True)
    )
    for user_id in ids:
        User.objects.filter(pk=user_id).update(
            username=pseudonym("user", user_id),  # the audit log's pseudonym for the same person as actor
            first_name="",
            last_name="",
            email="",
            password=make_password(None),
            pseudonymised_at=now,
        )
    for model in (Membership, AuthenticatorApp, StaticDevice, WebAuthnCredential, WebAuthnUserHandle):
        model.objects.filter(user_id__in=ids).delete()
    return len(ids)


# --- Jobs --------------------------------------------------------------------------------------------------------


def jobs_due(*, now: datetime):
    return Job.objects.filter(created_at__lt=cutoff("job_file", now))


def jobs_purge(*, now: datetime) -> int:
    """Delete old jobs with their files (exports and reports can name people; the user fetches them at once)."""
    return jobs_delete(jobs_due(now=now))


def jobs_delete(jobs) -> int:
    """Delete `jobs` with their files, the files once the transaction has committed."""
    count = 0
    for job in jobs.iterator():
        for file in (job.result_file, job.input_file):  # an import's upload, if its job never finished
            if file:
                delete_file_on_commit(file)
        job.delete()
        count += 1
    return count


# What `vielfalt.programme.privacy_views` starts for an employee's Art. 15 export as a PDF.
ACCESS_EXPORT_JOB = "access_export_pdf"


def employee_jobs(employee_ids):
    """The jobs whose file is an Art. 15 export of one of these employees: everything the portal held about
    them, names first."""
    return Job.objects.filter(kind=ACCESS_EXPORT_JOB, task_kwargs__employee_id__in=list(employee_ids))


def delete_file_on_commit(file) -> None:
    """Files go only once the purge's transaction has committed: a purge that fails leaves everything as it was."""
    storage, name = file.storage, file.name
    transaction.on_commit(lambda: storage.delete(name))


# --- Login records ---------------------------------------------------------------------------------------------


def _login_querysets(now: datetime):
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog
    from django.contrib.sessions.models import Session

    before = cutoff("login", now)
    return [
        AccessLog.objects.filter(attempt_time__lt=before),
        AccessFailureLog.objects.filter(attempt_time__lt=before),
        AccessAttempt.objects.filter(attempt_time__lt=before),
        Session.objects.filter(expire_date__lt=now),
    ]


def login_records_due(*, now: datetime) -> int:
    return sum(queryset.count() for queryset in _login_querysets(now))


def login_records_purge(*, now: datetime) -> int:
    """django-axes keeps user name, IP address and browser of every login and failed attempt; sessions outlive
    their expiry in the table until someone clears them."""
    count = 0
    for queryset in _login_querysets(now):
        count += queryset.count()
        queryset.delete()
    return count


# --- Audit log ---------------------------------------------------------------------------------------------------

# Core models whose audit entries name a person in their description.
PERSONAL_MODELS = {"vielfalt.employee", "vielfalt.user", "vielfalt.job"}
LOGIN_ACTIONS = {AuditEntry.Action.LOGIN_FAILED, AuditEntry.Action.LOCKED_OUT}


def audit_due(*, now: datetime):
    return AuditEntry.objects.filter(at__lt=cutoff("audit", now), pseudonymised_at__isnull=True)


def _redact(changes):
    """Which fields changed stays; what they said goes. Numbers (counts of an import or a purge) stay."""
    if not isinstance(changes, dict):
        return {}
    return {
        key: value if isinstance(value, int | float | bool) or value is None else REDACTED
        for key, value in changes.items()
    }


def audit_pseudonymise(*, entries, personal_models: set[str], now: datetime) -> int:
    """The one path that changes audit entries, and the only change the database allows (see the trigger on
    AuditEntry): the actor becomes a pseudonym (the link to the user row is cleared), the description of an entry
    about a person becomes that person's pseudonym, and changed values are replaced by "…" (the names of the
    changed fields stay). Time, action, object, organisation stay. Each entry is marked and never changed again.

    `personal_models`: labels ("trainings.enrolment") whose entries describe a person, from every app."""
    personal = {
        content_type.pk: label
        for label in personal_models | PERSONAL_MODELS
        if (content_type := _content_type(label)) is not None
    }
    count = 0
    # The base class's update: AuditEntryQuerySet refuses updates everywhere else.
    update = models.QuerySet.update
    on_postgresql = connection.vendor == "postgresql"
    with transaction.atomic():
        rows = entries.filter(pseudonymised_at__isnull=True).values_list(
            "pk", "actor_id", "actor_name", "action", "content_type_id", "object_id", "object_repr", "changes"
        )
        for (
            pk,
            actor_id,
            actor_name,
            action,
            content_type_id,
            object_id,
            object_repr,
            changes,
        ) in rows.iterator():
            if actor_name and actor_name != "system":
                actor_name = pseudonym("user", actor_id or actor_name)
            if content_type_id in personal and object_id:
                object_repr = pseudonym(personal[content_type_id], object_id)
            elif action in LOGIN_ACTIONS and object_repr:
                object_repr = pseudonym("user", object_repr)
            if on_postgresql:
                # As the owner, through the function of migration 0012 (it redacts the changes itself): the
                # runtime role has no UPDATE on the audit log.
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT vielfalt_audit_pseudonymise(%s, %s, %s, %s)",
                        [pk, actor_name, object_repr, now],
                    )
                    count += cursor.fetchone()[0]
                continue
            if action != AuditEntry.Action.PURGE:
                changes = _redact(changes)
            count += update(
                AuditEntry.objects.filter(pk=pk),
                actor=None,
                actor_name=actor_name,
                object_repr=object_repr,
                changes=changes,
                pseudonymised_at=now,
            )
    return count


def _content_type(label: str) -> ContentType | None:
    app_label, model = label.split(".")
    try:
        return ContentType.objects.get_by_natural_key(app_label, model)
    except ContentType.DoesNotExist:
        return None


def audit_entries_about(record_keys: list[str]):
    """Audit entries whose object is one of `record_keys` ("app.model:pk")."""
    query = models.Q(pk__in=[])
    by_type: dict[str, list[str]] = {}
    for key in record_keys:
        label, pk = key.rsplit(":", 1)
        by_type.setdefault(label, []).append(pk)
    for label, pks in by_type.items():
        content_type = _content_type(label)
        if content_type is not None:
            query |= models.Q(content_type=content_type, object_id__in=pks)
    return AuditEntry.objects.filter(query).order_by("at", "pk")


# --- Art. 15: what the core holds about an employee ------------------------------------------------------------

EMPLOYEE_FIELDS = [
    "organisation",
    "personnel_number",
    "first_name",
    "last_name",
    "email",
    "org_unit",
    "target_group",
    "is_active",
    ("created_at", gettext_lazy("Created")),
    ("updated_at", gettext_lazy("Last changed")),
    "pseudonymised_at",
]


def employee_access(employee: Employee) -> list[AccessSection]:
    return [
        AccessSection(
            title=_("Employee record"),
            rows=[model_rows(employee, EMPLOYEE_FIELDS)],
            records=[record_key(employee)],
        )
    ]


def audit_access(record_keys: list[str]) -> AccessSection:
    """The audit entries about the records of the export: who did what to them, and when."""
    return _audit_section(_("Audit log entries about these records"), audit_entries_about(record_keys))


def _latest(queryset, latest: int | None, *order: str) -> tuple[list, int]:
    """(the rows of `queryset` in `order`, how many were left out): the last `latest` of them, or all."""
    if latest is None:
        return list(queryset.order_by(*order)), 0
    rows = list(queryset.order_by(*(f"-{name}" for name in order))[:latest])[::-1]
    return rows, (queryset.count() - len(rows) if len(rows) == latest else 0)


def _audit_section(title: str, entries, latest: int | None = None) -> AccessSection:
    entries, more = _latest(entries.select_related("content_type"), latest, "at", "pk")
    changes = ChangeReader()
    return AccessSection(
        title=title,
        more=more,
        rows=[
            {
                capfirst(_("time")): as_text(entry.at),
                capfirst(_("by")): actor_text(entry.actor_name, entry.actor_id),
                capfirst(_("action")): entry.get_action_display(),
                capfirst(_("object")): entry.object_repr,
                capfirst(_("details")): changes.line(entry.content_type_id, entry.changes),
            }
            for entry in entries
        ],
        records=[record_key(entry) for entry in entries],
    )


# --- Art. 15: what the portal holds about one of its users ---------------------------------------------------------

# Every field of the account but its key, its password hash and the two flags of the operators' own accounts.
USER_FIELDS = [
    "username",
    "first_name",
    "last_name",
    "email",
    "is_active",
    "date_joined",
    "last_login",
    "active_since",
    "dormancy_notice_at",
    "mail_failed_at",
    "deactivated_at",
    "pseudonymised_at",
]
USER_FIELDS_LEFT_OUT = {"id", "password", "is_staff", "is_superuser"}


def user_access(user, *, latest: int | None = None) -> list[AccessSection]:
    """What the portal holds about one of its users: the account, roles, second factor, login records,
    background jobs, audit entries, and every other row that names the user (as creator, author, registrant;
    found through the foreign keys to the user, so that a model added later is listed too). No secret: no
    password hash, no authenticator key, no recovery code, no passkey's key. Rows that name other people (an
    enrolment names an employee) are listed by kind and number only (Art. 15(4) GDPR). `latest`: at most that many
    rows of a section (the latest; the page's bound), and the records naming the user counted, not listed."""
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    sections = [
        AccessSection(title=_("Account"), rows=[model_rows(user, USER_FIELDS)], records=[record_key(user)]),
        _memberships_access(user),
        _second_factor_access(user),
    ]
    logins, more = [], 0
    for model, label in (
        (AccessLog, _("login")),
        (AccessFailureLog, _("failed login")),
        (AccessAttempt, _("failed logins not yet reset")),
    ):
        entries, left_out = _latest(
            model.objects.filter(username=user.get_username()), latest, "attempt_time", "pk"
        )
        logins += [(entry, label) for entry in entries]
        more += left_out
    sections.append(
        AccessSection(
            title=_("Login records"),
            more=more,
            rows=[
                {
                    capfirst(_("time")): as_text(entry.attempt_time),
                    capfirst(_("what")): str(label),
                    capfirst(_("IP address")): entry.ip_address or "",
                    capfirst(_("browser")): entry.user_agent,
                }
                for entry, label in logins
            ],
            records=[record_key(entry) for entry, _label in logins],
            note=_(
                "While you are logged in, the portal also keeps a session: a random key, your user number and "
                "when it expires. Logging out deletes it."
            ),
        )
    )
    jobs, more = _latest(Job.objects.filter(requested_by=user), latest, "created_at", "pk")
    sections.append(
        AccessSection(
            title=_("Background jobs you started"),
            more=more,
            rows=[model_rows(job, ["created_at", "description", "status"]) for job in jobs],
            records=[record_key(job) for job in jobs],
        )
    )
    sections.append(_user_audit_access(user, latest))
    sections.append(_records_naming(user, listed=latest is None))
    return sections


def _memberships_access(user) -> AccessSection:
    memberships = list(user.memberships.select_related("organisation").order_by("organisation__name", "role"))
    return AccessSection(
        title=_("Roles"),
        rows=[model_rows(membership, ["role", "organisation"]) for membership in memberships],
        records=[record_key(membership) for membership in memberships],
    )


def _second_factor_access(user) -> AccessSection:
    from django_otp.plugins.otp_static.models import StaticDevice
    from django_otp_webauthn.models import WebAuthnCredential, WebAuthnUserHandle

    rows, records = [], []
    for model, kind in (
        (AuthenticatorApp, _("authenticator app")),
        (StaticDevice, _("recovery codes")),
        (WebAuthnCredential, _("passkey")),
    ):
        for device in model.objects.filter(user=user).order_by("created_at", "pk"):
            row = {capfirst(_("kind")): str(kind)}
            row.update(model_rows(device, ["name", "confirmed", "created_at", "last_used_at"]))
            if model is StaticDevice:
                row[capfirst(_("unused codes"))] = str(device.token_set.count())
            rows.append(row)
            records.append(record_key(device))
    for handle in WebAuthnUserHandle.objects.filter(user=user):
        rows.append(
            {capfirst(_("kind")): _("identifier for passkeys"), capfirst(_("value")): handle.handle_hex}
        )
        records.append(record_key(handle))
    return AccessSection(title=_("Second factor"), rows=rows, records=records)


def _user_audit_access(user, latest: int | None) -> AccessSection:
    """The entries the user's actions wrote, and those about the account (an administrator's change of it)."""
    about = audit_entries_about([record_key(user)]).values("pk")
    entries = AuditEntry.objects.filter(actor=user) | AuditEntry.objects.filter(pk__in=about)
    return _audit_section(_("Audit log entries by you or about your account"), entries, latest)


# The user's rows that the sections above show in full; every other foreign key to the user is listed by
# _records_naming.
_SHOWN_IN_FULL = {
    ("vielfalt.membership", "user"),
    ("vielfalt.auditentry", "actor"),
    ("vielfalt.job", "requested_by"),
    ("vielfalt.authenticatorapp", "user"),
    ("otp_static.staticdevice", "user"),
    ("django_otp_webauthn.webauthncredential", "user"),
    ("django_otp_webauthn.webauthnuserhandle", "user"),
}


def user_foreign_keys() -> list[models.ForeignKey]:
    """Every foreign key (and one-to-one field) of any installed model to the user model."""
    from django.apps import apps
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    return [
        model_field
        for model in apps.get_models()
        for model_field in model._meta.concrete_fields
        if model_field.is_relation and model_field.related_model is user_model
    ]


NUMBERS_SHOWN = 50


def _records_naming(user, *, listed: bool = True) -> AccessSection:
    """Records of the programme that name the user (agreements they created, questions they asked, enrolments
    they made): one row per kind and role with how many and their first numbers, so that the page stays short
    for an HR clerk who enrolled thousands; with `listed`, `records` names every one of them (the download)."""
    rows, records = [], []
    for model_field in user_foreign_keys():
        model = model_field.model
        if (model._meta.label_lower, model_field.name) in _SHOWN_IN_FULL:
            continue
        naming = model.objects.filter(**{model_field.name: user}).order_by("pk").values_list("pk", flat=True)
        pks = list(naming if listed else naming[: NUMBERS_SHOWN + 1])
        if not pks:
            continue
        count = len(pks) if listed or len(pks) <= NUMBERS_SHOWN else naming.count()
        numbers = ", ".join(str(pk) for pk in pks[:NUMBERS_SHOWN]) + (", …" if count > NUMBERS_SHOWN else "")
        rows.append(
            {
                capfirst(_("kind")): str(capfirst(model._meta.verbose_name_plural)),
                capfirst(_("you are named as")): str(model_field.verbose_name),
                capfirst(_("how many")): str(count),
                capfirst(_("numbers")): numbers,
            }
        )
        if listed:
            records += [f"{model._meta.label_lower}:{pk}" for pk in pks]
    return AccessSection(
        title=_("Other records that name you"),
        rows=rows,
        records=records,
        note=_(
            "Agreements, reports, enrolments, network entries and the like that you created or that name you, "
            "by kind and number. Their content is shown in the portal to whoever may see it; the data "
            "protection officer gives you copies on request."
        ),
    )


# --- Art. 30: the core's processing activities ------------------------------------------------------------------


def processing_records() -> list[Processing]:
    return [
        Processing(
            app="vielfalt",
            name=_("Employee records of partner organisations"),
            subjects=_("Employees of partner organisations"),
            data=_(
                "Personnel number, first and last name, e-mail address, org unit, target group of training, "
                "active or not"
            ),
            purpose=_(
                "Enrolling staff in intercultural training, inviting them to the voluntary survey, counting "
                "the people trained for the programme's indicators"
            ),
            legal_basis=_(
                "Art. 6(1)(e) and Art. 88 GDPR with the employment-data provisions of the state data protection "
                "act (NRW: § 18 DSG NRW) and the partner's cooperation agreement"
            ),
            retention=_(
                "While active; %(period)s after the record became inactive and was last changed, names, e-mail "
                "and personnel number are replaced by a pseudonym (counts stay)"
            )
            % {"period": retention_text("employee")},
            recipients=_(
                "Partner HR of the employee's organisation; course organisers see the names of enrolled "
                "employees; administrators. The ministry sees counts only."
            ),
        ),
        Processing(
            app="vielfalt",
            name=_("User accounts and logins"),
            subjects=_("Staff of the ministry and of partner organisations who log in"),
            data=_(
                "User name, name, e-mail address, password hash, roles, second factor; for each login and failed "
                "attempt the user name, IP address and browser"
            ),
            purpose=_("Access control and accountability of the portal (Art. 32 GDPR)"),
            legal_basis=_("Art. 6(1)(c) and (e), Art. 32 GDPR"),
            retention=_(
                "An account without a login for %(dormant)s is deactivated, its holder told %(notice)s before; "
                "%(account)s after it was "
                "deactivated, user name, names and e-mail address are replaced by a pseudonym and password, roles "
                "and second factors deleted; login records for %(login)s; in the audit log, people are named by "
                "pseudonyms after %(period)s"
            )
            % {
                "dormant": retention_text("dormant"),
                "notice": retention_text("dormant_notice"),
                "account": retention_text("account"),
                "login": retention_text("login"),
                "period": retention_text("audit"),
            },
            recipients=_("Administrators; each user their own, under “My data”"),
        ),
        Processing(
            app="vielfalt",
            name=_("Audit log"),
            subjects=_("Users of the portal and the people whose records they changed"),
            data=_("Who changed, exported or downloaded what and when; the changed values"),
            purpose=_("Accountability and detection of misuse (Art. 5(2), Art. 32 GDPR)"),
            legal_basis=_("Art. 6(1)(c) and (e), Art. 32 GDPR"),
            retention=_(
                "Entries are kept; after %(period)s people are replaced by pseudonyms and changed values by “…”"
            )
            % {"period": retention_text("audit")},
            recipients=_(
                "Administrators; ministry staff the entries about the partnership of every partner (agreements, "
                "their signatories, commitments, progress reports and documents, anonymised procedures, the "
                "network's practice examples, questions, answers and meetings) and those of their own "
                "organisation (its staff's logins and actions), not the partners' entries about their "
                "employees, enrolments, certificates, surveys and their users' logins and accounts"
            ),
        ),
        Processing(
            app="vielfalt",
            name=_("Files of background jobs"),
            subjects=_("Employees and users named in exports and reports"),
            data=_("Exports (employee lists, reports), Art. 15 access exports"),
            purpose=_("Delivering a requested export or report to the user who asked for it"),
            legal_basis=_("As for the data exported"),
            retention=_("Deleted with the job after %(period)s") % {"period": retention_text("job_file")},
            recipients=_("The user who requested the job; administrators"),
        ),
    ]
