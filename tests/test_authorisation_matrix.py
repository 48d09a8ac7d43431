"""Who may do what, in one table: every role × every public service function that changes data × every URL.

The roles (columns of the tables below):

    A  anonymous                       M  ministry staff
    H  partner HR of the owning city   O  partner HR of another city
    G  course organiser                X  administrator

The objects all belong to the owning city (Stadt Duisburg), except the course, which its organiser (an
education centre) runs with Duisburg taking part; the other city takes part in nothing. The world is built
once for the module, inside a transaction that is rolled back at the end; every check runs in a savepoint of
its own, with the objects loaded afresh.

Services are found with `inspect` in every installed app's `services` module (or package): a public function
without an entry in SERVICES (or in NO_ACTOR, for the few that change no data or are authorised by a token)
fails `test_every_service_function_has_an_entry`. URLs are found by walking the resolver: a URL name without
an entry in URLS fails `test_every_url_has_an_entry` (the Django admin's own URLs share one rule).
"""

import copy
import datetime
import functools
import importlib
import inspect
import io
import pkgutil
from dataclasses import dataclass
from urllib.parse import urlparse

import pytest
from django.apps import apps
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django.views.generic.edit import FormMixin

from partnerships import services as partnership_services
from partnerships.models import Agreement, AgreementDocument, AnonymisedProcedure, Side
from partnerships.network import services as network_services
from partnerships.network.models import (
    Answer,
    MeetingDocument,
    PracticeEntry,
    Question,
)
from surveys import services as survey_services
from surveys.models import Invitation
from tests.factories import EmployeeFactory, OrganisationFactory, OrgUnitFactory, UserFactory
from tests.network.conftest import make_entry, make_meeting, pdf_bytes
from tests.partnerships.conftest import MINIMAL_PDF, make_signed
from tests.partnerships.factories import AgreementFactory, CommitmentFactory, SignatoryFactory
from tests.surveys.conftest import make_campaign
from tests.trainings.factories import CourseDateFactory, CourseFactory, CourseParticipantFactory, begin
from trainings import services as training_services
from trainings.models import CourseDate, Enrolment
from vielfalt import services as core_services
from vielfalt.models import AuthenticatorApp, Job, Organisation, Role, User
from vielfalt.permissions import SYSTEM
from vielfalt.tabular import read_table

ROLES = {
    "A": "anonymous",
    "M": "ministry staff",
    "H": "HR of the owning city",
    "O": "HR of another city",
    "G": "course organiser",
    "X": "administrator",
}
DATE_TIMES = ("starts_at", "ends_at", "enrolment_deadline", "cancellation_deadline")


# --- The world ------------------------------------------------------------------------------------------------


def _build_world() -> dict:
    """Create the objects once; returns their primary keys by name."""
    ministry = OrganisationFactory(slug="mais-nrw", name="MAIS NRW", kind=Organisation.Kind.STATE_MINISTRY)
    city = OrganisationFactory(slug="duisburg", name="Stadt Duisburg")
    other = OrganisationFactory(slug="oberhausen", name="Stadt Oberhausen")
    centre = OrganisationFactory(
        slug="bildungswerk", name="Bildungswerk", kind=Organisation.Kind.INTEGRATION_CENTRE
    )
    users = {
        "M": UserFactory(username="m-ministry", roles=[(ministry, Role.MINISTRY)]),
        "H": UserFactory(username="h-duisburg", roles=[(city, Role.HR)]),
        "O": UserFactory(username="o-oberhausen", roles=[(other, Role.HR)]),
        "G": UserFactory(username="g-organiser", roles=[(centre, Role.ORGANISER)]),
        "X": UserFactory(username="x-admin", is_staff=True, is_superuser=True),
    }
    unit = OrgUnitFactory(organisation=city, name="Bürgeramt")
    employee = EmployeeFactory(organisation=city, org_unit=unit, personnel_number="DU-1")
    spare = EmployeeFactory(organisation=city, org_unit=unit, personnel_number="DU-2")
    EmployeeFactory(organisation=other, personnel_number="OB-1")

    # Partnerships: a draft, one ready for signature, a signed one with its scan, a procedure.
    draft = AgreementFactory(partner=city, state_party=ministry, title="Entwurf")
    ready = AgreementFactory(
        partner=city, state_party=ministry, title="Zur Unterschrift", signed_on=timezone.localdate()
    )
    signed = AgreementFactory(
        partner=city,
        state_party=ministry,
        title="Unterzeichnet",
        signed_on=datetime.date(2013, 3, 7),
        valid_until=timezone.localdate() + datetime.timedelta(days=20),
    )
    for agreement in (draft, ready, signed):
        SignatoryFactory(agreement=agreement, side=Side.PARTNER, name="Sören Link")
        SignatoryFactory(agreement=agreement, side=Side.STATE, name="Guntram Schneider", function="Minister")
    commitment = CommitmentFactory(agreement=signed)
    CommitmentFactory(agreement=draft)
    make_signed(signed)
    Agreement.objects.filter(pk=ready.pk).update(status=Agreement.Status.READY_FOR_SIGNATURE)
    partnership_services.document_store(
        actor=SYSTEM, agreement=ready, kind=AgreementDocument.Kind.SIGNED, content=MINIMAL_PDF
    )
    document = signed.documents.get()
    procedure = partnership_services.procedure_create(
        actor=SYSTEM,
        organisation=city,
        org_unit=unit,
        post="Sachbearbeitung Bürgeramt",
        held_on=datetime.date(2024, 2, 1),
        method=AnonymisedProcedure.Method.STANDARD_FORM,
        applications=40,
        invited=8,
        posts_filled=1,
        stated_migration_background=9,
    )

    # Trainings: the centre's course with Duisburg taking part; one seated, attended enrolment.
    course = CourseFactory(organiser=centre, title="Interkulturelle Sensibilisierung")
    CourseParticipantFactory(course=course, organisation=city)
    course_date = CourseDateFactory(course=course, capacity=10)
    enrolment = Enrolment.objects.create(
        course_date=course_date,
        employee=employee,
        organisation=city,
        status=Enrolment.Status.SEATED,
        attendance=Enrolment.Attendance.ATTENDED,
    )
    # Issued on the date's day; the date itself lies ahead again (for enrolments and cancellations).
    ahead = CourseDate.objects.filter(pk=course_date.pk).values(*DATE_TIMES).get()
    begin(course_date)
    certificate = training_services.certificate_issue(actor=SYSTEM, enrolment=enrolment)
    CourseDate.objects.filter(pk=course_date.pk).update(**ahead)
    certificate.file.save("bescheinigung.pdf", ContentFile(MINIMAL_PDF), save=True)

    # Surveys: a draft and an open campaign with invitations.
    campaign = make_campaign(organisation=city, actor=SYSTEM, title="Entwurf")
    open_campaign = make_campaign(organisation=city, actor=SYSTEM, title="Offen")
    survey_services.campaign_open(actor=SYSTEM, campaign=open_campaign)
    survey_services.invitations_create(actor=SYSTEM, campaign=open_campaign)
    invitation = Invitation.objects.filter(campaign=open_campaign).first()

    # Network: Duisburg's contact, a draft entry with an attachment, a meeting, a question and an answer.
    contact = network_services.contact_create(
        actor=SYSTEM,
        organisation=city,
        consent=True,
        name="Ayşe Demir",
        function="Personalamt",
        email="a@d.example",
    )
    entry = make_entry(city, status=PracticeEntry.Status.DRAFT, title="Entwurf")
    published = make_entry(city, title="Veröffentlicht")
    attachment = network_services.attachment_add(
        actor=SYSTEM, entry=entry, upload=SimpleUploadedFile("bericht.pdf", pdf_bytes(), "application/pdf")
    )
    meeting = make_meeting(city, capacity=10)
    registration = network_services.registration_create(
        actor=SYSTEM, meeting=meeting, organisation=other, name="Jan Kowalski", email="j@o.example"
    )
    meeting_document = network_services.meeting_document_add(
        actor=SYSTEM,
        meeting=meeting,
        kind=MeetingDocument.Kind.MINUTES,
        upload=SimpleUploadedFile("protokoll.pdf", pdf_bytes(), "application/pdf"),
    )
    question = network_services.question_ask(
        actor=SYSTEM, organisation=city, title="Wie anonymisieren Sie Bewerbungen?", body=""
    )
    Question.objects.filter(pk=question.pk).update(asked_by=users["H"])
    answer = network_services.answer_create(
        actor=SYSTEM, question=question, organisation=other, body="Mit einem Standardformular."
    )
    Answer.objects.filter(pk=answer.pk).update(author=users["O"])  # written by the other city's HR

    device = AuthenticatorApp.objects.create(user=users["X"], name="Telefon", confirmed=False)
    job = Job.objects.create(
        kind="test", requested_by=users["H"], organisation=city, status=Job.Status.READY, result_url="/"
    )
    objects = {
        "ministry": ministry,
        "city": city,
        "other": other,
        "centre": centre,
        "unit": unit,
        "employee": employee,
        "spare": spare,
        "draft": draft,
        "ready": ready,
        "signed": signed,
        "commitment": commitment,
        "document": document,
        "procedure": procedure,
        "course": course,
        "course_date": course_date,
        "enrolment": enrolment,
        "certificate": certificate,
        "campaign": campaign,
        "open_campaign": open_campaign,
        "invitation": invitation,
        "contact": contact,
        "entry": entry,
        "published": published,
        "attachment": attachment,
        "meeting": meeting,
        "registration": registration,
        "meeting_document": meeting_document,
        "question": question,
        "answer": answer,
        "job": job,
        "device": device,
    }
    return {
        "users": {code: user.pk for code, user in users.items()},
        "objects": {name: (type(obj), obj.pk) for name, obj in objects.items()},
    }


