# ruff: noqa: S608 -- table names come from the models, values are always parameters
"""`manage.py seed_scale`: the programme at full scale, for `make bench` and for trying the portal under load.

400 partner organisations (slugs `scale-p0001` …) with 5 org units each, a state party (`scale-land`), 2,000
agreements with signatories, commitments, progress reports and signed copies, 100,000 employees, 50 courses
with 5,000 dates and 200,000 enrolments, one closed survey campaign per partner with 500,000 anonymous
responses (no invitations: a response has no link to any invitation or employee), and 2,000 anonymised
application procedures where the model exists, 10,000 practice entries of the partners' network, and the
500,000 audit entries all this leaves in about two years.
`--scale 0.001` makes everything a thousandth as large.

Written by PostgreSQL COPY in one transaction: either all of it is there or none. A second run finds the data
and does nothing; `--reset` deletes the scale data first. Refused on SQLite, and with DEBUG off unless
`--force` (it is meant for development and benchmark databases, never for production)."""

import hashlib
import json
import random
import time
import uuid
from datetime import date, datetime, timedelta
from itertools import product

import pgtrigger
from django.apps import apps
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import NOT_PROVIDED
from django.utils import timezone

from partnerships.network.models import PracticeEntry
from partnerships.network.scale import COLUMNS, practice_rows
from vielfalt.models import AuditEntry, Employee, Membership, Organisation, OrgUnit, Role, TargetGroup, User

PREFIX = "scale-"
PARTNER_PREFIX = "scale-p"
STATE_SLUG = "scale-land"
PERSONNEL_PREFIX = "SC-"
# Users of the scale data (no password: the benchmarks log them in through sessions they create).
MINISTRY_USER = "scale-ministerium"
HR_USER = "scale-hr"  # HR of the first partner
ORGANISER_USER = "scale-schulung"  # course organiser of the first partner (which organises courses)
ADMIN_USER = "scale-admin"

FULL = {
    "partners": 400,
    "agreements": 2_000,
    "employees": 100_000,
    "course_dates": 5_000,
    "enrolments": 200_000,
    "responses": 500_000,
    "procedures": 2_000,
    "practice_entries": 10_000,
    # What the rest does to the audit log in about two years: logins, enrolments, changes, exports.
    "audit_entries": 500_000,
}
UNITS_PER_PARTNER = 5
COURSES = 50
ORGANISERS = 10  # the first partners organise the courses
SIGNED_YEAR = (
    2024  # every fourth agreement is signed in this year: 500 at full scale, each with a signed copy
)

KINDS = [
    Organisation.Kind.CITY,
    Organisation.Kind.DISTRICT,
    Organisation.Kind.AUTHORITY,
    Organisation.Kind.ASSOCIATION,
    Organisation.Kind.COMPANY,
    Organisation.Kind.INTEGRATION_CENTRE,
]
DISTRICTS = list(Organisation.District.values)
UNIT_NAMES = ["Bürgeramt", "Ausländerbehörde", "Jugendamt", "Personalamt", "Ordnungsamt"]
FIRST_NAMES = [
    "Fatma",
    "Mehmet",
    "Anna",
    "Łukasz",
    "Zülfiye",
    "Jürgen",
    "Marie",
    "Thị Lan",
    "Ömer",
    "Katarzyna",
]
LAST_NAMES = ["Nowak", "Yılmaz", "Groß", "Schäfer", "Müller", "Kowalski", "Nguyen", "Öztürk", "Weiß", "Demir"]
GROUPS = [TargetGroup.PUBLIC_FACING, TargetGroup.OTHER, TargetGroup.TRAINEE, TargetGroup.MANAGER]
FIELDS_OF_ACTION = [
    "Interkulturelle Sensibilisierung der Auszubildenden",
    "Interkulturelle Schulung der Beschäftigten mit Publikumsverkehr",
    "Interkulturelle Kompetenz der Führungskräfte",
    "Anonymisierte Bewerbungsverfahren",
    "Freiwillige Beschäftigtenbefragung",
]
# A minimal valid PDF: the signed copies of the seeded agreements.
SIGNED_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"xref\n0 4\n0000000000 65535 f \n0000000009 00000 n \n0000000052 00000 n \n0000000101 00000 n \n"
    b"trailer<</Size 4/Root 1 0 R>>\nstartxref\n166\n%%EOF\n"
)


def counts_for(scale: float) -> dict[str, int]:
    counts = {name: max(1, round(value * scale)) for name, value in FULL.items()}
    # Each employee is enrolled in at most two dates (one per round), on different dates.
    counts["enrolments"] = min(counts["enrolments"], 2 * counts["employees"])
    if counts["course_dates"] < 2:
        counts["enrolments"] = min(counts["enrolments"], counts["employees"])
    return counts


def table(model) -> str:
    return model._meta.db_table


