"""Every write of the core app: employees and their import. Views and commands call these; each checks its
keyword-only `actor` (partner HR of the employee's organisation, an administrator, or `permissions.SYSTEM`)."""

import functools
import uuid
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils.translation import get_language, gettext_noop, ngettext
from django.utils.translation import gettext as _

from .audit import audit_record, model_changes, record_text
from .concurrency import check_opened_version
from .jobs import JobError, job_enqueue, send_after_commit
from .models import AuditEntry, Employee, Job, Organisation, Role, TargetGroup, User, personnel_number_text
from .permissions import actor_from_id, require
from .signals import employees_left
from .tabular import (
    PERSONNEL_NUMBER_COLUMNS,
    Problem,
    Table,
    TableRefused,
    listed_twice,
    normalise_header,
    read_table,
)
from .validation import one_line

EMPLOYEE_FIELDS = [
    "personnel_number",
    "first_name",
    "last_name",
    "email",
    "org_unit",
    "target_group",
    "is_active",
]


@transaction.atomic
def employee_create(*, actor: User, organisation: Organisation, **fields) -> Employee:
    require(actor, Role.HR, organisation)
    employee = Employee(organisation=organisation, **fields)
    employee.full_clean()
    employee.save()
    audit_record(actor=actor, action=AuditEntry.Action.CREATE, obj=employee)
    return employee


@transaction.atomic
def employee_update(
    *, actor: User, employee: Employee, opened_version: str | None = None, **fields
) -> Employee:
    """`opened_version`: the record's `updated_at` when the form was opened; EditConflict when a colleague or an
    import has changed it since (vielfalt.concurrency). The record is read again under its row's lock."""
    require(actor, Role.HR, employee.organisation_id)
    if "organisation" in fields:  # moving a record needs the right to both organisations
        require(actor, Role.HR, fields["organisation"])
    employee = Employee.objects.select_for_update().get(pk=employee.pk)
    check_opened_version(employee, opened_version, actor=actor)
    names = [*EMPLOYEE_FIELDS, *(name for name in fields if name not in EMPLOYEE_FIELDS)]
    before = {name: getattr(employee, name) for name in names}
    for name, value in fields.items():
        setattr(employee, name, value)
    employee.full_clean()
    if model_changes(employee, names, before):  # else no newer version for a colleague's open form
        employee.save()
    changes = model_changes(employee, EMPLOYEE_FIELDS, before)
    if changes:
        audit_record(actor=actor, action=AuditEntry.Action.CHANGE, obj=employee, changes=changes)
    if before["is_active"] and not employee.is_active:
        employees_left.send(sender=Employee, actor=actor, employee_ids=[employee.pk])
    return employee


def employee_deactivate(*, actor: User, employee: Employee) -> Employee:
    return employee_update(actor=actor, employee=employee, is_active=False)


# --- Accounts -------------------------------------------------------------------------------------------------


def account_invitation_send(*, actor: User, user: User, not_queued=None) -> None:
    """E-mail `user` a link to choose their password (vielfalt.invitations), once the transaction commits: a new
    account, or one whose link expired before a password was chosen. Only administrators, who create accounts.
    An account that has a password (or has logged in) gets none: its holder uses "Forgotten your password?".
    `not_queued()` is called if the e-mail could not be handed to the background service (Redis down)."""
    from .invitations import awaits_password
    from .tasks import task_account_invitation  # the tasks module imports this one

    require(actor, Role.ADMIN)
    if not awaits_password(user):
        raise ValidationError(
            _("%(user)s has chosen a password already or is inactive: no link was sent.") % {"user": user}
        )
    if not user.email:
        raise ValidationError(_("%(user)s has no e-mail address: no link was sent.") % {"user": user})

    # Recorded once the e-mail was handed to the background service, or could not be: "sent to" written before
    # the hand-over stood in the log also for a link that never left (Redis down). Not "delivered": the mail
    # server may still refuse it (the account's "e-mail not delivered" then says so). Never the link itself.
    def record(words: str) -> None:
        audit_record(
            actor=actor,
            action=AuditEntry.Action.CHANGE,
            obj=user,
            changes={"password_link": record_text(words, email=user.email)},
        )

    def refused() -> None:
        record(gettext_noop("not queued for %(email)s: the background service was not reachable"))
        if not_queued is not None:
            not_queued()

    send_after_commit(
        task_account_invitation,
        on_queued=functools.partial(record, gettext_noop("queued for %(email)s")),
        on_not_queued=refused,
        user_id=user.pk,
    )


