"""Data protection across the whole portal: the core's and every app's `privacy.py` put together.

- `purge`: the retention purge (Löschkonzept) behind `manage.py purge_personal_data` and the daily beat task;
- `access_export`: everything the portal holds about one employee (Art. 15 GDPR), as a dictionary for JSON and
  PDF; `user_access_export` the same about a user of the portal, for the user;
- `processing_record`: the record of processing activities (Art. 30 GDPR) from the apps' declarations and the
  configured periods.

The apps are listed here once, in `APPS`; each has the same parts: `PERSONAL_MODELS`, `employee_records`,
`employees_purge`, `employee_access`, `processing_records`.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime, timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from partnerships import privacy as partnerships_privacy
from surveys import privacy as surveys_privacy
from trainings import privacy as trainings_privacy
from vielfalt import privacy as core
from vielfalt.account_events import account_changed, dormancy_notice
from vielfalt.audit import audit_record, record_text
from vielfalt.models import AuditEntry, Employee, Role, User
from vielfalt.pdf import letterhead_for, render_pdf
from vielfalt.permissions import SYSTEM, require
from vielfalt.signals import accounts_left

APPS = (partnerships_privacy, trainings_privacy, surveys_privacy)
PERSONAL_MODELS = set().union(*(app.PERSONAL_MODELS for app in APPS))


# --- Retention purge ---------------------------------------------------------------------------------------------


def employees_due(*, now: datetime):
    """Inactive, unchanged for the period, not pseudonymised yet, and no course date after the cutoff."""
    return core.employees_due(now=now).exclude(
        pk__in=trainings_privacy.employees_active_since(core.cutoff("employee", now))
    )


def records_about(employee_ids) -> list[str]:
    """Every row that names these employees (whose audit entries name them too): a handful of queries for any
    number of employees. test_privacy checks that the Art. 15 export lists the same rows."""
    keys = [f"vielfalt.employee:{pk}" for pk in employee_ids]
    for app in APPS:
        keys += app.employee_records(employee_ids)
    return keys


def _audit_to_pseudonymise(*, now: datetime, employee_ids, registrations=()):
    due = core.audit_due(now=now)
    keys = records_about(employee_ids) + partnerships_privacy.registration_records(registrations)
    about = core.audit_entries_about(keys).filter(pseudonymised_at__isnull=True)
    return AuditEntry.objects.filter(pk__in=due.values("pk")) | AuditEntry.objects.filter(
        pk__in=about.values("pk")
    )


def _audit_written_to_pseudonymise(*, now: datetime, dormant, employee_ids, registrations) -> int:
    """For the preview: the entries a run writes before it chooses those to pseudonymise, one for each account it
    deactivates and one for each registration those accounts give up with it. Written today, they are due in a
    run --as-of a day the audit period after today; else only those about a registration whose entries go."""
    ended = partnerships_privacy.registrations_ended_with_accounts([user.pk for user in dormant])
    if timezone.now() < core.cutoff("audit", now):
        return len(dormant) + ended.count()
    keys = set(records_about(employee_ids) + partnerships_privacy.registration_records(registrations))
    return sum(core.record_key(registration) in keys for registration in ended)


def purge(*, actor, now: datetime | None = None, dry_run: bool = False) -> dict[str, int]:
    """Apply every retention period; return what was (or, with `dry_run`, would be) purged, per kind. A real run
    writes one audit entry with the counts, in the same transaction; files go when it commits."""
    require(actor, Role.ADMIN)
    now = now or timezone.now()
    ids = list(employees_due(now=now).order_by("pk").values_list("pk", flat=True))
    dormant = list(core.accounts_dormant(now=now).order_by("pk"))
    to_notify = list(core.accounts_to_notify(now=now).order_by("pk"))
    # Due by their own period; those naming an employee due go with the employee (employees_purge).
    registrations = list(
        partnerships_privacy.registrations_due(now=now)
        .exclude(pk__in=partnerships_privacy.registrations_of(ids).values("pk"))
        .order_by("pk")
    )
    if dry_run:
        return {
            "accounts_notified": len(to_notify),
            "accounts_deactivated": len(dormant),
            "accounts": core.accounts_due(now=now).count(),
            "employees": len(ids),
            "certificates": trainings_privacy.certificates_of(ids).count(),
            "invitations": surveys_privacy.invitations_due(now=now).count(),
            "jobs": (core.jobs_due(now=now) | employee_jobs(ids)).count(),
            "login_records": core.login_records_due(now=now),
            "registrations": len(
                {registration.pk for registration in registrations}
                | set(partnerships_privacy.registrations_of(ids).values_list("pk", flat=True))
                | set(
                    partnerships_privacy.registrations_of_accounts(
                        core.accounts_due(now=now).values_list("pk", flat=True)
                    ).values_list("pk", flat=True)
                )
            ),
            "audit_entries": _audit_to_pseudonymise(
                now=now, employee_ids=ids, registrations=registrations
            ).count()
            + _audit_written_to_pseudonymise(
                now=now, dormant=dormant, employee_ids=ids, registrations=registrations
            ),
        }
    counts: dict[str, int] = {}
    with transaction.atomic():
        counts["accounts_notified"] = core.accounts_notify(user_ids=[user.pk for user in to_notify], now=now)
        deactivate_on = timezone.localdate(now + timedelta(days=core.retention_days("dormant_notice")))
        for user in to_notify:  # told after the commit
            dormancy_notice(user=user, deactivate_on=deactivate_on)
        # First, so that the entries it writes are judged with the rest (due only in a run --as-of a later day).
        counts["accounts_deactivated"] = core.accounts_deactivate(
            user_ids=[user.pk for user in dormant], now=now
        )
        if dormant:
            accounts_left.send(sender=User, actor=actor, user_ids=[user.pk for user in dormant])
        for user in dormant:  # an entry each, and each holder told why (after the commit)
            account_changed(
                user=user, actor=actor, event="deactivated", name=str(core.retention_days("dormant"))
            )
        audit_entries = list(
            _audit_to_pseudonymise(now=now, employee_ids=ids, registrations=registrations).values_list(
                "pk", flat=True
            )
        )
        for app in APPS:
            counts.update(app.employees_purge(employee_ids=ids, now=now))
        counts["employees"] = core.employees_pseudonymise(employee_ids=ids, now=now)
        counts.update(surveys_privacy.invitations_purge(now=now))
        counts["jobs"] = employee_jobs_delete(ids) + core.jobs_purge(now=now)
        counts["login_records"] = core.login_records_purge(now=now)
        counts["registrations"] += partnerships_privacy.registrations_purge(
            registrations=registrations, now=now
        )
        accounts = list(core.accounts_due(now=now).values_list("pk", flat=True))
        counts["registrations"] += partnerships_privacy.registrations_purge(
            registrations=list(partnerships_privacy.registrations_of_accounts(accounts).order_by("pk")),
            now=now,
        )
        counts["accounts"] = core.accounts_pseudonymise(user_ids=accounts, now=now)
        counts["audit_entries"] = core.audit_pseudonymise(
            entries=AuditEntry.objects.filter(pk__in=audit_entries), personal_models=PERSONAL_MODELS, now=now
        )
        counts = {key: counts.get(key, 0) for key in PURGE_KINDS}
        audit_record(
            actor=actor,
            action=AuditEntry.Action.PURGE,
            object_repr=record_text(gettext_noop("Retention purge")),
            changes=counts,
        )
    return counts


PURGE_KINDS = (
    "employees",
    "certificates",
    "invitations",
    "jobs",
    "login_records",
    "registrations",
    "audit_entries",
    "accounts_notified",
    "accounts_deactivated",
    "accounts",
)


class ErasureRefused(Exception):
    """Why an employee record cannot be erased now (translated, for the user)."""


def employee_erase(*, actor, employee: Employee) -> dict[str, int]:
    """Erasure on request (Art. 17 GDPR) of one employee, before the retention period ends: the same as the purge
    does to an employee who is due (names, e-mail, personnel number, certificates' names, audit entries about
    them), at once. Only HR of the employee's organisation, and only for an inactive record (deactivate first: an
    active employee is still enrolled, invited and counted under their name)."""
    require(actor, Role.HR, employee.organisation)
    if employee.is_active:
        raise ErasureRefused(_("Deactivate the employee first; only inactive records can be erased."))
    if employee.pseudonymised_at is not None:
        raise ErasureRefused(_("This record was already pseudonymised."))
    now = timezone.now()
    ids = [employee.pk]
    counts: dict[str, int] = {}
    with transaction.atomic():
        about = core.audit_entries_about(records_about(ids)).filter(pseudonymised_at__isnull=True)
        audit_entries = list(about.values_list("pk", flat=True))
        for app in APPS:
            counts.update(app.employees_purge(employee_ids=ids, now=now))
        counts["employees"] = core.employees_pseudonymise(employee_ids=ids, now=now)
        counts["jobs"] = employee_jobs_delete(ids)
        counts["audit_entries"] = core.audit_pseudonymise(
            entries=AuditEntry.objects.filter(pk__in=audit_entries), personal_models=PERSONAL_MODELS, now=now
        )
        counts = {
            key: counts.get(key, 0)
            for key in ("employees", "certificates", "registrations", "jobs", "audit_entries")
        }
        audit_record(
            actor=actor,
            action=AuditEntry.Action.PURGE,
            obj=employee,
            object_repr=core.pseudonym("vielfalt.employee", employee.pk),
            changes={"request": "art17", **counts},
        )
    return counts


def employee_jobs(employee_ids):
    """Background jobs whose files name these employees: their Art. 15 exports, the sign-in sheets and
    certificates of their course dates."""
    return core.employee_jobs(employee_ids) | trainings_privacy.employee_jobs(employee_ids)


def employee_jobs_delete(employee_ids) -> int:
    """Deleted with the files when the employees are pseudonymised: an erased name must not stay downloadable
    from a job page for the rest of the jobs' own period."""
    return core.jobs_delete(employee_jobs(employee_ids))