class Command(BaseCommand):
    help = "Create the full-scale data set of the programme (PostgreSQL only; for benchmarks)."

    def add_arguments(self, parser):
        parser.add_argument("--scale", type=float, default=1.0, help="factor on every count (e.g. 0.001)")
        parser.add_argument("--reset", action="store_true", help="delete the scale data first")
        parser.add_argument("--force", action="store_true", help="run even with DEBUG off")

    def handle(self, *args, scale, reset, force, **options):
        if connection.vendor != "postgresql":
            raise CommandError(
                "seed_scale needs PostgreSQL (it writes with COPY); DATABASE_URL points elsewhere."
            )
        if not settings.DEBUG and not force:
            raise CommandError(
                "DEBUG is off: this looks like a production database. seed_scale adds hundreds of thousands of "
                "made-up rows; pass --force if this really is a benchmark or development database."
            )
        if not 0 < scale <= 1:
            raise CommandError("--scale must be greater than 0 and at most 1.")
        self.counts = counts_for(scale)
        self.rng = random.Random(2025)
        started = time.monotonic()
        with transaction.atomic():
            self.past_the_signed_agreement_triggers()
            if reset:
                self.step("delete the scale data", self.delete_all)
            existing = Organisation.objects.filter(slug__startswith=PARTNER_PREFIX).count()
            if existing:
                if existing == self.counts["partners"] and self.complete():
                    if not self.add_missing_parts():
                        self.stdout.write(
                            "The scale data is already there; nothing to do (--reset rebuilds it)."
                        )
                    return
                raise CommandError(
                    f"Scale data of another size or incomplete ({existing} partners); run with --reset."
                )
            self.step("organisations, units, users", self.organisations)
            self.step("employees", self.employees)
            self.step("agreements, signatories, commitments, progress, signed copies", self.agreements)
            self.step("courses, dates, participants", self.courses)
            self.step("enrolments", self.enrolments)
            self.step("survey campaigns and responses", self.surveys)
            self.step("anonymised procedures", self.procedures)
            self.step("practice entries of the partners' network", self.practice_entries)
            self.step("the audit log", self.audit_log)
        self.step("ANALYZE", self.analyze)
        self.stdout.write(f"Scale data complete in {time.monotonic() - started:.1f} s.")

    # --- helpers ------------------------------------------------------------------------------------------

    def past_the_signed_agreement_triggers(self) -> None:
        """The scale data's agreements are written signed, with their signatories and commitments after them,
        and --reset deletes them again: in this one transaction the triggers that keep a signed agreement
        unchanged (partnerships/triggers.py) stand aside, by name, and so does the audit log's refusal of a
        delete, for --reset's deleting the scale data's own entries. This is what `pgtrigger.ignore` does per
        statement, set for the transaction because COPY does not pass Django's execute wrappers.

        Only those: the triggers that keep the agreements' counts (AgreementCount, whose total the agreement
        list shows and pages by) and the programme's figures' generation see the scale data as any other
        write. When every trigger of the app stood aside, the 2,000 agreements went uncounted, and the
        ministry's list said "1 agreement found" and showed one row."""
        names = [
            trigger.get_pgid(model)
            for model, trigger in pgtrigger.registered()
            if (model._meta.app_label == "partnerships" and trigger.name.startswith("signed_agreement_"))
            or (model is AuditEntry and trigger.name == "audit_no_delete")  # --reset deletes the scale's
        ]
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('pgtrigger.ignore', %s, true)", ["{" + ",".join(names) + "}"])

    def step(self, name: str, function) -> None:
        start = time.monotonic()
        result = function()
        self.stdout.write(
            f"{name}: {result or ''} in {time.monotonic() - start:.1f} s".replace(":  in", ": in")
        )

    def copy(self, model, columns: list[str], rows) -> int:
        """COPY `rows` into the model's table. Columns not given that have a default (added by later
        migrations, say) get it, since COPY bypasses Django's defaults; so do blank text columns ("")."""
        extra_columns, extra_values = [], ()
        for model_field in model._meta.concrete_fields:
            if (
                model_field.column in columns
                or model_field.primary_key
                or model_field.null
                or model_field.generated
                or model_field.db_default is not NOT_PROVIDED  # the database fills it in itself
            ):
                continue
            # A text column without a default gets Django's own default for it, the empty string.
            if model_field.has_default() or (model_field.empty_strings_allowed and model_field.blank):
                extra_columns.append(model_field.column)
                extra_values += (model_field.get_db_prep_save(model_field.get_default(), connection),)
        names = ", ".join(connection.ops.quote_name(column) for column in [*columns, *extra_columns])
        statement = f"COPY {table(model)} ({names}) FROM STDIN"
        count = 0
        with connection.cursor() as cursor, cursor.connection.cursor() as pg, pg.copy(statement) as copy:
            for row in rows:
                copy.write_row((*row, *extra_values) if extra_values else row)
                count += 1
        return count

    def ids(self, query: str, params=()) -> list[int]:
        with connection.cursor() as cursor:
            cursor.execute(query, params)
            return [row[0] for row in cursor.fetchall()]

    def complete(self) -> bool:
        from partnerships.models import Agreement
        from surveys.models import Response
        from trainings.models import CourseDate, Enrolment

        partners = Organisation.objects.filter(slug__startswith=PARTNER_PREFIX)
        return (
            Employee.objects.filter(
                organisation__in=partners, personnel_number__startswith=PERSONNEL_PREFIX
            ).count()
            == self.counts["employees"]
            and Agreement.objects.filter(partner__in=partners).count() >= self.counts["agreements"]
            and CourseDate.objects.filter(course__organiser__in=partners).count()
            == self.counts["course_dates"]
            and Enrolment.objects.filter(organisation__in=partners).count() >= self.counts["enrolments"]
            and Response.objects.filter(campaign__organisation__in=partners).count()
            == self.counts["responses"]
        )

    def add_missing_parts(self) -> bool:
        """Scale data from before a part of it existed (the partners' network, the audit log), or written when
        its agreements went uncounted: that part is added or counted, the rest kept. False when nothing was
        missing."""
        from partnerships.models import Agreement, agreement_total

        self.partner_ids = list(
            Organisation.objects.filter(slug__startswith=PARTNER_PREFIX)
            .order_by("slug")
            .values_list("pk", flat=True)
        )
        missing = [
            (name, function)
            for name, function, is_missing in (
                (
                    "practice entries of the partners' network",
                    self.practice_entries,
                    not PracticeEntry.objects.filter(organisation__slug__startswith=PARTNER_PREFIX).exists(),
                ),
                (
                    "the audit log",
                    self.audit_log,
                    not AuditEntry.objects.filter(actor_name__startswith=PARTNER_PREFIX).exists(),
                ),
                (
                    "the agreements' counts",
                    self.count_agreements,
                    agreement_total(self.partner_ids)
                    != Agreement.objects.filter(partner_id__in=self.partner_ids).count(),
                ),
            )
            if is_missing
        ]
        if not missing:
            return False
        for name, function in missing:
            self.step(name, function)
        self.step("ANALYZE", self.analyze)
        return True

    def count_agreements(self) -> str:
        """The partners' agreement counts (AgreementCount) set to their agreements, where they were written
        uncounted (before 2026-12-04 every trigger of the agreements stood aside, the counting ones too)."""
        from partnerships.models import Agreement, AgreementCount

        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table(AgreementCount)} (partner_id, agreements)"  # noqa: S608
                f" SELECT partner_id, count(*) FROM {table(Agreement)} WHERE partner_id = ANY(%s)"
                " GROUP BY partner_id"
                " ON CONFLICT (partner_id) DO UPDATE SET agreements = EXCLUDED.agreements",
                [self.partner_ids],
            )
            return f"{cursor.rowcount} partners"

    # --- reset ------------------------------------------------------------------------------------------------

    def delete_all(self) -> str:
        from partnerships.models import (
            Agreement,
            AgreementDocument,
            Commitment,
            ExpiryNotice,
            ProgressReport,
            Signatory,
            StatusChange,
        )
        from surveys.models import Campaign, Invitation, PublishedCounts, Response
        from trainings.models import Certificate, Course, CourseDate, CourseParticipant, Enrolment

        orgs = f"SELECT id FROM {table(Organisation)} WHERE slug LIKE %s"
        # The scale partners' agreements, and the state's with any partner (the benchmarks' own agreement with
        # bench-stadt has the scale data's state as its other party): each with its signatories, commitments, ….
        agreements = (
            f"SELECT id FROM {table(Agreement)} WHERE partner_id IN ({orgs}) OR state_party_id IN ({orgs})"
        )
        campaigns = f"SELECT id FROM {table(Campaign)} WHERE organisation_id IN ({orgs})"
        courses = f"SELECT id FROM {table(Course)} WHERE organiser_id IN ({orgs})"
        dates = f"SELECT id FROM {table(CourseDate)} WHERE course_id IN ({courses})"
        enrolments = f"SELECT id FROM {table(Enrolment)} WHERE organisation_id IN ({orgs}) OR course_date_id IN ({dates})"
        users = f"SELECT id FROM {table(User)} WHERE username LIKE %s"
        statements = []
        procedure = procedure_model()
        if procedure is not None:
            statements.append(f"DELETE FROM {table(procedure)} WHERE organisation_id IN ({orgs})")
        statements += [
            f"DELETE FROM {table(AuditEntry)} WHERE organisation_id IN ({orgs}) OR actor_name LIKE %s",
            f"DELETE FROM {table(PracticeEntry)} WHERE organisation_id IN ({orgs})",
            f"DELETE FROM {table(PublishedCounts)} WHERE campaign_id IN ({campaigns})",
            f"DELETE FROM {table(Response)} WHERE campaign_id IN ({campaigns})",
            f"DELETE FROM {table(Invitation)} WHERE campaign_id IN ({campaigns})",
            f"DELETE FROM {Campaign.units.through._meta.db_table} WHERE campaign_id IN ({campaigns})",
            f"DELETE FROM {table(Campaign)} WHERE organisation_id IN ({orgs})",
            f"DELETE FROM {table(Certificate)} WHERE enrolment_id IN ({enrolments})",
            f"DELETE FROM {table(Enrolment)} WHERE organisation_id IN ({orgs}) OR course_date_id IN ({dates})",
            f"DELETE FROM {table(CourseDate)} WHERE course_id IN ({courses})",
            f"DELETE FROM {table(CourseParticipant)} WHERE course_id IN ({courses})"
            f" OR organisation_id IN ({orgs})",
            f"DELETE FROM {table(Course)} WHERE organiser_id IN ({orgs})",
            f"DELETE FROM {table(ProgressReport)} WHERE commitment_id IN "
            f"(SELECT id FROM {table(Commitment)} WHERE agreement_id IN ({agreements}))",
            f"DELETE FROM {table(Commitment)} WHERE agreement_id IN ({agreements})",
            f"DELETE FROM {table(Signatory)} WHERE agreement_id IN ({agreements})",
            f"DELETE FROM {table(StatusChange)} WHERE agreement_id IN ({agreements})",
            f"DELETE FROM {table(ExpiryNotice)} WHERE agreement_id IN ({agreements})",
            f"DELETE FROM {table(AgreementDocument)} WHERE agreement_id IN ({agreements})",
            f"UPDATE {table(Agreement)} SET amends_id = NULL WHERE id IN ({agreements})",
            f"DELETE FROM {table(Agreement)} WHERE id IN ({agreements})",
            f"DELETE FROM {table(Employee)} WHERE organisation_id IN ({orgs})",
            f"DELETE FROM {table(OrgUnit)} WHERE organisation_id IN ({orgs})",
            *self.users_own_rows(users),
            f"DELETE FROM {table(Membership)} WHERE organisation_id IN ({orgs}) OR user_id IN ({users})",
            f"DELETE FROM {table(User)} WHERE username LIKE %s",
            f"DELETE FROM {table(Organisation)} WHERE slug LIKE %s",
        ]
        pattern = PREFIX + "%"
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement, [pattern] * statement.count("%s"))
        return "done"

    @staticmethod
    def users_own_rows(users: str) -> list[str]:
        """DELETE statements for what the scale users hold of their own, which a benchmark may have given them:
        second factors (a benchmark's login passes the second factor with a static device), jobs, settings."""
        model = apps.get_model
        credentials = f"SELECT id FROM {table(model('django_otp_webauthn', 'WebAuthnCredential'))} WHERE user_id IN ({users})"
        static = f"SELECT id FROM {table(model('otp_static', 'StaticDevice'))} WHERE user_id IN ({users})"
        return [
            f"DELETE FROM {table(model('otp_static', 'StaticToken'))} WHERE device_id IN ({static})",
            f"DELETE FROM {table(model('django_otp_webauthn', 'WebAuthnAttestation'))}"
            f" WHERE credential_id IN ({credentials})",
            *(
                f"DELETE FROM {table(model(app, name))} WHERE {column} IN ({users})"
                for app, name, column in (
                    ("otp_static", "StaticDevice", "user_id"),
                    ("vielfalt", "AuthenticatorApp", "user_id"),
                    ("django_otp_webauthn", "WebAuthnCredential", "user_id"),
                    ("django_otp_webauthn", "WebAuthnUserHandle", "user_id"),
                    ("admin", "LogEntry", "user_id"),
                    ("vielfalt", "Job", "requested_by_id"),
                    ("network", "NotificationSettings", "user_id"),
                )
            ),
        ]

    # --- organisations ----------------------------------------------------------------------------------------

    def organisations(self) -> str:
        partners = self.counts["partners"]
        Organisation.objects.create(
            slug=STATE_SLUG, name="Land (Skalierung)", kind=Organisation.Kind.STATE_MINISTRY
        )
        self.copy(
            Organisation,
            ["slug", "name", "kind", "district"],
            (
                (
                    f"{PARTNER_PREFIX}{n:04d}",
                    f"Partner {n:04d} ({KINDS[n % len(KINDS)].label})",
                    KINDS[n % len(KINDS)].value,
                    DISTRICTS[n % len(DISTRICTS)],
                )
                for n in range(1, partners + 1)
            ),
        )
        self.partner_ids = self.ids(
            f"SELECT id FROM {table(Organisation)} WHERE slug LIKE %s ORDER BY slug", [PARTNER_PREFIX + "%"]
        )
        self.state_id = Organisation.objects.get(slug=STATE_SLUG).pk
        self.copy(
            OrgUnit,
            ["organisation_id", "name"],
            ((org, name) for org in self.partner_ids for name in UNIT_NAMES[:UNITS_PER_PARTNER]),
        )
        self.units: dict[int, list[int]] = {}
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT organisation_id, id FROM {table(OrgUnit)} WHERE organisation_id = ANY(%s) ORDER BY id",
                [self.partner_ids],
            )
            for org, unit in cursor.fetchall():
                self.units.setdefault(org, []).append(unit)
        first = self.partner_ids[0]
        for username, organisation_id, roles in (
            (MINISTRY_USER, self.state_id, [Role.MINISTRY]),
            (HR_USER, first, [Role.HR]),
            (ORGANISER_USER, first, [Role.ORGANISER]),
            (ADMIN_USER, self.state_id, [Role.ADMIN]),
        ):
            user = User(username=username, email=f"{username}@example.org")
            user.set_unusable_password()
            user.save()
            for role in roles:
                Membership.objects.create(user=user, organisation_id=organisation_id, role=role)
        return f"{partners:,} partners, {partners * UNITS_PER_PARTNER:,} org units, 4 users"

    # --- employees ----------------------------------------------------------------------------------------------

    def employee_org(self, index: int) -> int:
        return self.partner_ids[index % len(self.partner_ids)]

    def employees(self) -> str:
        now = timezone.now()
        count = self.counts["employees"]
        columns = [
            "organisation_id", "personnel_number", "first_name", "last_name", "email", "org_unit_id",
            "target_group", "is_active", "created_at", "updated_at",
        ]  # fmt: skip

        def rows():
            for index in range(count):
                org = self.employee_org(index)
                units = self.units[org]
                first = FIRST_NAMES[index % len(FIRST_NAMES)]
                last = LAST_NAMES[(index // 7) % len(LAST_NAMES)]
                email = "" if index % 25 == 0 else f"person{index}@scale.example"
                yield (
                    org,
                    f"{PERSONNEL_PREFIX}{index:07d}",
                    first,
                    last,
                    email,
                    units[(index // len(self.partner_ids)) % len(units)],
                    GROUPS[index % len(GROUPS)].value,
                    True,
                    now,
                    now,
                )

        self.copy(Employee, columns, rows())
        # Employee index → primary key, in the order of the personnel numbers.
        self.employee_ids = self.ids(
            f"SELECT id FROM {table(Employee)} WHERE organisation_id = ANY(%s) AND personnel_number LIKE %s "
            "ORDER BY personnel_number",
            [self.partner_ids, PERSONNEL_PREFIX + "%"],
        )
        return f"{count:,} employees"

    # --- agreements -------------------------------------------------------------------------------------------

    def agreements(self) -> str:
        from partnerships.models import (
            DEFAULT_TITLE,
            Agreement,
            AgreementDocument,
            Commitment,
            ProgressReport,
            Side,
            Signatory,
        )

        Status = Agreement.Status
        cycle = [Status.SIGNED, Status.ENDED, Status.DRAFT, Status.IN_REVIEW, Status.READY_FOR_SIGNATURE]
        count = self.counts["agreements"]
        now = timezone.now()
        plan = []
        for a in range(count):
            partner = self.partner_ids[a % len(self.partner_ids)]
            year = SIGNED_YEAR - 3 + a % 4
            status = Status.SIGNED if year == SIGNED_YEAR else cycle[(a // 4) % len(cycle)]
            signed = status in (Status.SIGNED, Status.ENDED)
            signed_on = date(year, 1 + a % 12, 1 + a % 28) if signed else None
            plan.append((partner, status, signed_on))

        def rows():
            for a, (partner, status, signed_on) in enumerate(plan):
                yield (
                    partner,
                    self.state_id,
                    DEFAULT_TITLE,
                    "Die Partner wollen die interkulturelle Öffnung ihrer Verwaltung voranbringen.",
                    f"Vereinbarung Nr. {a + 1}.\n\n- Schulungen\n- Befragung\n- Anonymisierte Bewerbungen",
                    "Düsseldorf",
                    signed_on,
                    signed_on,
                    signed_on.replace(year=signed_on.year + 5) if signed_on else None,
                    status.value,
                    now,
                    now,
                )

        columns = [
            "partner_id", "state_party_id", "title", "preamble", "body", "place", "signed_on", "valid_from",
            "valid_until", "status", "created_at", "updated_at",
        ]  # fmt: skip
        self.copy(Agreement, columns, rows())
        agreements = list(
            Agreement.objects.filter(partner_id__in=self.partner_ids)
            .order_by("pk")
            .values_list("pk", "partner_id", "status", "signed_on")
        )
        self.copy(
            Signatory,
            ["agreement_id", "side", "name", "function", "order"],
            (
                row
                for pk, _partner, _status, _signed in agreements
                for row in (
                    (pk, Side.PARTNER.value, f"Oberbürgermeisterin {pk}", "Oberbürgermeisterin", 1),
                    (pk, Side.STATE.value, "Ministerin Beispiel", "Ministerin", 2),
                    (pk, Side.STATE.value, "Staatssekretär Beispiel", "Staatssekretär", 3),
                )
            ),
        )
        self.copy(
            Commitment,
            [
                "agreement_id",
                "field_of_action",
                "description",
                "indicator",
                "target_value",
                "unit",
                "due_on",
                "responsible_unit_id",
                "order",
            ],  # fmt: skip
            (
                (
                    pk,
                    field,
                    f"{field}: Maßnahmen der Vereinbarung {pk}.",
                    "Geschulte Beschäftigte",
                    100 + 10 * number,
                    "Personen",
                    (signed or date(SIGNED_YEAR, 1, 1)) + timedelta(days=365 * (1 + number % 4)),
                    self.units[partner][number % len(self.units[partner])],
                    number,
                )
                for pk, partner, _status, signed in agreements
                for number, field in enumerate(FIELDS_OF_ACTION)
            ),
        )
        signed_ids = [pk for pk, _p, status, _s in agreements if status in (Status.SIGNED, Status.ENDED)]
        commitments = list(
            Commitment.objects.filter(agreement_id__in=signed_ids)
            .order_by("pk")
            .values_list("pk", "agreement__signed_on", "target_value")
        )
        self.copy(
            ProgressReport,
            ["commitment_id", "reported_on", "value_reached", "text", "created_at"],
            (
                (pk, signed_on + timedelta(days=300), target * (pk % 5) / 4, "Zwischenbericht", now)
                for pk, signed_on, target in commitments
            ),
        )
        sha256 = hashlib.sha256(SIGNED_PDF).hexdigest()
        documents = []
        for pk in signed_ids:
            name = default_storage.save(f"agreements/{pk}/signed-v1.pdf", ContentFile(SIGNED_PDF))
            documents.append((pk, AgreementDocument.Kind.SIGNED.value, 1, name, sha256, len(SIGNED_PDF), now))
        self.copy(
            AgreementDocument,
            ["agreement_id", "kind", "version", "file", "sha256", "size", "created_at"],
            documents,
        )
        return (
            f"{len(agreements):,} agreements ({len(signed_ids):,} signed or ended, each with a signed copy), "
            f"{3 * len(agreements):,} signatories, {5 * len(agreements):,} commitments, "
            f"{len(commitments):,} progress reports"
        )

    # --- trainings ----------------------------------------------------------------------------------------------

    def courses(self) -> str:
        from trainings.models import Course, CourseDate

        now = timezone.now()
        organisers = self.partner_ids[:ORGANISERS]
        courses = min(COURSES, self.counts["course_dates"])
        self.copy(
            Course,
            [
                "title",
                "description",
                "target_groups",
                "organiser_id",
                "duration_hours",
                "format",
                "language",
                "created_at",
            ],  # fmt: skip
            (
                (
                    f"Interkulturelle Kompetenz {n + 1}",
                    "Kommunikation, Perspektivwechsel, Umgang mit Vielfalt im Verwaltungsalltag.",
                    '["trainee", "public_facing", "manager"]',
                    organisers[n % len(organisers)],
                    "7.5",
                    Course.Format.IN_PERSON.value,
                    "de",
                    now,
                )
                for n in range(courses)
            ),
        )
        self.course_ids = self.ids(
            f"SELECT id FROM {table(Course)} WHERE organiser_id = ANY(%s) ORDER BY id", [organisers]
        )
        dates = self.counts["course_dates"]
        start = datetime(SIGNED_YEAR - 1, 1, 9, 9, 0, tzinfo=timezone.get_current_timezone())

        def rows():
            for d in range(dates):
                starts = start + timedelta(days=(d * 3) % 1200, hours=d % 2 * 4)
                yield (
                    self.course_ids[d % len(self.course_ids)],
                    GROUPS[d % 4].value if GROUPS[d % 4] != TargetGroup.OTHER else "",
                    starts,
                    starts + timedelta(hours=3),
                    "Rathaus, Raum 101",
                    "",
                    "Trainerin Beispiel",
                    50,
                    starts - timedelta(days=7),
                    starts - timedelta(days=2),
                    0,
                    now,
                )

        columns = [
            "course_id", "target_group", "starts_at", "ends_at", "location", "online_link", "trainer", "capacity",
            "enrolment_deadline", "cancellation_deadline", "sequence", "created_at",
        ]  # fmt: skip
        self.copy(CourseDate, columns, rows())
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id, course_id, starts_at FROM {table(CourseDate)} WHERE course_id = ANY(%s) ORDER BY id",
                [self.course_ids],
            )
            self.dates = cursor.fetchall()
        return f"{len(self.course_ids)} courses, {dates:,} dates"

    def enrolments(self) -> str:
        from trainings.models import CourseParticipant, Enrolment

        now = timezone.now()
        count = self.counts["enrolments"]
        employees = len(self.employee_ids)
        dates = len(self.dates)
        participants = set()

        def rows():
            for i in range(count):
                e, round_ = i % employees, i // employees
                date_id, course_id, starts_at = self.dates[(e * 7 + round_) % dates]
                org = self.employee_org(e)
                participants.add((course_id, org))
                yield (
                    date_id,
                    self.employee_ids[e],
                    org,
                    Enrolment.Status.SEATED.value,
                    (
                        Enrolment.Attendance.ATTENDED if starts_at < now else Enrolment.Attendance.UNKNOWN
                    ).value,
                    now,
                )

        columns = ["course_date_id", "employee_id", "organisation_id", "status", "attendance", "created_at"]
        self.copy(Enrolment, columns, rows())
        self.copy(CourseParticipant, ["course_id", "organisation_id"], sorted(participants))
        return f"{count:,} enrolments, {len(participants):,} organisations taking part in courses"

    # --- surveys ----------------------------------------------------------------------------------------------

    def surveys(self) -> str:
        from surveys import questionnaire as q
        from surveys.models import Campaign, Response
        from surveys.results import published_counts_store

        now = timezone.now()
        self.copy(
            Campaign,
            [
                "organisation_id",
                "title",
                "opens_on",
                "closes_on",
                "k",
                "previous_estimate",
                "purpose",
                "legal_basis",
                "dpo_contact",
                "questionnaire_version",
                "status",
                "created_at",
            ],  # fmt: skip
            (
                (
                    org,
                    f"Beschäftigtenbefragung {SIGNED_YEAR}",
                    date(SIGNED_YEAR, 3, 1),
                    date(SIGNED_YEAR, 4, 30),
                    5,
                    "2–3 %",
                    "Den Anteil der Beschäftigten mit Migrationshintergrund kennen.",
                    "Freiwillige Einwilligung (Art. 6 Abs. 1 lit. a DSGVO).",
                    "datenschutz@scale.example",
                    q.VERSION,
                    Campaign.Status.CLOSED.value,
                    now,
                )
                for org in self.partner_ids
            ),
        )
        campaigns = dict(
            Campaign.objects.filter(organisation_id__in=self.partner_ids).values_list("organisation_id", "pk")
        )
        campaign_ids = [campaigns[org] for org in self.partner_ids]
        rng = self.rng
        # The answer combinations, each with its derived values, weighted towards Germans without a
        # migration background (about 12 % with one), as in the demo data.
        C, B, Y = q.Citizenship, q.BirthCountry, q.YesNo
        combos = []
        for own, mother, father, born, parents in product(
            [C.GERMAN, C.NOT_GERMAN, C.NO_ANSWER],
            [C.GERMAN, C.NOT_GERMAN],
            [C.GERMAN, C.NOT_GERMAN],
            [B.GERMANY, B.ABROAD, B.NO_ANSWER],
            [Y.NO, Y.YES],
        ):
            immigrated = q.person_immigrated_since_cutoff(born, 1990 if born == B.ABROAD else None)
            mh = q.derive_migration_background(
                own_citizenship=own, mother_citizenship=mother, father_citizenship=father
            )
            eg = q.derive_immigration_history(
                birth_country=born,
                immigration_year=1990,
                mother_immigrated=parents,
                father_immigrated=parents,
            )
            weight = (
                200
                if (own, mother, father, born, parents) == (C.GERMAN, C.GERMAN, C.GERMAN, B.GERMANY, Y.NO)
                else 1
            )
            row = (
                own.value,
                born.value,
                (
                    Y.YES
                    if immigrated == q.Derived.YES
                    else Y.NO
                    if immigrated == q.Derived.NO
                    else Y.NO_ANSWER
                ).value,
                mother.value,
                father.value,
                parents.value,
                parents.value,
                str(mh),
                str(eg),
            )
            combos.extend([row] * weight)
        groups = [value for value, _label in q.TargetGroupAnswer.choices]
        languages = ["|de|", "|de|en|", "|de|tr|", "|de|ar|", "|de|pl|ru|", "|de|en|fr|", "", "|de|uk|"]
        count = self.counts["responses"]

        def rows():
            uuid4 = uuid.uuid4
            choice, rand = rng.choice, rng.random
            for r in range(count):
                org = self.partner_ids[r % len(self.partner_ids)]
                units = self.units[org]
                unit_pick = rand()
                unit, other = (
                    (units[int(unit_pick * 100) % len(units)], False)
                    if unit_pick < 0.8
                    else ((None, True) if unit_pick < 0.9 else (None, False))
                )
                own, born, immigrated, mother, father, m_imm, f_imm, mh, eg = choice(combos)
                yield (
                    uuid4(), campaign_ids[r % len(campaign_ids)], q.VERSION, own, born, immigrated, mother, father,
                    m_imm, f_imm, choice(groups), unit, other, choice(languages), mh, eg,
                )  # fmt: skip

        columns = [
            "id", "campaign_id", "questionnaire_version", "own_citizenship", "birth_country",
            "immigrated_since_1950", "mother_citizenship", "father_citizenship", "mother_immigrated",
            "father_immigrated", "target_group", "org_unit_id", "org_unit_other", "languages",
            "migration_background", "immigration_history",
        ]  # fmt: skip
        self.copy(Response, columns, rows())
        # What each campaign's results publish, as closing a campaign stores it: the programme's figures add
        # these up (surveys.results.programme_results).
        published_counts_store(Campaign.objects.filter(pk__in=campaign_ids))
        return f"{len(campaign_ids):,} closed campaigns, {count:,} responses (no invitations)"

    # --- anonymised procedures ------------------------------------------------------------------------------

    def procedures(self) -> str:
        model = procedure_model()
        if model is None:
            return "skipped: the model partnerships.AnonymisedProcedure does not exist (yet)"
        return seed_procedures(model, self.partner_ids, self.units, self.counts["procedures"])

    def practice_entries(self) -> str:
        rows = practice_rows(self.partner_ids, self.counts["practice_entries"], self.rng)
        return f"{self.copy(PracticeEntry, COLUMNS, rows)} entries"

    def audit_log(self) -> str:
        """The entries the rest of the scale data would have left in about two years, newest every two minutes
        or so: its users' logins and logouts, enrolments, changes of employees and agreements, exports. Named
        by made-up users of the partners (`scale-p0001-hr`, …), without an account behind them."""
        from django.contrib.contenttypes.models import ContentType

        from partnerships.models import Agreement
        from trainings.models import CourseDate

        count = self.counts["audit_entries"]
        now = timezone.now()
        step = timedelta(days=730) / count
        kinds = {
            model: ContentType.objects.get_for_model(model).pk
            for model in (User, Employee, CourseDate, Agreement)
        }
        courses = [
            "Interkulturelle Kompetenz im Bürgeramt",
            "Vielfalt in der Ausbildung",
            "Führen in Vielfalt",
        ]
        A = AuditEntry.Action

        def rows():
            for i in range(count):
                org = self.partner_ids[(i * 7) % len(self.partner_ids)]
                actor = f"{PARTNER_PREFIX}{1 + (i * 7) % len(self.partner_ids):04d}-hr"
                person = i % self.counts["employees"]
                name = (
                    f"{LAST_NAMES[(person // 7) % len(LAST_NAMES)]}, {FIRST_NAMES[person % len(FIRST_NAMES)]}"
                )
                number = f"{PERSONNEL_PREFIX}{person:07d}"
                kind = i % 20
                if kind < 8:  # logins and logouts: the user's own entry, of no organisation
                    action, model, repr_, org, changes = (
                        (A.LOGIN if kind < 7 else A.LOGOUT),
                        User,
                        actor,
                        None,
                        {},
                    )
                elif kind < 13:
                    day = now - timedelta(days=i % 700)
                    action, model, changes = A.CREATE, CourseDate, {"seated": [number], "waiting": []}
                    repr_ = f"Einschreibungen in {courses[i % len(courses)]}, {day:%d.%m.%Y} 09:00"
                elif kind < 17:
                    action, model, repr_ = A.CHANGE, Employee, f"{name} ({number})"
                    changes = {"email": ["", f"person{person}@scale.example"]}
                elif kind < 19:
                    action, model, changes = A.CHANGE, Agreement, {"status": ["draft", "sent"]}
                    repr_ = f"Partner {1 + (i * 7) % len(self.partner_ids):04d}: Vielfalt verbindet"
                else:
                    action, model, repr_, changes = A.EXPORT, Employee, "Beschäftigte (CSV)", {}
                yield (
                    now - step * i,
                    actor,
                    action.value,
                    f"scale-{i}",  # no real object's id: no object's history shows these entries
                    repr_,
                    json.dumps(changes),
                    kinds[model],
                    org,
                )

        columns = [
            "at", "actor_name", "action", "object_id", "object_repr", "changes", "content_type_id",
            "organisation_id",
        ]  # fmt: skip
        return f"{self.copy(AuditEntry, columns, rows()):,} entries"

    def analyze(self) -> str:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        return "statistics updated"


def procedure_model():
    try:
        return apps.get_model("partnerships", "AnonymisedProcedure")
    except LookupError:
        return None


def seed_procedures(model, partner_ids, units, count) -> str:
    methods = [value for value, _label in model.Method.choices]
    posts = [
        "Sachbearbeitung Bürgeramt",
        "Auszubildende Verwaltung",
        "Erzieherin",
        "IT-Fachkraft",
        "Feuerwehr",
    ]
    now = timezone.now()

    def rows():
        for n in range(count):
            organisation = partner_ids[n % len(partner_ids)]
            applications = 10 + n % 60
            invited = 3 + n % 7
            yield (
                organisation,
                units[organisation][n % len(units[organisation])],
                posts[n % len(posts)],
                date(SIGNED_YEAR - 2 + n % 3, 1 + n % 12, 1 + n % 28),
                methods[n % len(methods)],
                applications,
                invited,
                1 + n % 2,
                (applications * (n % 30)) // 100 if n % 3 else None,
                now,
                now,
            )

    columns = [
        "organisation_id", "org_unit_id", "post", "held_on", "method", "applications", "invited",
        "posts_filled", "stated_migration_background", "created_at", "updated_at",
    ]  # fmt: skip
    Command.copy(None, model, columns, rows())
    return f"{count:,} procedures"