@pytest.fixture(scope="module")
def _module_media(tmp_path_factory):
    return tmp_path_factory.mktemp("matrix-media")


@pytest.fixture(autouse=True)
def _media_root(settings, _module_media):
    """The world's files live as long as the world (instead of conftest's folder per test)."""
    settings.MEDIA_ROOT = _module_media


def _log_in(keys: dict) -> None:
    """One session per role for the whole module (logging in for every request would cost most of the time);
    the cookies are copied into a fresh client for each request."""
    from tests.conftest import pass_second_factor

    keys["cookies"] = {}
    for code, pk in keys["users"].items():
        client = Client()
        user = User.objects.get(pk=pk)
        client.force_login(user)
        session = client.session
        pass_second_factor(session, user)
        session.save()
        keys["cookies"][code] = client.cookies


@pytest.fixture(scope="module")
def world_keys(django_db_setup, django_db_blocker, _module_media):
    with (
        django_db_blocker.unblock(),
        override_settings(MEDIA_ROOT=_module_media, SESSION_ENGINE="django.contrib.sessions.backends.db"),
    ):
        outer = transaction.atomic()
        outer.__enter__()
        try:
            keys = _build_world()
            _log_in(keys)
            yield keys
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


class World:
    """The objects, loaded afresh on first use (a service may change the instance it is given)."""

    def __init__(self, keys: dict):
        self._keys = keys
        self._cache: dict = {}

    def __getattr__(self, name):
        objects = self.__dict__["_keys"]["objects"]
        if name not in objects:
            raise AttributeError(name)
        cache = self.__dict__["_cache"]
        if name not in cache:
            model, pk = objects[name]
            cache[name] = model.objects.get(pk=pk)
        return cache[name]

    def user(self, code: str):
        if code == "A":
            return AnonymousUser()
        return User.objects.get(pk=self._keys["users"][code])


@pytest.fixture
def world(world_keys, db):
    return world_keys


def _fresh(keys) -> World:
    return World(keys)


def _in_savepoint(function):
    """Run `function` and undo whatever it wrote."""
    with transaction.atomic():
        try:
            return function()
        finally:
            transaction.set_rollback(True)