# --- Import --------------------------------------------------------------------------------------------------

# Column names as German HR exports write them, and their English equivalents (normalised: see
# `normalise_header`).
COLUMNS = {
    "personnel_number": PERSONNEL_NUMBER_COLUMNS,
    "last_name": ("nachname", "familienname", "name", "lastname", "surname"),
    "first_name": ("vorname", "firstname", "givenname"),
    "email": ("email", "emailadresse", "mail"),
    "org_unit": ("organisationseinheit", "orgeinheit", "abteilung", "dienststelle", "orgunit", "unit"),
    "target_group": ("zielgruppe", "targetgroup"),
    "is_active": ("aktiv", "active"),
}
REQUIRED_COLUMNS = ("personnel_number", "last_name", "first_name")

TARGET_GROUP_VALUES = {
    TargetGroup.TRAINEE: (
        "auszubildende",
        "auszubildender",
        "auszubildenderr",
        "azubi",
        "trainee",
        "trainees",
    ),
    TargetGroup.PUBLIC_FACING: (
        "publikumsverkehr",
        "publikumskontakt",
        "beschäftigtemitpublikumskontakt",
        "mitarbeitendemitpublikumskontakt",
        "publicfacing",
        "publicfacingstaff",
    ),
    TargetGroup.MANAGER: ("führungskraft", "führungskräfte", "manager", "managers"),
    TargetGroup.OTHER: ("sonstige", "sonstiges", "sonstigebeschäftigte", "andere", "other", "otherstaff"),
}
TARGET_GROUP_LOOKUP = {alias: group for group, aliases in TARGET_GROUP_VALUES.items() for alias in aliases}
YES = {"ja", "j", "yes", "y", "1", "x", "wahr", "true"}
NO = {"nein", "n", "no", "0", "falsch", "false"}


@dataclass
class ImportResult:
    created: int
    updated: int
    unchanged: int = 0  # in the file as they are in the portal: not written (their retention clock runs on)

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged

    def summary(self) -> str:
        added = ngettext("%(count)s employee added", "%(count)s employees added", self.created) % {
            "count": self.created
        }
        updated = ngettext("%(count)s updated", "%(count)s updated", self.updated) % {"count": self.updated}
        if self.unchanged:
            return _("Import complete: %(added)s, %(updated)s, %(unchanged)s unchanged.") % {
                "added": added,
                "updated": updated,
                "unchanged": self.unchanged,
            }
        return _("Import complete: %(added)s, %(updated)s.") % {"added": added, "updated": updated}


# What an import writes of an employee; a record the file repeats as it stands is left alone.
IMPORTED_FIELDS = ["first_name", "last_name", "email", "org_unit", "target_group", "is_active"]


def employees_import_file(*, actor: User, organisation: Organisation, data: bytes) -> ImportResult:
    """Import employees from CSV or XLSX bytes; all or nothing. Raises `TableRefused` listing every problem."""
    return employees_import(actor=actor, organisation=organisation, table=read_table(data))


# A refused file can have a problem in every cell; the job page lists this many (and says how many there are).
JOB_PROBLEMS_SHOWN = 1000


def employees_import_start(*, actor: User, organisation: Organisation, data: bytes) -> Job:
    """A file too large to import inside the request (`tabular.runs_inline`): stored with a job that imports it
    in the background (`vielfalt.import_employees`, with time and memory limits), all or nothing as
    `employees_import`. The job's page shows the result, or every problem with its line and column."""
    from .tasks import task_import_employees  # the tasks module imports this one

    require(actor, Role.HR, organisation)
    return job_enqueue(
        task=task_import_employees,
        kind="vielfalt.employee_import",
        description=_("Employee import: %(organisation)s") % {"organisation": organisation},
        requested_by=actor,
        organisation=organisation,
        role=Role.HR,
        origin=(reverse("employee_import"), _("Import employees")),
        input_file=(f"{uuid.uuid4().hex}.upload", data),
        actor_id=actor.pk,
        language=get_language(),
    )


