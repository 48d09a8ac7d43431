"""Demo data of the partners' network, from the press report: Duisburg's practice entry on anonymised
applications, Oberhausen's on the joint sensitisation course, a ministry meeting in Düsseldorf with both cities
registered, and one answered question. Called by `manage.py seed_demo`; running it twice changes nothing."""

from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from vielfalt.models import Organisation, TargetGroup, User
from vielfalt.permissions import SYSTEM

from ..models import Commitment
from . import services
from .models import ContactPerson, FieldOfAction, Meeting, PracticeEntry, Question, Registration

DUISBURG_ENTRY = "Anonymisierte Bewerbungsverfahren: rund 100 Stellen ohne Namen und Foto besetzt"
OBERHAUSEN_ENTRY = "Gemeinsame interkulturelle Sensibilisierung mit der Stadt Duisburg"
MEETING = "Netzwerktreffen „Vielfalt verbindet“ in Düsseldorf"
QUESTION = "Wie habt ihr anonymisierte Bewerbungen mit dem Personalrat vereinbart?"


def _contact(organisation, **fields) -> ContactPerson:
    existing = ContactPerson.objects.filter(organisation=organisation, email=fields["email"]).first()
    return existing or services.contact_create(
        actor=SYSTEM, organisation=organisation, consent=True, **fields
    )


def _published(organisation, title, **fields) -> PracticeEntry:
    entry = PracticeEntry.objects.filter(organisation=organisation, title=title).first()
    if entry is None:
        entry = services.practice_create(actor=SYSTEM, organisation=organisation, title=title, **fields)
        services.practice_transition(actor=SYSTEM, entry=entry, to=PracticeEntry.Status.SUBMITTED)
        services.practice_transition(actor=SYSTEM, entry=entry, to=PracticeEntry.Status.PUBLISHED)
    return entry