# --- Services -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """`call(world, actor)` calls the service; `allowed` lists the roles that may (the others must get
    PermissionDenied). `by_id`: a task's service, which takes the actor's primary key (anonymous has none)."""

    allowed: str
    call: object
    by_id: bool = False


def _on_its_day(enrolment: Enrolment) -> Enrolment:
    """The enrolment with its date begun: attendance and certificates are for dates that have begun."""
    begin(enrolment.course_date)
    return enrolment


def _upload(name="scan.pdf", content=MINIMAL_PDF):
    return SimpleUploadedFile(name, content, "application/pdf")


def _invited_account() -> User:
    """An account an administrator created, waiting for its holder to choose a password."""
    user = UserFactory(email="neu@stadt.example")
    user.set_unusable_password()
    user.save()
    return user


SERVICES = {
    # vielfalt.services: accounts are the administrators'.
    "account_invitation_send": Case(
        "X", lambda w, a: core_services.account_invitation_send(actor=a, user=_invited_account())
    ),
    # vielfalt.services: employees are their HR's.
    "employee_create": Case(
        "HX",
        lambda w, a: core_services.employee_create(
            actor=a, organisation=w.city, personnel_number="DU-9", first_name="Ali", last_name="Kaya"
        ),
    ),
    "employee_update": Case(
        "HX", lambda w, a: core_services.employee_update(actor=a, employee=w.employee, email="")
    ),
    "employee_deactivate": Case(
        "HX", lambda w, a: core_services.employee_deactivate(actor=a, employee=w.employee)
    ),
    "employees_import": Case(
        "HX",
        lambda w, a: core_services.employees_import(
            actor=a,
            organisation=w.city,
            table=read_table(b"Personalnummer;Nachname;Vorname\nDU-8;Kaya;Ali\n"),
        ),
    ),
    "employees_import_file": Case(
        "HX",
        lambda w, a: core_services.employees_import_file(
            actor=a, organisation=w.city, data=b"Personalnummer;Nachname;Vorname\nDU-8;Kaya;Ali\n"
        ),
    ),
    "employees_import_start": Case(
        "HX",
        lambda w, a: core_services.employees_import_start(
            actor=a, organisation=w.city, data=b"Personalnummer;Nachname;Vorname\nDU-8;Kaya;Ali\n"
        ),
    ),
    "employees_import_for_job": Case(
        "HX",
        lambda w, a: core_services.employees_import_for_job(
            job_id=Job.objects.create(
                kind="vielfalt.employee_import",
                organisation=w.city,
                input_file=ContentFile(b"Personalnummer;Nachname;Vorname\nDU-8;Kaya;Ali\n", name="x.upload"),
            ).pk,
            actor_id=a.pk,
        ),
        by_id=True,
    ),
    # partnerships.services: agreements are the ministry's, progress and procedures the partner HR's.
    "agreement_create": Case(
        "MX",
        lambda w, a: partnership_services.agreement_create(
            actor=a, partner=w.city, state_party=w.ministry, title="Neu", body="Text", place="Duisburg"
        ),
    ),
    "agreement_update": Case(
        "MX", lambda w, a: partnership_services.agreement_update(actor=a, agreement=w.draft, title="Geändert")
    ),
    "agreement_transition": Case(
        "MX",
        lambda w, a: partnership_services.agreement_transition(
            actor=a, agreement=w.draft, to_status=Agreement.Status.IN_REVIEW
        ),
    ),
    "agreement_sign": Case(
        "MX",
        lambda w, a: partnership_services.agreement_sign(actor=a, agreement=w.ready, reason="Unterzeichnet"),
    ),
    "amendment_create": Case(
        "MX", lambda w, a: partnership_services.amendment_create(actor=a, agreement=w.signed)
    ),
    "progress_report_create": Case(
        "HX",
        lambda w, a: partnership_services.progress_report_create(
            actor=a, commitment=w.commitment, reported_on=timezone.localdate(), value_reached=10
        ),
    ),
    "document_store": Case(
        "MX",
        lambda w, a: partnership_services.document_store(
            actor=a, agreement=w.draft, kind=AgreementDocument.Kind.GENERATED, content=MINIMAL_PDF
        ),
    ),
    "agreement_render_pdf": Case(
        "MX",
        lambda w, a: partnership_services.agreement_render_pdf(agreement_id=w.draft.pk, actor_id=a.pk),
        by_id=True,
    ),
    "agreement_request_pdf": Case(
        "MX", lambda w, a: partnership_services.agreement_request_pdf(actor=a, agreement=w.draft)
    ),
    "signed_copy_upload": Case(
        "MX",
        lambda w, a: partnership_services.signed_copy_upload(actor=a, agreement=w.ready, upload=_upload()),
    ),
    "document_download_record": Case(
        "MHX", lambda w, a: partnership_services.document_download_record(actor=a, document=w.document)
    ),
    "agreements_export_zip": Case(
        "MX",
        lambda w, a: partnership_services.agreements_export_zip(
            actor=a, agreements=Agreement.objects.filter(pk=w.signed.pk), out=io.BytesIO()
        ),
    ),
    "agreements_export_job": Case(
        "MX", lambda w, a: partnership_services.agreements_export_job(actor=a, filters={"status": "signed"})
    ),
    "agreements_export_for_job": Case(
        "MX",
        lambda w, a: partnership_services.agreements_export_for_job(
            job_id=w.job.pk, actor_id=a.pk, filters={"status": "signed"}
        ),
        by_id=True,
    ),
    "agreements_announce_expiring": Case(
        "MX", lambda w, a: partnership_services.agreements_announce_expiring(actor=a)
    ),
    "agreements_end_expired": Case("MX", lambda w, a: partnership_services.agreements_end_expired(actor=a)),
    # The archive check (beat, `manage.py check_archive`) reads every partner's stored documents: operators only.
    "documents_check_archive": Case("X", lambda w, a: partnership_services.documents_check_archive(actor=a)),
    "procedure_create": Case(
        "HX",
        lambda w, a: partnership_services.procedure_create(
            actor=a,
            organisation=w.city,
            post="Ausbildung",
            held_on=datetime.date(2024, 3, 1),
            method=AnonymisedProcedure.Method.BLANKED_FIELDS,
            applications=10,
            invited=2,
            posts_filled=1,
        ),
    ),
    "procedure_update": Case(
        "HX",
        lambda w, a: partnership_services.procedure_update(actor=a, procedure=w.procedure, posts_filled=2),
    ),
    # partnerships.network.services: an organisation's own entries are its HR's and the ministry's.
    "profile_update": Case(
        "MHX",
        lambda w, a: network_services.profile_update(actor=a, organisation=w.city, description="Über uns"),
    ),
    "contact_create": Case(
        "MHX",
        lambda w, a: network_services.contact_create(
            actor=a, organisation=w.city, consent=True, name="Jan", function="Amt", email="jan@d.example"
        ),
    ),
    "contact_delete": Case("MHX", lambda w, a: network_services.contact_delete(actor=a, contact=w.contact)),
    "practice_create": Case(
        "MHX",
        lambda w, a: network_services.practice_create(
            actor=a,
            organisation=w.city,
            title="Neu",
            field_of_action=w.entry.field_of_action,
            summary="Kurz",
            what_was_done="Viel",
        ),
    ),
    "practice_update": Case(
        "MHX", lambda w, a: network_services.practice_update(actor=a, entry=w.entry, title="Geändert")
    ),
    "practice_transition": Case(
        "MHX",
        lambda w, a: network_services.practice_transition(
            actor=a, entry=w.entry, to=PracticeEntry.Status.SUBMITTED
        ),
    ),
    "attachment_add": Case(
        "MHX",
        lambda w, a: network_services.attachment_add(
            actor=a, entry=w.entry, upload=SimpleUploadedFile("b.pdf", pdf_bytes(), "application/pdf")
        ),
    ),
    "attachment_delete": Case(
        "MHX", lambda w, a: network_services.attachment_delete(actor=a, attachment=w.attachment)
    ),
    "meeting_create": Case(
        "MHX",
        lambda w, a: network_services.meeting_create(
            actor=a,
            host=w.city,
            title="Fachtag",
            agenda="Programm",
            location="Düsseldorf",
            starts_at=w.meeting.starts_at,
            ends_at=w.meeting.ends_at,
            capacity=5,
            registration_deadline=w.meeting.registration_deadline,
        ),
    ),
    "meeting_update": Case(
        "MHX", lambda w, a: network_services.meeting_update(actor=a, meeting=w.meeting, title="Geändert")
    ),
    "meeting_cancel": Case("MHX", lambda w, a: network_services.meeting_cancel(actor=a, meeting=w.meeting)),
    "registration_create": Case(
        "MHX",
        lambda w, a: network_services.registration_create(
            actor=a, meeting=w.meeting, organisation=w.city, name="Ayşe Demir", email="a@d.example"
        ),
    ),
    # The registering organisation's HR and the host may cancel.
    "registration_cancel": Case(
        "MHOX", lambda w, a: network_services.registration_cancel(actor=a, registration=w.registration)
    ),
    # What the core's signals end: an administrator's (or the purge's) deactivation, HR's leavers.
    "registrations_end_for_accounts": Case(
        "X",
        lambda w, a: network_services.registrations_end_for_accounts(
            actor=a, user_ids=[w.registration.user_id or 0]
        ),
    ),
    "registrations_end_for_leavers": Case(
        "HX",
        lambda w, a: network_services.registrations_end_for_leavers(actor=a, employee_ids=[w.employee.pk]),
    ),
    "meeting_document_add": Case(
        "MHX",
        lambda w, a: network_services.meeting_document_add(
            actor=a,
            meeting=w.meeting,
            kind=MeetingDocument.Kind.MINUTES,
            upload=SimpleUploadedFile("p.pdf", pdf_bytes(), "application/pdf"),
        ),
    ),
    "meeting_document_delete": Case(
        "MHX", lambda w, a: network_services.meeting_document_delete(actor=a, document=w.meeting_document)
    ),
    "participants_pdf_job": Case(
        "MHX", lambda w, a: network_services.participants_pdf_job(actor=a, meeting=w.meeting)
    ),
    "question_ask": Case(
        "MHX",
        lambda w, a: network_services.question_ask(actor=a, organisation=w.city, title="Frage?", body=""),
    ),
    # Answering for one's own organisation: here the other city answers Duisburg's question.
    "answer_create": Case(
        "MOX",
        lambda w, a: network_services.answer_create(
            actor=a, question=w.question, organisation=w.other, body="Antwort"
        ),
    ),
    # The asker (Duisburg's HR) and the author (the other city's HR) change their own; the ministry moderates.
    "question_update": Case(
        "MHX", lambda w, a: network_services.question_update(actor=a, question=w.question, title="Neu?")
    ),
    "question_delete": Case(
        "MHX", lambda w, a: network_services.question_delete(actor=a, question=w.question)
    ),
    "answer_update": Case(
        "MOX", lambda w, a: network_services.answer_update(actor=a, answer=w.answer, body="Geändert.")
    ),
    "answer_delete": Case("MOX", lambda w, a: network_services.answer_delete(actor=a, answer=w.answer)),
    "answer_mark_helpful": Case(
        "MHX",
        lambda w, a: network_services.answer_mark_helpful(actor=a, question=w.question, answer=w.answer),
    ),
    "question_to_practice": Case(
        "MX", lambda w, a: network_services.question_to_practice(actor=a, question=w.question)
    ),
    # Only the user themselves (here Duisburg's HR) changes their e-mail settings.
    "mail_settings_update": Case(
        "H",
        lambda w, a: network_services.mail_settings_update(
            actor=a, user=w.user("H"), answers=False, weekly_digest=True
        ),
    ),
    # trainings.services: courses are their organiser's; enrolments the HR's of the organisations taking part.
    "course_create": Case(
        "GX",
        lambda w, a: training_services.course_create(
            actor=a,
            organiser=w.centre,
            title="Neu",
            description="Inhalt",
            target_groups=["manager"],
            duration_hours=4,
        ),
    ),
    "course_update": Case(
        "GX", lambda w, a: training_services.course_update(actor=a, course=w.course, title="Neu")
    ),
    "course_participants_set": Case(
        "GX",
        lambda w, a: training_services.course_participants_set(
            actor=a, course=w.course, quotas={w.city: 5, w.other: None}
        ),
    ),
    "course_date_create": Case(
        "GX",
        lambda w, a: training_services.course_date_create(
            actor=a,
            course=w.course,
            starts_at=w.course_date.starts_at,
            ends_at=w.course_date.ends_at,
            capacity=5,
            enrolment_deadline=w.course_date.enrolment_deadline,
            cancellation_deadline=w.course_date.cancellation_deadline,
        ),
    ),
    "course_date_update": Case(
        "GX",
        lambda w, a: training_services.course_date_update(actor=a, course_date=w.course_date, capacity=11),
    ),
    "course_date_cancel": Case(
        "GX", lambda w, a: training_services.course_date_cancel(actor=a, course_date=w.course_date)
    ),
    "enrolment_create_many": Case(
        "HX",
        lambda w, a: training_services.enrolment_create_many(
            actor=a, course_date=w.course_date, employees=[w.spare], notify=False
        ),
    ),
    "enrolment_create_from_file": Case(
        "HX",
        lambda w, a: training_services.enrolment_create_from_file(
            actor=a, course_date=w.course_date, data=b"Personalnummer\nDU-2\n"
        ),
    ),
    "enrolment_create_from_table": Case(
        "HX",
        lambda w, a: training_services.enrolment_create_from_table(
            actor=a, course_date=w.course_date, table=read_table(b"Personalnummer\nDU-2\n")
        ),
    ),
    "enrolment_cancel": Case(
        "GHX", lambda w, a: training_services.enrolment_cancel(actor=a, enrolment=w.enrolment)
    ),
    "enrolments_end_for_leavers": Case(
        "HX",
        lambda w, a: training_services.enrolments_end_for_leavers(
            actor=a, employee_ids=[w.enrolment.employee_id]
        ),
    ),
    "attendance_mark": Case(
        "GX",
        lambda w, a: training_services.attendance_mark(
            actor=a, course_date=begin(w.course_date), marks={w.enrolment.pk: Enrolment.Attendance.NO_SHOW}
        ),
    ),
    "certificate_issue": Case(
        "GX",
        lambda w, a: training_services.certificate_issue(actor=a, enrolment=_on_its_day(w.enrolment)),
    ),
    "sign_in_sheet_request": Case(
        "GX", lambda w, a: training_services.sign_in_sheet_request(actor=a, course_date=w.course_date)
    ),
    "certificates_request": Case(
        "GX", lambda w, a: training_services.certificates_request(actor=a, course_date=w.course_date)
    ),
    # surveys.services: a campaign is its organisation's HR's.
    "campaign_create": Case(
        "HX",
        lambda w, a: survey_services.campaign_create(
            actor=a,
            organisation=w.city,
            title="Neu",
            opens_on=datetime.date(2025, 1, 1),
            closes_on=datetime.date(2025, 1, 31),
            k=5,
            purpose="Zweck",
            legal_basis="Einwilligung",
            dpo_contact="datenschutz@d.example",
        ),
    ),
    "campaign_update": Case(
        "HX", lambda w, a: survey_services.campaign_update(actor=a, campaign=w.campaign, title="Geändert")
    ),
    "campaign_open": Case("HX", lambda w, a: survey_services.campaign_open(actor=a, campaign=w.campaign)),
    "campaign_close": Case(
        "HX", lambda w, a: survey_services.campaign_close(actor=a, campaign=w.open_campaign)
    ),
    "invitations_create": Case(
        "HX", lambda w, a: survey_services.invitations_create(actor=a, campaign=w.campaign)
    ),
    "invitation_issue": Case(
        "HX", lambda w, a: survey_services.invitation_issue(actor=a, invitation=w.invitation)
    ),
    "invitation_mark_sent": Case(
        "HX", lambda w, a: survey_services.invitation_mark_sent(actor=a, invitation=w.invitation)
    ),
    "held_release": Case("HX", lambda w, a: survey_services.held_release(actor=a, campaign=w.open_campaign)),
    "campaign_extend": Case(
        "HX",
        lambda w, a: survey_services.campaign_extend(
            actor=a,
            campaign=w.open_campaign,
            closes_on=w.open_campaign.closes_on + datetime.timedelta(days=7),
        ),
    ),
    "code_sheets_reissue": Case(
        "HX",
        lambda w, a: survey_services.code_sheets_reissue(actor=a, campaign=w.open_campaign, unit_id=None),
    ),
}

# Public functions of the services modules that take no actor: what they do instead, checked where noted.
NO_ACTOR = {
    # reads and checks
    "agreement_sign_problems": "read",
    "agreement_pdf_bytes": "read (renders)",
    "signed_copy_check": "checks an upload",
    "enrolling_organisation_ids": "read (asks vielfalt.permissions)",
    "taking_part_ids": "read",
    "campaign_employees": "read",
    "credential_for_code": "pure",
    "credential_for_token": "pure",
    "invitation_counts": "read",
    "campaign_figures": "read (of a campaign the caller got through visible_to)",
    "invitation_counts_of": "read (of campaigns the caller listed through visible_to)",
    "questionnaire_for_credential": "read",
    "offered_units": "read",
    "pooled_units": "read",
    "response_fields": "pure",
    "unit_participation": "read",
    "with_retry": "helper",
    "zip_entry": "helper",
    "document_seal_check": "read (checks a stored file's seal)",
    "certificate_seal_check": "read (checks a stored file's seal)",
    "signed_copy_unsigned_problem": "checks an upload",
    "signing_date_problem": "checks a date",
    "check_practice_links": "checks an entry's contact and commitment (the services and the admin's form)",
    "transition_needs_reason": "pure",
    "may_change_answer": "read (asks vielfalt.permissions)",
    "may_change_question": "read (asks vielfalt.permissions)",
    "may_mark_helpful": "read (asks vielfalt.permissions)",
    "may_read_documents": "read (asks vielfalt.permissions)",
    "may_register": "read (asks vielfalt.permissions)",
    "practice_allowed_transitions": "read (asks vielfalt.permissions)",
    # reads that create the organisation's (or user's) empty default row on first use
    "profile_of": "default row",
    "mail_settings_of": "default row",
    # the system's own (Celery beat), with the system as actor of what it changes
    "campaigns_close_due": "system (closes campaigns past their closing day)",
    # the e-mails of the system's own runs, composed in their worker's task (they change no data)
    "archive_alert_message": "read (the archive check's alert to one administrator)",
    "expiry_notice_message": "read (an expiry notice to ministry staff)",
    "ministry_addresses": "read",
    # authorised by a token, not by a user (test_token_services)
    "response_submit": "token",
    "unsubscribe": "token",
}


def _services_modules():
    modules = []
    for config in apps.get_app_configs():
        try:
            module = importlib.import_module(f"{config.name}.services")
        except ModuleNotFoundError as missing:
            if missing.name != f"{config.name}.services":
                raise
            continue
        modules.append(module)
        if hasattr(module, "__path__"):  # a services/ package: every module in it
            for info in pkgutil.walk_packages(module.__path__, f"{module.__name__}."):
                modules.append(importlib.import_module(info.name))
    return modules


def _public_service_functions() -> dict[str, object]:
    functions = {}
    for module in _services_modules():
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if function.__module__ == module.__name__ and not name.startswith("_"):
                functions[f"{module.__name__}.{name}"] = function
    return functions


def test_every_service_function_has_an_entry():
    functions = _public_service_functions()
    names = {qualified.rsplit(".", 1)[1] for qualified in functions}
    assert len(names) == len(functions), "two services modules define a function of the same name"
    missing = sorted(q for q in functions if q.rsplit(".", 1)[1] not in SERVICES | NO_ACTOR)
    assert missing == [], f"public service functions without an entry in the authorisation matrix: {missing}"
    assert sorted(set(SERVICES) | set(NO_ACTOR)) == sorted(names), (
        "entries for functions that no longer exist"
    )
    # A function with an `actor` is checked in the matrix, never waved through as a read.
    with_actor = sorted(
        q.rsplit(".", 1)[1] for q, f in functions.items() if "actor" in inspect.signature(f).parameters
    )
    assert [name for name in with_actor if name in NO_ACTOR] == []


def _outcome(call, world_keys, code) -> str:
    world = _fresh(world_keys)
    actor = world.user(code)

    def run():
        try:
            call(world, actor)
        except PermissionDenied:
            return "denied"
        except TypeError as error:
            if "actor" in str(error):
                return "no actor"
            raise
        return "allowed"

    return _in_savepoint(run)


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_service(name, world):
    case = SERVICES[name]
    expected = {
        code: ("allowed" if code in case.allowed else "no actor" if case.by_id and code == "A" else "denied")
        for code in ROLES
    }
    observed = {code: _outcome(case.call, world, code) for code in ROLES}
    assert observed == expected


@pytest.mark.parametrize(
    "name",
    sorted(name for name, case in SERVICES.items() if not case.by_id),
)
def test_service_without_an_actor_is_an_error(name, world):
    """`actor=None` is a programming error (permissions.require raises TypeError), never a pass."""
    with pytest.raises((TypeError, PermissionDenied)):
        _in_savepoint(lambda: SERVICES[name].call(_fresh(world), None))


def test_token_services_refuse_a_made_up_token(world):
    from django.core import signing

    with pytest.raises(survey_services.InvitationUnknown):
        _in_savepoint(
            lambda: survey_services.response_submit(
                credential=survey_services.credential_for_token("made-up"), answers=None
            )
        )
    with pytest.raises(signing.BadSignature):
        _in_savepoint(lambda: network_services.unsubscribe(token="made-up"))


# --- URLs -----------------------------------------------------------------------------------------------------


def _url_patterns(resolver=None, namespace=""):
    """(name, view) of every URL pattern of the project, names with their namespaces."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _url_patterns(pattern, inner)
        elif isinstance(pattern, URLPattern):
            yield f"{namespace}{pattern.name}", pattern.callback