def employees_import_for_job(*, job_id, actor_id: int) -> ImportResult:
    """The background half of `employees_import_start`: import the job's stored file as the user who uploaded
    it (checked again: a role withdrawn meanwhile counts). A refused file fails the job with its problems."""
    actor = actor_from_id(actor_id)
    job = Job.objects.select_related("organisation").get(pk=job_id)
    require(actor, Role.HR, job.organisation_id)
    if not job.input_file:
        raise JobError(_("The uploaded file is no longer there. Please upload it again."))
    with job.input_file.open("rb") as upload:
        data = upload.read()
    try:
        result = employees_import_file(actor=actor, organisation=job.organisation, data=data)
    except TableRefused as refused:
        count = len(refused.problems)
        Job.objects.filter(pk=job_id).update(
            problems=[
                # Kept with the job for its retention: what kind of problem, where; never the cell's content (an
                # employee's address or personnel number), which went with the upload (job_input_discard).
                {"line": p.line, "column": p.column, "message": p.kept_message}
                for p in refused.problems[:JOB_PROBLEMS_SHOWN]
            ]
        )
        raise JobError(
            ngettext(
                "The file was not imported: %(count)s problem. Nothing was saved.",
                "The file was not imported: %(count)s problems. Nothing was saved.",
                count,
            )
            % {"count": count}
        ) from None
    Job.objects.filter(pk=job_id).update(
        outcome=result.summary()[:300], result_url=reverse("employee_list"), result_name=_("Employees")
    )
    return result


def employees_import(*, actor: User, organisation: Organisation, table: Table) -> ImportResult:
    require(actor, Role.HR, organisation)
    records = _validated_records(organisation=organisation, table=table)
    numbers = [r["personnel_number"] for r in records]
    marked_inactive = {r["personnel_number"] for r in records if not r["is_active"]}
    columns = [f"{name}_id" if name == "org_unit" else name for name in IMPORTED_FIELDS]
    with transaction.atomic():
        existing = {}  # personnel number → the imported fields as stored
        leaving = []  # active until this import marks them inactive
        for start in range(0, len(numbers), 5000):
            for number, pk, *stored in Employee.objects.filter(
                organisation=organisation, personnel_number__in=numbers[start : start + 5000]
            ).values_list("personnel_number", "pk", *columns):
                existing[number] = tuple(stored)
                if stored[IMPORTED_FIELDS.index("is_active")] and number in marked_inactive:
                    leaving.append(pk)
        # Only what is new or changed is written: a yearly export that repeats a leaver as "nein" must not
        # make the record "changed" again, or its retention period (after it was last changed) never ends.
        written = [r for r in records if existing.get(r["personnel_number"]) != _as_stored(r)]
        Employee.objects.bulk_create(
            [Employee(organisation=organisation, **record) for record in written],
            batch_size=2000,
            update_conflicts=True,
            unique_fields=["organisation", "personnel_number"],
            update_fields=[*IMPORTED_FIELDS, "updated_at"],
        )
        if leaving:
            employees_left.send(sender=Employee, actor=actor, employee_ids=leaving)
        created = len(records) - len(existing)
        result = ImportResult(
            created=created, updated=len(written) - created, unchanged=len(records) - len(written)
        )
        audit_record(
            actor=actor,
            action=AuditEntry.Action.IMPORT,
            obj=organisation,
            object_repr=record_text(gettext_noop("Employees of %(organisation)s"), organisation=organisation),
            changes={"created": result.created, "updated": result.updated, "unchanged": result.unchanged},
        )
    return result


def _as_stored(record: dict) -> tuple:
    """An import's record as `employees_import` reads the stored one: IMPORTED_FIELDS, the org unit's id."""
    return tuple(
        getattr(record["org_unit"], "pk", None) if name == "org_unit" else record[name]
        for name in IMPORTED_FIELDS
    )