@transaction.atomic
def seed(*, stdout) -> None:
    ministry = Organisation.objects.get(slug="mais-nrw")
    duisburg = Organisation.objects.get(slug="duisburg")
    oberhausen = Organisation.objects.get(slug="oberhausen")
    hr_duisburg = User.objects.get(username="hr-duisburg")
    hr_oberhausen = User.objects.get(username="hr-oberhausen")

    services.profile_update(
        actor=SYSTEM,
        organisation=duisburg,
        description="Erste Großstadt in Nordrhein-Westfalen mit einer Partnervereinbarung „Vielfalt verbindet“. "
        "Auszubildende, Beschäftigte mit Publikumskontakt und Führungskräfte werden gemeinsam mit der Stadt "
        "Oberhausen interkulturell sensibilisiert.",
        fields_of_action=[
            FieldOfAction.ANONYMISED_APPLICATIONS,
            FieldOfAction.SENSITISATION,
            FieldOfAction.JOINT_TRAINING,
        ],
        open_for_visits=True,
    )
    services.profile_update(
        actor=SYSTEM,
        organisation=oberhausen,
        description="Richtet die interkulturellen Schulungen für die eigenen Beschäftigten und die der Stadt "
        "Duisburg aus.",
        fields_of_action=[FieldOfAction.SENSITISATION, FieldOfAction.JOINT_TRAINING],
        open_for_visits=False,
    )
    duisburg_contact = _contact(
        duisburg,
        name="Dirk Wiśniewski",
        function="Amt für Personal und Organisation",
        email="hr-duisburg@vielfalt.example",
        phone="0203 283-0",
        open_for_visits=True,
    )
    oberhausen_contact = _contact(
        oberhausen,
        name="Olga Schäfer",
        function="Fachbereich Personal",
        email="hr-oberhausen@vielfalt.example",
        phone="0208 825-0",
    )

    commitment = Commitment.objects.filter(
        agreement__partner=duisburg, field_of_action="Anonymisierte Bewerbungsverfahren"
    ).first()
    _published(
        duisburg,
        DUISBURG_ENTRY,
        field_of_action=FieldOfAction.ANONYMISED_APPLICATIONS,
        target_groups=[TargetGroup.TRAINEE, TargetGroup.PUBLIC_FACING],
        summary="Rund 100 Stellen wurden über anonymisierte Bewerbungsverfahren besetzt: Bewerbungen ohne Namen, "
        "Foto, Geburtsdatum und Herkunft, bis zum Vorstellungsgespräch.",
        what_was_done="Das Personalamt hat gemeinsam mit dem Personalrat eine Dienstvereinbarung geschlossen. "
        "Eingehende Bewerbungen werden von einer Stelle außerhalb der Auswahlkommission anonymisiert; die "
        "Kommission sieht nur Qualifikationen und Berufserfahrung. Erst die Einladung zum Gespräch hebt die "
        "Anonymisierung auf. Auch die Ausländerbehörde und der Bürgerservice haben so Stellen besetzt.",
        effort="Etwa eine halbe Stelle im Personalamt für die Anonymisierung; eine Schulung der "
        "Auswahlkommissionen (ein halber Tag).",
        what_worked="Mehr Bewerbungen von Menschen mit Einwanderungsgeschichte kamen in die engere Wahl; die "
        "Kommissionen empfanden die Auswahl als fairer.",
        what_did_not_work="Papierbewerbungen zu anonymisieren kostete viel Zeit; ein Online-Formular ist besser.",
        contact=duisburg_contact,
        commitment=commitment,
    )
    _published(
        oberhausen,
        OBERHAUSEN_ENTRY,
        field_of_action=FieldOfAction.JOINT_TRAINING,
        target_groups=[TargetGroup.TRAINEE, TargetGroup.PUBLIC_FACING, TargetGroup.MANAGER],
        summary="Oberhausen und Duisburg sensibilisieren Auszubildende, Beschäftigte mit Publikumskontakt und "
        "Führungskräfte in gemeinsamen Schulungen.",
        what_was_done="Die Stadt Oberhausen organisiert die Schulungen, beide Städte teilen sich Plätze nach "
        "Kontingenten. Jede Schulung dauert einen Tag; die Trainerinnen kommen aus dem Kommunalen "
        "Integrationszentrum.",
        effort="Je Schulung ein Tag für 16 Personen; Honorare und Räume teilen sich die Städte.",
        what_worked="Der Austausch zwischen den Beschäftigten beider Städte.",
        what_did_not_work="Führungskräfte fanden schwer einen ganzen freien Tag; zwei halbe Tage sind geplant.",
        contact=oberhausen_contact,
    )

    meeting = Meeting.objects.filter(host=ministry, title=MEETING).first()
    if meeting is None:
        day = timezone.localdate() + timedelta(days=30)
        starts = timezone.make_aware(datetime.combine(day, time(10, 0)))
        meeting = services.meeting_create(
            actor=SYSTEM,
            host=ministry,
            kind=Meeting.Kind.MEETING,
            title=MEETING,
            agenda="10:00 Begrüßung durch das Ministerium\n"
            "10:30 Duisburg: anonymisierte Bewerbungsverfahren\n"
            "11:30 Oberhausen: gemeinsame Schulungen\n"
            "13:00 Austausch und Ausblick",
            starts_at=starts,
            ends_at=starts + timedelta(hours=4),
            location="Ministerium für Arbeit, Integration und Soziales, Fürstenwall 25, 40219 Düsseldorf",
            capacity=30,
            registration_deadline=starts - timedelta(days=7),
            fields_of_action=[FieldOfAction.ANONYMISED_APPLICATIONS, FieldOfAction.JOINT_TRAINING],
        )
    for user, organisation in [(hr_duisburg, duisburg), (hr_oberhausen, oberhausen)]:
        if (
            not meeting.registrations.exclude(status=Registration.Status.CANCELLED)
            .filter(email=user.email)
            .exists()
        ):
            services.registration_create(
                actor=user,
                meeting=meeting,
                organisation=organisation,
                name=user.get_full_name(),
                email=user.email,
                user=user,
            )

    if not Question.objects.filter(title=QUESTION).exists():
        question = services.question_ask(
            actor=hr_oberhausen,
            organisation=oberhausen,
            title=QUESTION,
            body="Wir wollen im nächsten Jahr Ausbildungsstellen anonymisiert ausschreiben. Welche Punkte stehen "
            "in eurer Dienstvereinbarung?",
            fields_of_action=[FieldOfAction.ANONYMISED_APPLICATIONS],
        )
        answer = services.answer_create(
            actor=hr_duisburg,
            question=question,
            organisation=duisburg,
            body="Wir haben eine Dienstvereinbarung für zwei Jahre geschlossen: wer anonymisiert, welche Angaben "
            "entfallen, und dass der Personalrat die Auswertung bekommt. Gerne schicken wir sie euch.",
        )
        services.answer_mark_helpful(actor=hr_oberhausen, question=question, answer=answer)
    stdout.write("Network: 2 practice entries, 1 meeting with 2 registrations, 1 answered question.")