def _method(view) -> str:
    view_class = getattr(view, "view_class", None)
    if view_class is not None and not hasattr(view_class, "get"):
        return "post"
    return "get"


def _observed(response) -> str:
    if response.status_code in (301, 302):
        location = urlparse(response["Location"]).path
        if location in (reverse("login"), reverse("admin:login")):
            return "login"
        return "ok"
    if response.status_code in (403, 404, 405):
        return str(response.status_code)
    if response.status_code < 500:
        return "ok"
    raise AssertionError(f"{response.status_code}")


def _client(world_keys, code, **options) -> Client:
    """A test client logged in as the role `code` (anonymous for "A"), with a copy of its session cookie."""
    client = Client(**options)
    if code != "A":
        client.cookies = copy.deepcopy(world_keys["cookies"][code])
    return client


def _page_url(world_keys, name) -> str:
    return reverse(name, kwargs=URL_ARGS[name](_fresh(world_keys)) if name in URL_ARGS else {})


def _request(world_keys, code, name, view, url_kwargs, data=None, method=None):
    world = _fresh(world_keys)
    kwargs = url_kwargs(world) if url_kwargs else {}
    url = reverse(name, kwargs=kwargs)
    client = _client(world_keys, code, raise_request_exception=True)
    method = method or _method(view)
    return _in_savepoint(lambda: _observed(getattr(client, method)(url, data(world) if data else {})))