def purge_labels() -> dict[str, str]:
    return {
        "employees": _("Employee records pseudonymised"),
        "certificates": _("Certificates without name and PDF"),
        "invitations": _("Survey invitations without token hash and e-mail stamps"),
        "jobs": _("Background jobs deleted with their files"),
        "login_records": _("Login records and expired sessions deleted"),
        "registrations": _("Registrations for network meetings pseudonymised"),
        "audit_entries": _("Audit entries pseudonymised"),
        "accounts_notified": _("Holders of unused accounts told of the deactivation"),
        "accounts_deactivated": _("Accounts without a login deactivated"),
        "accounts": _("Deactivated accounts pseudonymised"),
    }


def retention_overview(*, now: datetime | None = None) -> dict:
    """The periods as configured and what the next run would purge (for the administrators' page)."""
    now = now or timezone.now()
    counts = purge(actor=SYSTEM, now=now, dry_run=True)
    labels = purge_labels()
    return {
        "periods": [
            {
                "kind": kind,
                "label": str(core.PERIOD_LABELS[kind]),
                "days": core.retention_days(kind),
                "setting": core.PERIOD_SETTINGS[kind],
            }
            for kind in core.PERIOD_SETTINGS
        ],
        "next_run": [{"kind": kind, "label": labels[kind], "count": counts[kind]} for kind in PURGE_KINDS],
        "last_run": AuditEntry.objects.filter(action=AuditEntry.Action.PURGE).order_by("-at", "-pk").first(),
    }