def _validated_records(*, organisation: Organisation, table: Table) -> list[dict]:
    columns: dict[str, int] = {}
    labels: dict[str, str] = {}
    for index, name in enumerate(table.header):
        key = normalise_header(name)
        for field, aliases in COLUMNS.items():
            if key in aliases and field not in columns:
                columns[field] = index
                labels[field] = name
    missing = [field for field in REQUIRED_COLUMNS if field not in columns]
    if missing:
        expected = {"personnel_number": "Personalnummer", "last_name": "Nachname", "first_name": "Vorname"}
        raise TableRefused(
            [Problem(1, expected[f], _("This column is missing from the first line.")) for f in missing]
        )
    if not table.rows:
        raise TableRefused([Problem(2, "", _("The file contains no employees."))])

    units = {unit.name.casefold(): unit for unit in organisation.units.all()}
    problems: list[Problem] = []
    records: list[dict] = []
    first_line_of: dict[str, int] = {}

    def cell(cells: list[str], field: str) -> str:
        index = columns.get(field)
        if index is None or index >= len(cells):
            return ""
        # A cell written on several lines (Alt+Enter in Excel) holds one name, unit or group.
        return one_line(cells[index].strip())

    for line, cells in table.rows:
        row_problems = []

        def problem(
            field: str, message: str, general: str = "", line=line, row_problems=row_problems
        ) -> None:
            row_problems.append(Problem(line, labels.get(field, field), message, general))

        number = personnel_number_text(cell(cells, "personnel_number"))
        if not number:
            problem("personnel_number", _("The personnel number is missing."))
        elif len(number) > 40:
            problem("personnel_number", _("The personnel number is longer than 40 characters."))
        elif twice := listed_twice(first_line_of, number, line):
            problem(
                "personnel_number",
                twice,
                _("The personnel number appears twice (first in line %(line)s).")
                % {"line": first_line_of[number]},
            )

        names = {}
        for field, message in (
            ("last_name", _("The last name is missing.")),
            ("first_name", _("The first name is missing.")),
        ):
            names[field] = cell(cells, field)
            if not names[field]:
                problem(field, message)
            elif len(names[field]) > 150:
                problem(field, _("The name is longer than 150 characters."))

        email = cell(cells, "email")
        if email:
            try:
                validate_email(email)
            except ValidationError:
                problem(
                    "email",
                    _("“%(value)s” is not a valid e-mail address.") % {"value": email[:100]},
                    _("This is not a valid e-mail address."),
                )

        unit_name = cell(cells, "org_unit")
        unit = None
        if unit_name:
            unit = units.get(unit_name.casefold())
            if unit is None:
                problem(
                    "org_unit",
                    _("The org unit “%(value)s” does not exist in %(organisation)s.")
                    % {"value": unit_name[:100], "organisation": organisation},
                    _("This org unit does not exist in %(organisation)s.") % {"organisation": organisation},
                )

        group_value = cell(cells, "target_group")
        group = TargetGroup.OTHER
        if group_value:
            group = TARGET_GROUP_LOOKUP.get(normalise_header(group_value))
            if group is None:
                problem(
                    "target_group",
                    _("“%(value)s” is not a target group (%(groups)s).")
                    % {"value": group_value[:100], "groups": ", ".join(map(str, TargetGroup.labels))},
                    _("This is not a target group (%(groups)s).")
                    % {"groups": ", ".join(map(str, TargetGroup.labels))},
                )

        active_value = normalise_header(cell(cells, "is_active"))
        is_active = True
        if active_value:
            if active_value in NO:
                is_active = False
            elif active_value not in YES:
                problem("is_active", _("Please write “ja” or “nein”."))

        if row_problems:
            problems.extend(row_problems)
            continue
        records.append(
            {
                "personnel_number": number,
                "last_name": names["last_name"],
                "first_name": names["first_name"],
                "email": email,
                "org_unit": unit,
                "target_group": group,
                "is_active": is_active,
            }
        )
    if problems:
        raise TableRefused(problems)
    return records