URL_ARGS = {
    "password_reset_confirm": lambda w: {"uidb64": "MQ", "token": "set-password"},
    "employee_export": lambda w: {"export_format": "csv"},
    "employee_update": lambda w: {"pk": w.employee.pk},
    "employee_deactivate": lambda w: {"pk": w.employee.pk},
    "employee_access": lambda w: {"pk": w.employee.pk},
    "job_detail": lambda w: {"pk": w.job.pk},
    "job_download": lambda w: {"pk": w.job.pk},
    "job_retry": lambda w: {"pk": w.job.pk},
    "programme_partner_detail": lambda w: {"slug": w.city.slug},
    "partnerships:procedure_update": lambda w: {"pk": w.procedure.pk},
    "partnerships:detail": lambda w: {"pk": w.draft.pk},
    "partnerships:update": lambda w: {"pk": w.draft.pk},
    "partnerships:transition": lambda w: {"pk": w.draft.pk},
    "partnerships:render_pdf": lambda w: {"pk": w.draft.pk},
    "partnerships:amend": lambda w: {"pk": w.signed.pk},
    "partnerships:upload_signed": lambda w: {"pk": w.ready.pk},
    "partnerships:document_download": lambda w: {"pk": w.signed.pk, "document_pk": w.document.pk},
    "partnerships:report_progress": lambda w: {"pk": w.signed.pk, "commitment_pk": w.commitment.pk},
    "network:partner_detail": lambda w: {"slug": w.city.slug},
    "network:profile_edit": lambda w: {"slug": w.city.slug},
    "network:contact_delete": lambda w: {"pk": w.contact.pk},
    "network:practice_detail": lambda w: {"pk": w.entry.pk},
    "network:practice_edit": lambda w: {"pk": w.entry.pk},
    "network:practice_transition": lambda w: {"pk": w.entry.pk},
    "network:attachment_upload": lambda w: {"pk": w.entry.pk},
    "network:attachment_download": lambda w: {"pk": w.entry.pk, "attachment_pk": w.attachment.pk},
    "network:attachment_delete": lambda w: {"pk": w.entry.pk, "attachment_pk": w.attachment.pk},
    "network:meeting_detail": lambda w: {"pk": w.meeting.pk},
    "network:meeting_edit": lambda w: {"pk": w.meeting.pk},
    "network:meeting_cancel": lambda w: {"pk": w.meeting.pk},
    "network:meeting_register": lambda w: {"pk": w.meeting.pk},
    "network:registration_cancel": lambda w: {"pk": w.meeting.pk, "registration_pk": w.registration.pk},
    "network:meeting_ics": lambda w: {"pk": w.meeting.pk},
    "network:meeting_document_upload": lambda w: {"pk": w.meeting.pk},
    "network:meeting_document_download": lambda w: {"pk": w.meeting.pk, "document_pk": w.meeting_document.pk},
    "network:meeting_document_delete": lambda w: {"pk": w.meeting.pk, "document_pk": w.meeting_document.pk},
    "network:meeting_participants": lambda w: {"pk": w.meeting.pk},
    "network:question_detail": lambda w: {"pk": w.question.pk},
    "network:question_edit": lambda w: {"pk": w.question.pk},
    "network:question_delete": lambda w: {"pk": w.question.pk},
    "network:answer_create": lambda w: {"pk": w.question.pk},
    "network:answer_edit": lambda w: {"pk": w.answer.pk},
    "network:answer_delete": lambda w: {"pk": w.answer.pk},
    "network:answer_helpful": lambda w: {"pk": w.question.pk},
    "network:question_to_practice": lambda w: {"pk": w.question.pk},
    "network:unsubscribe": lambda w: {"token": "made-up"},
    "trainings:course_detail": lambda w: {"pk": w.course.pk},
    "trainings:course_update": lambda w: {"course_pk": w.course.pk},
    "trainings:course_participants": lambda w: {"course_pk": w.course.pk},
    "trainings:date_create": lambda w: {"course_pk": w.course.pk},
    "trainings:date_detail": lambda w: {"pk": w.course_date.pk},
    "trainings:date_update": lambda w: {"pk": w.course_date.pk},
    "trainings:date_cancel": lambda w: {"pk": w.course_date.pk},
    "trainings:date_ics": lambda w: {"pk": w.course_date.pk},
    "trainings:enrol": lambda w: {"pk": w.course_date.pk},
    "trainings:enrol_result": lambda w: {"pk": w.course_date.pk},
    "trainings:attendance": lambda w: {"pk": w.course_date.pk},
    "trainings:sign_in_sheet": lambda w: {"pk": w.course_date.pk},
    "trainings:certificates_build": lambda w: {"pk": w.course_date.pk},
    "trainings:enrolment_cancel": lambda w: {"pk": w.enrolment.pk},
    "trainings:certificate_download": lambda w: {"pk": w.certificate.pk},
    "trainings:verify": lambda w: {"code": w.certificate.code},
    "surveys:campaign_detail": lambda w: {"pk": w.campaign.pk},
    "surveys:campaign_update": lambda w: {"pk": w.campaign.pk},
    "surveys:campaign_open": lambda w: {"pk": w.campaign.pk},
    "surveys:campaign_close": lambda w: {"pk": w.open_campaign.pk},
    "surveys:campaign_extend": lambda w: {"pk": w.open_campaign.pk},
    "surveys:invite": lambda w: {"pk": w.open_campaign.pk},
    "surveys:send": lambda w: {"pk": w.open_campaign.pk},
    "surveys:remind": lambda w: {"pk": w.open_campaign.pk},
    "surveys:code_sheets": lambda w: {"pk": w.open_campaign.pk},
    "surveys:results": lambda w: {"pk": w.open_campaign.pk},
    "surveys:results_export": lambda w: {"pk": w.open_campaign.pk, "export_format": "csv"},
    "surveys:report": lambda w: {"pk": w.open_campaign.pk},
    "surveys:token": lambda w: {"token": "made-up"},
    "surveys:token_cut": lambda w: {"token": "made-up"},
}


