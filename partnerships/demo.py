"""Demo agreements: the signed Duisburg agreement from the press report and a draft for Oberhausen.
Called by `manage.py seed_demo` after the core demo data exists; running it twice changes nothing."""

from datetime import date, datetime
from decimal import Decimal

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from vielfalt.models import Organisation, OrgUnit, User

from .models import DEFAULT_TITLE, Agreement, AnonymisedProcedure, Commitment, Side
from .services import (
    agreement_create,
    agreement_render_pdf,
    agreement_sign,
    agreement_transition,
    procedure_create,
    progress_report_create,
    signed_copy_upload,
)

DUISBURG_PREAMBLE = (
    "Die Stadt Duisburg und das Land Nordrhein-Westfalen erkennen die Realität der Einwanderung an. "
    "Interkulturelle Kompetenz ist ein Qualitätsmerkmal einer modernen Verwaltung.\n\n"
    "Mit dieser Vereinbarung verpflichten sich beide Seiten, die interkulturelle Öffnung der Verwaltung "
    "gemeinsam voranzubringen und ein *spannungsarmes Zusammenleben* in Nordrhein-Westfalen zu fördern."
)
DUISBURG_BODY = (
    "Die Partner vereinbaren:\n\n"
    "1. Die Stadt Duisburg stärkt die interkulturelle Kompetenz ihrer Beschäftigten.\n"
    "2. Das Land stellt Plattformen für den Gedanken- und Erfahrungsaustausch sowie Fortbildungen bereit.\n"
    "3. Die Partner berichten einmal jährlich über den Stand der Maßnahmen.\n\n"
    "Die Vereinbarung tritt mit ihrer Unterzeichnung in Kraft. Änderungen bedürfen einer "
    "**schriftlichen Ergänzungsvereinbarung**."
)


def _duisburg_commitments(units: dict) -> list[dict]:
    return [
        {
            "field_of_action": "Interkulturelle Sensibilisierung",
            "description": (
                "Auszubildende, Beschäftigte mit Publikumskontakt und Führungskräfte werden in Kooperation "
                "mit der Stadt Oberhausen interkulturell sensibilisiert."
            ),
            "indicator": "Geschulte Beschäftigte mit Publikumskontakt",
            "indicator_source": Commitment.IndicatorSource.TRAINED_PUBLIC_FACING,
            "target_value": Decimal(600),
            "unit": "Personen",
            "due_on": date(2016, 12, 31),
            "responsible_unit": units.get("Amt für Personal und Organisation"),
        },
        {
            "field_of_action": "Anonymisierte Bewerbungsverfahren",
            "description": (
                "Die Stadt erprobt anonymisierte Bewerbungsverfahren, wie sie das Land bei rund 100 Stellen "
                "genutzt hat."
            ),
            "indicator": "Über anonymisierte Verfahren besetzte Stellen",
            "indicator_source": Commitment.IndicatorSource.ANONYMISED_POSTS_FILLED,
            "target_value": Decimal(50),
            "unit": "Stellen",
            "due_on": date(2015, 12, 31),
            "responsible_unit": units.get("Amt für Personal und Organisation"),
        },
        {
            "field_of_action": "Freiwillige Beschäftigtenbefragung",
            "description": (
                "Eine freiwillige, anonyme Befragung der Beschäftigten ermittelt den Anteil der Beschäftigten "
                "mit Migrationshintergrund."
            ),
            "indicator": "Befragung durchgeführt",
            "target_value": Decimal(1),
            "unit": "Befragung",
            "due_on": date(2014, 6, 30),
            "responsible_unit": units.get("Amt für Personal und Organisation"),
        },
    ]


INDICATOR_SOURCES = {
    "Interkulturelle Sensibilisierung": Commitment.IndicatorSource.TRAINED_PUBLIC_FACING,
    "Anonymisierte Bewerbungsverfahren": Commitment.IndicatorSource.ANONYMISED_POSTS_FILLED,
}

# (post, org unit, year, month, method, applications, invited, filled, stated a migration background or None)
DUISBURG_PROCEDURES = [
    (
        "Ausbildung Verwaltungsfachangestellte",
        "Amt für Personal und Organisation",
        2013,
        5,
        "standard_form",
        412,
        60,
        24,
        96,
    ),
    (
        "Duales Studium Public Administration",
        "Amt für Personal und Organisation",
        2013,
        6,
        "standard_form",
        288,
        45,
        18,
        71,
    ),
    ("Sachbearbeitung Bürgerservice", "Bürgerservice Hamborn", 2013, 9, "blanked_fields", 64, 12, 4, None),
    ("Sachbearbeitung Ausländerbehörde", "Ausländerbehörde", 2013, 11, "blanked_fields", 38, 9, 3, 11),
    ("Erzieherinnen und Erzieher", "Jugendamt", 2014, 2, "redacted_copies", 95, 30, 12, 22),
    (
        "Ausbildung Verwaltungsfachangestellte",
        "Amt für Personal und Organisation",
        2014,
        5,
        "standard_form",
        398,
        58,
        22,
        101,
    ),
    ("Sozialarbeit Allgemeiner Sozialer Dienst", "Jugendamt", 2014, 8, "redacted_copies", 41, 14, 6, 3),
    ("Sachbearbeitung Bürgerservice", "Bürgerservice Hamborn", 2014, 10, "blanked_fields", 57, 11, 5, 16),
    ("Feuerwehr Brandmeisteranwärter", "Feuerwehr", 2015, 3, "standard_form", 120, 25, 6, None),
]


