"""Demo surveys: a closed Duisburg campaign with results (about 12 % with migration background against an
estimate of 2–3 %, some cells suppressed) and an open Oberhausen campaign whose one-time links are printed.

Idempotent: a campaign that exists is left as it is. The Oberhausen links are new on every run (tokens are
never stored, only their hashes), so the printed links are always the ones that work."""

import datetime
import random

from django.utils import timezone

from vielfalt.models import Organisation, TargetGroup, User

from . import questionnaire as q
from .credentials import format_code
from .models import Campaign, Invitation, Response
from .services import (
    Answers,
    campaign_close,
    campaign_create,
    campaign_open,
    invitation_issue,
    invitations_create,
    offered_units,
    response_fields,
)
from .tasks import code_address, survey_link

INTRODUCTION = {
    "purpose": (
        "Wir möchten wissen, wie vielfältig unsere Belegschaft ist, um die interkulturelle Öffnung der "
        "Verwaltung zu planen und ihren Erfolg zu messen."
    ),
    "legal_basis": "Freiwillige Einwilligung (Art. 6 Abs. 1 lit. a, Art. 9 Abs. 2 lit. a DSGVO).",
}


def seed(*, stdout) -> None:
    _duisburg(stdout)
    _oberhausen(stdout)


def _duisburg(stdout) -> None:
    organisation = Organisation.objects.get(slug="duisburg")
    if Campaign.objects.filter(organisation=organisation, title="Beschäftigtenbefragung 2024").exists():
        return
    actor = User.objects.get(username="hr-duisburg")
    # Run through the services today (a campaign whose closing day has passed is not opened), dated to spring 2024
    # once closed.
    today = timezone.localdate()
    campaign = campaign_create(
        actor=actor,
        organisation=organisation,
        title="Beschäftigtenbefragung 2024",
        opens_on=today,
        closes_on=today + datetime.timedelta(days=30),
        k=5,
        previous_estimate="2–3 %",
        dpo_contact="Datenschutzbeauftragte der Stadt Duisburg, datenschutz@stadt-duisburg.example",
        contact="Personalamt, Befragungsteam, 0203 283-0, befragung@stadt-duisburg.example",
        **INTRODUCTION,
    )
    campaign_open(actor=actor, campaign=campaign)
    invitations = invitations_create(actor=actor, campaign=campaign)
    units = offered_units(campaign=campaign)
    rng = random.Random(2024)  # fixed: the same figures on every machine
    answered = rng.sample(invitations, k=round(len(invitations) * 0.7))
    Invitation.objects.filter(pk__in=[i.pk for i in answered]).update(used=True, counted=True)
    # About 12 %, most of them among public-facing staff, so that some groups show figures and others not.
    public_facing = [
        n
        for n, i in enumerate(answered)
        if i.employee and i.employee.target_group == TargetGroup.PUBLIC_FACING
    ]
    others = [n for n in range(len(answered)) if n not in public_facing]
    total = round(len(answered) * 0.12)
    with_background = set(rng.sample(public_facing, k=6)) | set(rng.sample(others, k=total - 6))
    responses = []
    for number, invitation in enumerate(answered):
        employee = invitation.employee  # None for a pooled code: its unit is known, not its holder
        unit = employee.org_unit if employee else invitation.org_unit
        target_group = employee.target_group if employee else TargetGroup.OTHER
        background = number in with_background
        birth_country = q.BirthCountry.ABROAD if background and rng.random() < 0.4 else q.BirthCountry.GERMANY
        answers = Answers(
            own_citizenship=q.Citizenship.NOT_GERMAN
            if background and rng.random() < 0.5
            else q.Citizenship.GERMAN,
            birth_country=birth_country,
            immigration_year=rng.randint(1975, 2015) if birth_country == q.BirthCountry.ABROAD else None,
            mother_citizenship=q.Citizenship.NOT_GERMAN if background else q.Citizenship.GERMAN,
            father_citizenship=rng.choice([q.Citizenship.NOT_GERMAN, q.Citizenship.GERMAN])
            if background
            else rng.choices([q.Citizenship.GERMAN, q.Citizenship.NO_ANSWER], [30, 1])[0],
            mother_immigrated=q.YesNo.YES if background and rng.random() < 0.6 else q.YesNo.NO,
            father_immigrated=q.YesNo.YES if background and rng.random() < 0.6 else q.YesNo.NO,
            target_group=target_group if rng.random() < 0.95 else q.NO_ANSWER,
            org_unit=unit if unit in units and rng.random() < 0.9 else None,
            org_unit_other=unit not in units,
            languages=tuple(
                ["de"]
                + (["tr"] if background and rng.random() < 0.5 else [])
                + (["en"] if rng.random() < 0.3 else [])
            ),
        )
        fields = response_fields(answers)
        responses.append(
            Response(campaign=campaign, questionnaire_version=campaign.questionnaire_version, **fields)
        )
    rng.shuffle(responses)
    Response.objects.bulk_create(responses)
    campaign_close(actor=actor, campaign=campaign)
    Campaign.objects.filter(pk=campaign.pk).update(
        opens_on=datetime.date(2024, 3, 1), closes_on=datetime.date(2024, 3, 31)
    )
    stdout.write(f"Survey: closed campaign of Duisburg with {len(responses)} of {len(invitations)} answers.")


def _oberhausen(stdout) -> None:
    organisation = Organisation.objects.get(slug="oberhausen")
    actor = User.objects.get(username="hr-oberhausen")
    campaign = Campaign.objects.filter(
        organisation=organisation, title="Vielfalt in der Stadtverwaltung"
    ).first()
    if campaign is None:
        today = datetime.date.today()
        campaign = campaign_create(
            actor=actor,
            organisation=organisation,
            title="Vielfalt in der Stadtverwaltung",
            opens_on=today,
            closes_on=today + datetime.timedelta(days=28),
            k=5,
            previous_estimate="unbekannt",
            dpo_contact="Datenschutzbeauftragter der Stadt Oberhausen, datenschutz@oberhausen.example",
            contact="Personalamt, Befragungsteam, 0208 825-0, befragung@oberhausen.example",
            **INTRODUCTION,
        )
        campaign_open(actor=actor, campaign=campaign)
        invitations_create(actor=actor, campaign=campaign)
    if not campaign.is_open:
        return
    stdout.write(
        "Survey links and codes of the open Oberhausen campaign (each works once; new on every run; "
        f"codes are typed at {code_address()}):"
    )
    for invitation in Invitation.objects.filter(campaign=campaign, used=False).order_by("pk"):
        credentials = invitation_issue(actor=actor, invitation=invitation)
        if credentials:
            stdout.write(f"  {format_code(credentials.code)}  {survey_link(credentials.token)}")