@dataclass(frozen=True)
class Url:
    """`expected`: the outcome per role, in the order A M H O G X: ok (a page, a redirect, a form's 422),
    login (sent to log in), 403, 404 or 405. `method`: by default GET, POST where the view has no GET; `data`:
    what to post (from the world)."""

    expected: str
    method: str = ""
    data: object = None


# Public pages and the login's own pages.
PUBLIC = "ok ok ok ok ok ok"
# Pages for everyone logged in.
LOGGED_IN = "login ok ok ok ok ok"

URLS = {
    "home": Url(LOGGED_IN),
    "second_factor_verify": Url(LOGGED_IN),
    "second_factor_setup": Url(LOGGED_IN),
    "second_factor_manage": Url(LOGGED_IN),
    "my_data": Url(LOGGED_IN),
    "session_keepalive": Url(LOGGED_IN),  # POST only: the idle timeout's "Stay logged in"
    # django-otp-webauthn's JSON endpoints refuse a POST without a session (CSRF/session checks: 403).
    "otp_webauthn:credential-registration-begin": Url("403 ok ok ok ok ok"),
    "otp_webauthn:credential-registration-complete": Url("403 ok ok ok ok ok"),
    "otp_webauthn:credential-authentication-begin": Url("403 ok ok ok ok ok"),
    "otp_webauthn:credential-authentication-complete": Url("403 ok ok ok ok ok"),
    "otp_webauthn:js-i18n-catalog": Url(PUBLIC),
    # The portal's own view at the library's address (vielfalt.second_factor.PasskeyCompleteView).
    "second_factor_passkey_complete": Url("403 ok ok ok ok ok"),
    # The library's registration step at its own address, recorded and told (second_factor.PasskeyRegisteredView).
    "second_factor_passkey_registered": Url("403 ok ok ok ok ok"),
    "login": Url(PUBLIC),
    "logout": Url("login login login login login login", method="post"),  # back to the login page
    "password_change": Url(LOGGED_IN),
    "password_change_done": Url(LOGGED_IN),
    "password_reset": Url(PUBLIC),
    "password_reset_done": Url(PUBLIC),
    "password_reset_confirm": Url(PUBLIC),
    "password_reset_complete": Url(PUBLIC),
    "set_language": Url(PUBLIC, method="post", data=lambda w: {"language": "en", "next": "/"}),
    "accessibility": Url(PUBLIC),
    "document_check": Url(PUBLIC),
    "imprint": Url(PUBLIC),
    "privacy": Url(PUBLIC),
    "healthz": Url(PUBLIC),
    # Employees: partner HR of their own organisations; another organisation's record answers 404.
    "employee_list": Url("login 403 ok ok 403 ok"),
    "employee_create": Url("login 403 ok ok 403 ok"),
    # The org units of an organisation the user acts for as HR (a form's choice): another city's answer 404.
    "org_unit_choices": Url("login 403 ok 404 403 ok", data=lambda w: {"organisation": w.city.pk}),
    "employee_import": Url("login 403 ok ok 403 ok"),
    "employee_export": Url("login 403 ok ok 403 ok"),
    "employee_update": Url("login 403 ok 404 403 ok"),
    "employee_deactivate": Url("login 403 ok 404 403 ok"),
    "employee_access": Url("login 403 ok 404 403 ok"),
    "audit_log": Url("login ok 403 403 403 ok"),
    "privacy_retention": Url("login 403 403 403 403 ok"),
    "privacy_record": Url("login ok 403 403 403 ok"),
    # A job is its requester's (here Duisburg's HR).
    "job_detail": Url("login 404 ok 404 404 ok"),
    "job_download": Url("login 404 ok 404 404 ok"),
    "job_retry": Url("login 404 ok 404 404 ok"),
    # The programme overview: the ministry everything, partner HR its own part.
    "dashboard": Url("login ok ok ok 403 ok"),
    "dashboard_commitments": Url("login ok ok ok 403 ok"),
    "dashboard_network": Url("login ok ok ok 403 ok"),
    # The partner directory's programme view: every programme member.
    "programme_partner_list": Url(LOGGED_IN),
    "programme_partner_detail": Url(LOGGED_IN),
    "dashboard_report": Url(
        "login ok ok 404 403 ok",
        data=lambda w: {"year": "2024", "kind": "partner", "organisation": w.city.pk},
    ),
    # Agreements: the ministry writes, partner HR reads its own and reports progress.
    "partnerships:index": Url(LOGGED_IN),
    "partnerships:create": Url("login ok 403 403 403 ok"),
    "partnerships:partner_choices": Url(
        "login ok 403 403 403 ok", data=lambda w: {"partner": w.city.pk, "commitments-TOTAL_FORMS": "3"}
    ),
    "partnerships:export": Url("login ok 403 403 403 ok"),
    "partnerships:detail": Url("login ok ok 404 404 ok"),
    "partnerships:update": Url("login ok 403 403 403 ok"),
    "partnerships:transition": Url("login ok 403 403 403 ok"),
    "partnerships:render_pdf": Url("login ok 403 403 403 ok"),
    "partnerships:amend": Url("login ok 403 403 403 ok"),
    "partnerships:upload_signed": Url("login ok 403 403 403 ok"),
    "partnerships:document_download": Url("login ok ok 404 403 ok"),
    "partnerships:report_progress": Url("login 403 ok 404 403 ok"),
    "partnerships:procedure_list": Url("login ok ok ok 403 ok"),
    "partnerships:procedure_create": Url("login 403 ok ok 403 ok"),
    "partnerships:procedure_update": Url("login 403 ok 404 403 ok"),
    # The network: every programme member reads; an organisation's HR (and the ministry) writes its entries;
    # the other city registered for the meeting, so it reads the meeting's documents and cancels its own
    # registration; the organiser (of the education centre) answers and registers for its own organisation.
    "network:index": Url(LOGGED_IN),
    "network:start": Url(LOGGED_IN),
    "network:partner_list": Url(LOGGED_IN),
    "network:partner_detail": Url(LOGGED_IN),
    "network:profile_edit": Url("login ok ok 404 404 ok"),
    "network:contact_delete": Url("login ok ok 404 404 ok"),
    "network:practice_list": Url(LOGGED_IN),
    "network:practice_create": Url("login ok ok ok 403 ok"),
    "network:practice_detail": Url("login ok ok 404 404 ok"),
    "network:practice_edit": Url("login ok ok 404 404 ok"),
    "network:practice_transition": Url("login ok ok 404 404 ok"),
    "network:attachment_upload": Url("login ok ok 404 404 ok"),
    "network:attachment_download": Url("login ok ok 404 404 ok"),
    "network:attachment_delete": Url("login ok ok 404 404 ok"),
    "network:meeting_list": Url(LOGGED_IN),
    "network:meeting_create": Url("login ok ok ok 403 ok"),
    "network:meeting_detail": Url(LOGGED_IN),
    "network:meeting_edit": Url("login ok ok 404 404 ok"),
    "network:meeting_cancel": Url("login ok ok 404 404 ok"),
    "network:meeting_register": Url(LOGGED_IN),
    "network:registration_cancel": Url("login ok ok ok 404 ok"),
    "network:meeting_ics": Url(LOGGED_IN),
    "network:meeting_document_upload": Url("login ok ok 404 404 ok"),
    "network:meeting_document_download": Url("login ok ok ok 404 ok"),
    "network:meeting_document_delete": Url("login ok ok 404 404 ok"),
    "network:meeting_participants": Url("login ok ok 404 404 ok"),
    "network:question_list": Url(LOGGED_IN),
    "network:question_create": Url(LOGGED_IN),
    "network:question_detail": Url(LOGGED_IN),
    "network:question_edit": Url("login ok ok 404 404 ok"),
    "network:question_delete": Url("login ok ok 404 404 ok"),
    "network:answer_create": Url(LOGGED_IN),
    "network:answer_edit": Url("login ok 404 ok 404 ok"),
    "network:answer_delete": Url("login ok 404 ok 404 ok"),
    "network:answer_helpful": Url("login ok ok 404 404 ok"),
    "network:question_to_practice": Url("login ok 403 403 403 ok"),
    "network:mail_settings": Url(LOGGED_IN),
    # Authorised by a signed token, not a login: a made-up one finds nothing.
    "network:unsubscribe": Url("404 404 404 404 404 404"),
    # Trainings: the organiser manages its course (others: 404, also to open the form for a new one); HR of
    # an organisation taking part sees it and enrols; the other city sees nothing of it.
    "trainings:index": Url(LOGGED_IN),
    "trainings:course_create": Url("login 404 404 404 ok ok"),
    "trainings:course_detail": Url("login ok ok 404 ok ok"),
    "trainings:course_update": Url("login 404 404 404 ok ok"),
    "trainings:course_participants": Url("login 404 404 404 ok ok"),
    "trainings:date_create": Url("login 404 404 404 ok ok"),
    "trainings:date_detail": Url("login ok ok 404 ok ok"),
    "trainings:date_update": Url("login 404 404 404 ok ok"),
    "trainings:date_cancel": Url("login 404 404 404 ok ok"),
    "trainings:date_ics": Url("login ok ok 404 ok ok"),
    "trainings:enrol": Url("login 404 ok 404 404 ok"),
    "trainings:enrol_result": Url("login ok ok 404 ok ok"),
    "trainings:attendance": Url("login 404 404 404 ok ok"),
    "trainings:sign_in_sheet": Url("login 404 404 404 ok ok"),
    "trainings:certificates_build": Url("login 404 404 404 ok ok"),
    # The ministry sees the dates' counts, not the enrolments of a course it does not organise: no names,
    # attendance or certificates (Enrolment.visible_to; test_the_ministry_names_nobody_enrolled_in_a_course).
    "trainings:enrolment_cancel": Url("login 404 ok 404 ok ok"),
    "trainings:certificate_download": Url("login 404 ok 404 ok ok"),
    "trainings:report": Url("login ok ok ok 403 ok"),
    "trainings:verify": Url(PUBLIC),
    "trainings:verify_form": Url(PUBLIC),
    # Surveys: a campaign is its organisation's HR's; the ministry sees only programme-wide figures.
    "surveys:index": Url("login ok ok ok 403 ok"),
    "surveys:campaign_create": Url("login 403 ok ok 403 ok"),
    # The org units of an organisation the user acts for as HR (the campaign form's check boxes).
    "surveys:campaign_units": Url("login 403 ok 404 403 ok", data=lambda w: {"organisation": w.city.pk}),
    "surveys:programme": Url("login ok 403 403 403 ok"),
    "surveys:campaign_detail": Url("login 403 ok 404 403 ok"),
    "surveys:campaign_update": Url("login 403 ok 404 403 ok"),
    "surveys:campaign_open": Url("login 403 ok 404 403 ok"),
    "surveys:campaign_close": Url("login 403 ok 404 403 ok"),
    "surveys:campaign_extend": Url("login 403 ok 404 403 ok"),
    "surveys:invite": Url("login 403 ok 404 403 ok"),
    "surveys:send": Url("login 403 ok 404 403 ok"),
    "surveys:remind": Url("login 403 ok 404 403 ok"),
    "surveys:code_sheets": Url("login 403 ok 404 403 ok"),
    "surveys:results": Url("login 403 ok 404 403 ok"),
    "surveys:results_export": Url("login 403 ok 404 403 ok"),
    "surveys:report": Url("login 403 ok 404 403 ok"),
    # The respondent's pages: no account; the token or code (kept in the session) is the authorisation.
    "surveys:token": Url(PUBLIC),
    "surveys:token_cut": Url(PUBLIC),
    "surveys:answer": Url("404 404 404 404 404 404"),
    "survey_code": Url(PUBLIC),
}