def _seed_procedures(duisburg: Organisation, hr: User) -> None:
    units = {unit.name: unit for unit in OrgUnit.objects.filter(organisation=duisburg)}
    for post, unit, year, month, method, applications, invited, filled, stated in DUISBURG_PROCEDURES:
        procedure_create(
            actor=hr,
            organisation=duisburg,
            org_unit=units.get(unit),
            post=post,
            held_on=date(year, month, 15),
            method=method,
            applications=applications,
            invited=invited,
            posts_filled=filled,
            stated_migration_background=stated,
        )


@transaction.atomic
def seed(*, stdout) -> None:
    ministry = Organisation.objects.get(slug="mais-nrw")
    duisburg = Organisation.objects.get(slug="duisburg")
    oberhausen = Organisation.objects.get(slug="oberhausen")
    staff = User.objects.get(username="ministerium")
    hr_duisburg = User.objects.get(username="hr-duisburg")

    if not Agreement.objects.filter(partner=duisburg, title=DEFAULT_TITLE, amends=None).exists():
        units = {unit.name: unit for unit in OrgUnit.objects.filter(organisation=duisburg)}
        agreement = agreement_create(
            actor=staff,
            partner=duisburg,
            state_party=ministry,
            title=DEFAULT_TITLE,
            preamble=DUISBURG_PREAMBLE,
            body=DUISBURG_BODY,
            place="Duisburg",
            signed_on=date(2013, 3, 7),
            valid_from=date(2013, 3, 7),
            signatories=[
                {"side": Side.PARTNER, "name": "Sören Link", "function": "Oberbürgermeister"},
                {"side": Side.STATE, "name": "Guntram Schneider", "function": "Minister"},
                {"side": Side.STATE, "name": "Zülfiye Kaykin", "function": "Staatssekretärin"},
            ],
            commitments=_duisburg_commitments(units),
        )
        # A historical agreement entered after the fact: it was drawn up before it was signed in 2013.
        Agreement.objects.filter(pk=agreement.pk).update(
            created_at=timezone.make_aware(datetime(2013, 1, 15, 10))
        )
        agreement.refresh_from_db()
        agreement_transition(actor=staff, agreement=agreement, to_status=Agreement.Status.IN_REVIEW)
        agreement_transition(actor=staff, agreement=agreement, to_status=Agreement.Status.READY_FOR_SIGNATURE)
        agreement_render_pdf(agreement_id=agreement.pk, actor_id=staff.pk)
        signed_copy_upload(actor=staff, agreement=agreement, upload=_demo_scan(agreement))
        agreement_sign(
            actor=staff, agreement=agreement, reason="Unterzeichnet am 7. März 2013 in Duisburg (Demo-Daten)."
        )
        survey = agreement.commitments.get(field_of_action="Freiwillige Beschäftigtenbefragung")
        progress_report_create(
            actor=hr_duisburg,
            commitment=survey,
            reported_on=date(2014, 5, 15),
            value_reached=Decimal(1),
            text="Die Befragung ist abgeschlossen.",
        )
        stdout.write("Partnerships: signed agreement with Stadt Duisburg.")
    # Databases seeded before commitments could fill themselves get their sources too.
    for field_of_action, source in INDICATOR_SOURCES.items():
        Commitment.objects.filter(
            agreement__partner=duisburg, field_of_action=field_of_action, indicator_source=""
        ).update(indicator_source=source)
    if not AnonymisedProcedure.objects.filter(organisation=duisburg).exists():
        _seed_procedures(duisburg, hr_duisburg)
        stdout.write("Partnerships: anonymised application procedures of Stadt Duisburg (100 posts filled).")

    if not Agreement.objects.filter(partner=oberhausen).exists():
        agreement_create(
            actor=staff,
            partner=oberhausen,
            state_party=ministry,
            title=DEFAULT_TITLE,
            preamble="Die Stadt Oberhausen und das Land Nordrhein-Westfalen vereinbaren die interkulturelle "
            "Öffnung der Stadtverwaltung.",
            body="Entwurf – der Text wird mit der Stadt Oberhausen abgestimmt.",
            place="Oberhausen",
            signatories=[{"side": Side.STATE, "name": "Guntram Schneider", "function": "Minister"}],
            commitments=[
                {
                    "field_of_action": "Gemeinsame Schulungen",
                    "description": "Oberhausen bietet die Schulungen zur interkulturellen Kompetenz gemeinsam "
                    "mit der Stadt Duisburg an.",
                    "indicator": "Schulungstermine",
                    "target_value": Decimal(12),
                    "unit": "Termine",
                }
            ],
        )
        stdout.write("Partnerships: draft agreement with Stadt Oberhausen.")


def _demo_scan(agreement) -> ContentFile:
    """Stands in for the scan of the signed paper (the generated PDF itself is refused as signed copy)."""
    from django.utils.html import escape

    from vielfalt.pdf import render_pdf_from_html

    names = "".join(
        f"<p>{escape(s.name)}, {escape(s.function)} – unterschrieben</p>" for s in agreement.signatories.all()
    )
    html = (
        '<html lang="de"><head><meta charset="utf-8"><title>Scan</title></head><body>'
        f"<h1>{escape(agreement.title)}</h1><p>Unterzeichnete Ausfertigung (Demo-Scan), Duisburg, 7. März 2013</p>"
        f"{names}</body></html>"
    )
    return ContentFile(render_pdf_from_html(html, sealed=False), name="unterzeichnet.pdf")