# --- Art. 15 -----------------------------------------------------------------------------------------------------


def _employee_sections(employee: Employee) -> list[core.AccessSection]:
    sections = core.employee_access(employee)
    for app in APPS:
        sections += app.employee_access(employee)
    return sections


def access_export(*, actor, employee: Employee) -> dict:
    """Everything the portal holds about `employee`, for HR of the employee's organisation. Survey answers are not
    part of it: they are not linked to anyone."""
    require(actor, Role.HR, employee.organisation)
    sections = _employee_sections(employee)
    keys = [key for section in sections for key in section.records]
    sections.append(core.audit_access(keys))
    return {
        "title": _("Information on the personal data held (Art. 15 GDPR)"),
        "generated_at": timezone.now(),
        "controller": settings.PORTAL_OPERATOR["name"],
        "organisation": employee.organisation.name,
        "employee": core.record_key(employee),
        "subject": employee.full_name,
        "sections": [asdict(section) for section in sections],
        "purposes": [asdict(record) for record in processing_record() if record.app != "partnerships"],
    }


def access_export_json(*, actor, employee: Employee) -> bytes:
    export = access_export(actor=actor, employee=employee)
    return json.dumps(export, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2).encode()


def access_export_pdf(*, actor, employee: Employee) -> bytes:
    export = access_export(actor=actor, employee=employee)
    return render_pdf(
        "pdf/privacy/access.html",
        {
            "export": export,
            "portal_operator_name": export["controller"],
            # The employer answers the request: its letterhead, the date and a reference of the answer.
            "letterhead": letterhead_for(employee.organisation),
            "document_date": timezone.localdate(),
            "reference": f"DS-A15-{employee.pk}",
        },
    )


def access_export_record(*, actor, employee: Employee, export_format: str) -> None:
    audit_record(
        actor=actor,
        action=AuditEntry.Action.EXPORT,
        obj=employee,
        changes={"format": export_format, "kind": "art15"},
    )


def user_access_export(*, user, latest: int | None = None) -> dict:
    """Everything the portal holds about `user`, for the user themself (their own account: no role needed);
    with `latest`, a section's latest rows only (`core.user_access`)."""
    return {
        "title": _("Information on the personal data held (Art. 15 GDPR)"),
        "generated_at": timezone.now(),
        "controller": settings.PORTAL_OPERATOR["name"],
        "user": core.record_key(user),
        "subject": user.get_full_name() or user.get_username(),
        "sections": [asdict(section) for section in core.user_access(user, latest=latest)],
        "purposes": [asdict(record) for record in processing_record()],
    }


def user_access_export_json(*, user) -> bytes:
    """The JSON download, recorded in the audit log as the employee export is."""
    content = json.dumps(user_access_export(user=user), cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)
    audit_record(
        actor=user, action=AuditEntry.Action.EXPORT, obj=user, changes={"format": "json", "kind": "art15"}
    )
    return content.encode()


# --- Art. 30 -----------------------------------------------------------------------------------------------------


def processing_record() -> list[core.Processing]:
    records = core.processing_records()
    for app in APPS:
        records += app.processing_records()
    return records


def processing_record_pdf() -> bytes:
    return render_pdf(
        "pdf/privacy/record.html",
        {
            "records": processing_record(),
            "operator": settings.PORTAL_OPERATOR,
            "generated_at": timezone.now(),
            "portal_operator_name": settings.PORTAL_OPERATOR["name"],
            "document_date": timezone.localdate(),
            "reference": "DS-A30",
        },
    )