# The Django admin's own URLs (every model's list, add, change, delete, history, ...) share one rule: staff
# only, everyone else is sent to the admin's login. Arguments are placeholders, so the administrator may also
# meet "not found" or the admin's own refusal of a malformed request.
ADMIN_ARGS = {"object_id": "1", "id": "1", "pk": "1", "content_type_id": "1", "app_label": "vielfalt"}
ADMIN_EXPECTED = "login login login login login ok"
# Admin views that fail on a missing object instead of answering 404 need a real object (none today).
ADMIN_OBJECTS: dict[str, str] = {}


def _admin_arg(world, name, key):
    if name in ADMIN_OBJECTS:
        return getattr(world, ADMIN_OBJECTS[name]).pk
    return ADMIN_ARGS[key]


ADMIN_SPECIAL = {
    "admin:login": Url(PUBLIC),
    # Logging out is harmless: the admin's logout page for everyone, staff back to the login page.
    "admin:logout": Url("ok ok ok ok ok login", method="post"),
}


@functools.cache
def _project_urls() -> dict[str, object]:
    urls = {}
    for name, view in _url_patterns():
        if name.startswith("admin:") and name != "admin:None":
            urls[name] = view
        elif not name.startswith("admin:"):
            assert not name.endswith("None"), f"a URL pattern without a name ({view})"
            urls[name] = view
    return urls


def test_every_url_has_an_entry():
    names = {name for name in _project_urls() if not name.startswith("admin:")}
    missing = sorted(names - set(URLS))
    assert missing == [], f"URLs without an entry in the authorisation matrix: {missing}"
    assert sorted(set(URLS) - names) == [], "entries for URLs that no longer exist"


