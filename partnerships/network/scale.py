"""Practice entries for `seed_scale` (the programme at full scale): varied German texts built from sentences
about the programme's fields of action, so that searches match realistic shares of the library."""

import json
from datetime import timedelta

from django.utils import timezone

from .models import FieldOfAction, PracticeEntry

TOPICS = {
    FieldOfAction.ANONYMISED_APPLICATIONS: (
        "Anonymisierte Bewerbungsverfahren",
        "Bewerbungen wurden ohne Namen, Foto und Geburtsort gesichtet; der Personalrat stimmte einer Dienstvereinbarung zu.",
    ),
    FieldOfAction.SENSITISATION: (
        "Interkulturelle Sensibilisierung",
        "Beschäftigte mit Publikumsverkehr besuchten eine zweitägige Schulung zur interkulturellen Kompetenz.",
    ),
    FieldOfAction.STAFF_SURVEY: (
        "Freiwillige Beschäftigtenbefragung",
        "Die Befragung zum Migrationshintergrund war anonym; die Beteiligung lag über den Erwartungen.",
    ),
    FieldOfAction.JOINT_TRAINING: (
        "Gemeinsame Schulungen mit der Nachbarstadt",
        "Zwei Verwaltungen teilten sich Trainerinnen, Räume und Kosten der Fortbildungen.",
    ),
    FieldOfAction.RECRUITMENT: (
        "Ausbildungsmarketing in Migrantenorganisationen",
        "Auszubildende berichteten in Moscheegemeinden und Kulturvereinen über die Ausbildung in der Verwaltung.",
    ),
    FieldOfAction.LEADERSHIP: (
        "Führungskräfte als Vorbilder",
        "Führungskräfte nahmen an Workshops zu diversitätssensibler Personalauswahl teil.",
    ),
    FieldOfAction.PUBLIC_SERVICE: (
        "Mehrsprachiger Bürgerservice",
        "Die Ausländerbehörde bietet Termine mit Sprachmittlung und mehrsprachige Formulare an.",
    ),
}
PLACES = ["im Bürgeramt", "in der Ausländerbehörde", "im Jugendamt", "im Personalamt", "im Ordnungsamt"]
EXTRA = [
    "Die Kosten betrugen rund {n} Euro für Honorare und Material.",
    "Das Projekt dauerte {n} Wochen von der Planung bis zur Auswertung.",
    "Wichtig war die frühe Beteiligung der Gleichstellungsbeauftragten.",
    "Schwierig war die Terminfindung im Schichtdienst.",
    "Die Rückmeldungen der Teilnehmenden waren überwiegend positiv.",
    "Ein Leitfaden fasst die Erfahrungen für andere Kommunen zusammen.",
]
TARGET_GROUPS = [["trainee"], ["public_facing"], ["manager"], ["public_facing", "manager"], []]
COLUMNS = [
    "organisation_id",
    "title",
    "field_of_action",
    "target_groups",
    "summary",
    "what_was_done",
    "effort",
    "what_worked",
    "what_did_not_work",
    "status",
    "return_comment",
    "created_at",
    "updated_at",
    "published_at",
]


def practice_rows(partner_ids: list[int], count: int, rng):
    """Rows for COPY into the practice entries' table: nine in ten published, the rest drafts or submitted."""
    now = timezone.now()
    topics = list(TOPICS.items())
    for number in range(count):
        field, (title, sentence) = topics[number % len(topics)]
        place = rng.choice(PLACES)
        extra = " ".join(rng.sample(EXTRA, 3)).format(n=rng.randint(2, 40) * 100)
        created = now - timedelta(days=rng.randint(1, 1500))
        status = PracticeEntry.Status.PUBLISHED if number % 10 else rng.choice(["draft", "submitted"])
        yield (
            partner_ids[number % len(partner_ids)],
            f"{title} {place} ({number + 1})",
            field,
            json.dumps(rng.choice(TARGET_GROUPS)),
            f"{sentence} Ein Beispiel {place}.",
            f"{sentence} {extra}",
            "Zwei Personentage Vorbereitung.",
            "Die Zusammenarbeit der Ämter.",
            "Die erste Terminplanung.",
            status,
            "",
            created,
            created,
            created + timedelta(days=7) if status == PracticeEntry.Status.PUBLISHED else None,
        )