def _check_url(world_keys, name, view, url_kwargs, entry):
    observed = [
        _request(
            world_keys,
            code,
            name,
            view,
            url_kwargs,
            data=entry.data,
            method=entry.method or None,
        )
        for code in ROLES
    ]
    return " ".join(observed)


@pytest.mark.parametrize("name", sorted(URLS))
def test_url(name, world):
    entry = URLS[name]
    assert _check_url(world, name, _project_urls()[name], URL_ARGS.get(name), entry) == entry.expected


def test_the_ministry_names_nobody_enrolled_in_a_course_it_does_not_organise(world):
    """The ministry follows the trainings in counts: the date's page, the enrolment result, the course page and
    the report (page and export) of the centre's course show it the seats taken, never the city's employee, their
    personnel number, attendance or certificate. Before, the date's page listed every enrolment of the programme
    to the ministry (Enrolment.visible_to let Role.MINISTRY see them all). HR and the organiser still see the
    name (so the check below would notice it)."""
    w = _fresh(world)
    name = f"{w.employee.last_name}, {w.employee.first_name}"
    date_url = reverse("trainings:date_detail", args=[w.course_date.pk])
    for code in "HG":
        assert name in _client(world, code).get(date_url).text
    client = _client(world, "M")
    date_page = client.get(date_url)
    assert (date_page.context["seated"], date_page.context["waiting"]) == ([], [])
    assert '<dd class="col-sm-7" id="seats-taken">1 / 10</dd>' in date_page.text
    assert 'id="persons-not-listed"' in date_page.text
    report = reverse("trainings:report")
    pages = [
        date_page,
        client.get(reverse("trainings:enrol_result", args=[w.course_date.pk])),
        client.get(reverse("trainings:course_detail", args=[w.course.pk])),
        client.get(report),
        client.get(report, {"export": "csv"}),
    ]
    for page in pages:
        assert page.status_code == 200
        text = page.content.decode("utf-8-sig")
        assert w.employee.last_name not in text
        assert w.employee.personnel_number not in text
        assert w.certificate.code not in text
    (row,) = [d for d in pages[3].context["dates"] if d["pk"] == w.course_date.pk]
    assert (row["seated_count"], row["waiting_count"], row["no_shows"]) == (1, 0, 0)


# The query parameters the portal's pages read outside their filter sets (pages, years, formats, ...; the filter
# sets' own names are added by _query_parameters), each given a value that is not what the page expects: every page
# must answer them with a page (the filter ignored or refused, the last page, a 404), never a server error.
QUERY_PARAMETERS = (
    "page", "organisation", "year", "method", "progress", "kind", "before", "after", "format", "job", "show",
    "past", "export", "language", "units_page", "dates_page", "partner", "agreement", "course", "campaign", "unit",
    "next",
)  # fmt: skip
HOSTILE_VALUES = (
    "²",  # a digit to str.isdigit(), not to int()
    "０",  # a full-width zero
    "0",
    "-1",
    "99999999999999999999",
    "999999999999999999",  # 18 digits: an id to submitted_id, more than an int column holds
    "\x00",
    "2026-13-45",
    "x" * 200,
)


def _query_parameters() -> list[str]:
    """QUERY_PARAMETERS and the name of every filter of the portal's filter sets (a filter added later is covered
    without being listed here)."""
    import django_filters

    def subclasses(cls):
        for subclass in cls.__subclasses__():
            yield subclass
            yield from subclasses(subclass)

    get_resolver().url_patterns  # noqa: B018 (the views, and with them every filter set, imported)
    names = {
        name for cls in subclasses(django_filters.FilterSet) for name in getattr(cls, "base_filters", {})
    }
    return sorted(names | set(QUERY_PARAMETERS))


def _pages() -> list[str]:
    """The URLs read with GET (not a form's POST)."""
    views = _project_urls()
    return sorted(
        name
        for name, entry in URLS.items()
        if (entry.method or _method(views[name])) == "get" and entry.data is None
    )


@pytest.mark.parametrize("name", _pages())
def test_hostile_query_strings_get_a_page_not_a_server_error(name, world):
    url = _page_url(world, name)
    parameters = _query_parameters()
    failures = []
    for code in ("A", "M", "H", "G", "X"):
        client = _client(world, code)
        for value in HOSTILE_VALUES:  # every parameter at once: a page reads those it knows
            query = dict.fromkeys(parameters, value)
            status = _in_savepoint(lambda client=client, query=query: client.get(url, query).status_code)
            if status >= 500:
                failures.append(f"{ROLES[code]}: every parameter {value[:20]!r}: {status}")
    assert failures == []


@pytest.mark.parametrize("name", sorted(URLS))
def test_a_method_no_page_takes_is_refused(name, world):
    """TRACE (like PATCH and DELETE) is no method of the portal's: every URL refuses it (405, or the login or
    "not found" its roles get before), anonymously and for every role it lets in. /healthz, a plain function,
    answered every method with 200, the password reset's link page rendered itself for any. (PUT reaches Django's form views as a POST
    without data, answered like an empty form.)"""
    url = _page_url(world, name)
    answered = []
    # The roles the view lets in (the others are turned away before the method is looked at), and anonymous.
    admitted = [
        code for code, outcome in zip(ROLES, URLS[name].expected.split(), strict=True) if outcome == "ok"
    ]
    for code in dict.fromkeys(["A", *admitted]):
        client = _client(world, code)
        # One method for all: Django's views refuse TRACE, PATCH and DELETE alike (not in their handlers).
        status = _in_savepoint(lambda client=client: client.trace(url).status_code)
        if status < 300 or status >= 500:
            answered.append(f"{ROLES[code]}: TRACE {status}")
    assert answered == []


def test_a_form_view_that_takes_a_post_says_where_a_valid_one_goes():
    """Django's FormView answers a valid POST with a redirect to `success_url`; a form view without one (e.g. a
    form sent by GET, whose view still took a POST) answered a valid POST with a server error."""
    unanswered = []
    for name, view in _project_urls().items():
        view_class = getattr(view, "view_class", None)
        if name.startswith("admin:") or view_class is None or not issubclass(view_class, FormMixin):
            continue
        if "post" not in view_class.http_method_names or not hasattr(view_class, "post"):
            continue
        if (
            view_class.form_valid is FormMixin.form_valid
            and view_class.get_success_url is FormMixin.get_success_url
            and not view_class.success_url
        ):
            unanswered.append(name)
    assert unanswered == []


# The admin asks only whether the user is active staff: anonymous, one logged-in user without staff status (the
# other roles are no different there) and the administrator.
ADMIN_ROLES = ("A", "H", "X")


@pytest.mark.parametrize("name", sorted(name for name in _project_urls() if name.startswith("admin:")))
def test_admin_url(name, world):
    view = _project_urls()[name]
    entry = ADMIN_SPECIAL.get(name, Url(ADMIN_EXPECTED))
    pattern_keys = _admin_pattern_keys()[name]
    url_kwargs = (lambda w: {key: _admin_arg(w, name, key) for key in pattern_keys}) if pattern_keys else None
    expected = dict(zip(ROLES, entry.expected.split(), strict=True))
    observed = {
        code: _request(world, code, name, view, url_kwargs, method=entry.method or None)
        for code in ADMIN_ROLES
    }
    # The administrator may meet "not found" with placeholder arguments, or the admin's refusal of them.
    if expected["X"] == "ok" and observed["X"] in ("404", "403"):
        observed["X"] = "ok"
    assert observed == {code: expected[code] for code in ADMIN_ROLES}


@functools.cache
def _admin_pattern_keys() -> dict[str, list[str]]:
    return _pattern_keys(get_resolver(), "")


def _pattern_keys(resolver, namespace) -> dict[str, list[str]]:
    keys = {}
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            keys.update(_pattern_keys(pattern, inner))
        elif namespace.startswith("admin:") and pattern.name:
            keys[f"{namespace}{pattern.name}"] = list(pattern.pattern.regex.groupindex)
    return keys
