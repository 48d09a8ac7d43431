"""Short codes to type from paper, code sheets without names, and `/umfrage/` (issue 13)."""

import io
import ipaddress
import math
import re
import subprocess
import uuid

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from pypdf import PdfReader

from surveys import credentials, services
from surveys.models import Campaign, HeldAnswer, Invitation
from tests.factories import EmployeeFactory, OrganisationFactory, OrgUnitFactory, hr_user
from tests.helpers import printed_beyond_the_margin
from tests.surveys.conftest import DEFAULT_ANSWERS, form_key, make_campaign
from vielfalt.models import AuditEntry, Job


def test_codes_have_at_least_60_bits_in_groups_of_four_without_look_alikes():
    assert len(credentials.CODE_ALPHABET) ** credentials.CODE_LENGTH >= 2**60
    assert math.log2(len(credentials.CODE_ALPHABET)) * credentials.CODE_LENGTH >= 60
    assert not set("ILOU") & set(credentials.CODE_ALPHABET)
    code, digest = credentials.new_code()
    shown = credentials.format_code(code)
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}", shown)
    # Typing is forgiving; the stored hash is keyed (a plain SHA-256 of 60 bits could be tried offline).
    typed = f" {shown.lower().replace('0', 'o').replace('1', 'l')} "
    assert credentials.normalise_code(typed) == code
    assert credentials.code_hash(code) == digest
    assert digest != __import__("hashlib").sha256(code.encode()).hexdigest()
    assert credentials.normalise_code("ABCD-EFGH-JKM") is None
    assert credentials.normalise_code("ABCD-EFGH-JKMU") is None


def _campaign_with_staff_without_email():
    organisation = OrganisationFactory()
    hr = hr_user(organisation)
    works, yard = (OrgUnitFactory(organisation=organisation, name=n) for n in ("Bauhof", "Bürgeramt"))
    EmployeeFactory.create_batch(3, organisation=organisation, org_unit=works, email="")
    EmployeeFactory.create_batch(2, organisation=organisation, org_unit=works)
    EmployeeFactory.create_batch(4, organisation=organisation, org_unit=yard, email="")
    campaign = make_campaign(organisation=organisation, actor=hr, k=3, contact="Personalamt, 0203 1")
    services.campaign_open(actor=hr, campaign=campaign)
    services.invitations_create(actor=hr, campaign=campaign)
    return campaign, hr, works, yard


@pytest.mark.django_db
def test_staff_without_email_get_a_pool_of_unnamed_codes_per_unit_counted_for_the_unit():
    campaign, hr, works, yard = _campaign_with_staff_without_email()
    pooled = Invitation.objects.filter(campaign=campaign, employee__isnull=True)
    assert {
        (u, n)
        for u, n in pooled.values_list("org_unit__name").annotate(
            n=__import__("django.db.models", fromlist=["Count"]).Count("pk")
        )
    } == {("Bauhof", 3), ("Bürgeramt", 4)}
    # Inviting again tops up nothing; a new employee without e-mail adds one code to the unit's pool.
    assert services.invitations_create(actor=hr, campaign=campaign) == []
    EmployeeFactory(organisation=campaign.organisation, org_unit=works, email="")
    assert len(services.invitations_create(actor=hr, campaign=campaign)) == 1
    rows = {row["org_unit__name"]: row for row in services.unit_participation(campaign=campaign)}
    assert (rows["Bauhof"]["invited"], rows["Bürgeramt"]["invited"]) == (6, 4)
    assert [u.name for u in services.offered_units(campaign=campaign)] == ["Bauhof", "Bürgeramt"]
    # The results list the units offered, also one reached by code sheets alone.
    from surveys.results import campaign_results

    services.campaign_close(actor=hr, campaign=campaign)
    assert [row.label for row in campaign_results(campaign).by_unit][:2] == ["Bauhof", "Bürgeramt"]


@pytest.mark.django_db
def test_code_sheets_are_din_letters_without_names_whose_codes_work_logged_out(
    client, django_capture_on_commit_callbacks
):
    campaign, hr, works, yard = _campaign_with_staff_without_email()
    campaign.organisation.name = "Stadt Mülheim an der Ruhr"
    campaign.organisation.address = "Schwartzstraße 72\n46045 Oberhausen"
    campaign.organisation.save()
    client.force_login(hr)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("surveys:code_sheets", args=[campaign.pk]))
    job = Job.objects.get(kind="surveys.render_code_sheets")
    job.refresh_from_db()
    assert job.status == Job.Status.READY, job.error
    reader = PdfReader(job.result_file.open("rb"))
    pages = [page.extract_text() for page in reader.pages]
    assert len(pages) == 7  # one sheet per pooled code, no e-mail invitee among them
    names = [
        name
        for employee in campaign.organisation.employees.all()
        for name in (employee.first_name, employee.last_name)
    ]
    for text in pages:
        assert not [name for name in names if name in text]
        for part in (
            campaign.organisation.name,
            "Personalamt",
            "Liebe Kolleginnen und Kollegen",
            "freiwillig",
            "anonym",
            "Personalamt, 0203 1",  # contact
            "datenschutz@stadt.example",  # data protection officer
            "Mit freundlichen Grüßen",
            f"{settings.PORTAL_URL}/surveys/t/",
            f"{settings.PORTAL_URL}/umfrage/",
        ):
            assert part in text, (part, text)
    assert sum("Bauhof" in text for text in pages) == 3
    for text in pages:
        # DIN 5008: the return address above the address (here on two lines of its zone: on one, it ran 10 mm past
        # the envelope's window); a letter without a signature says why it needs none.
        flowing = " ".join(text.split())
        address = " · ".join(campaign.organisation.address.splitlines())
        assert f"{campaign.organisation.name} · Personalamt · {address}" in flowing
        assert "maschinell erstellt und ist ohne Unterschrift gültig" in flowing
    codes = [re.search(r"\b[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}\b", text).group(0) for text in pages]
    assert len(set(codes)) == 7
    # Printing again prints only codes not yet printed: none.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("surveys:code_sheets", args=[campaign.pk]))
    assert (
        len(
            PdfReader(
                Job.objects.filter(kind="surveys.render_code_sheets")
                .latest("created_at")
                .result_file.open("rb")
            ).pages
        )
        == 1
    )
    # The typed code opens the survey for someone with no account.
    respondent = Client(enforce_csrf_checks=True)
    form = respondent.get("/umfrage/")
    assert form.status_code == 200
    token = form.context["csrf_token"]
    opened = respondent.post("/umfrage/", {"code": codes[0].lower(), "csrfmiddlewaretoken": str(token)})
    assert opened.status_code == 302
    assert opened["Location"] == "/surveys/answer/"
    page = respondent.get("/surveys/answer/")
    assert page.status_code == 200
    key = form_key(respondent)
    assert respondent.post("/surveys/answer/", {**DEFAULT_ANSWERS, "form_key": key}).status_code == 302
    assert HeldAnswer.objects.count() == 1
    assert Client().get("/survey/").status_code == 200


FORM_KEY = re.compile(r'name="form_key" value="([^"]*)"')
NONCE = re.compile(r'nonce="[^"]*"')


def _walk(code: str) -> list[tuple]:
    """What a browser that types `code` gets back, page by page: the code form, the questionnaire, sending it,
    the thanks. The form's key and the script nonce are random per visit and blanked out; everything else must
    be byte for byte."""
    client = Client()
    seen = []
    typed = client.post("/umfrage/", {"code": code})
    seen.append((typed.status_code, typed.get("Location"), NONCE.sub("…", typed.content.decode())))
    page = client.get("/surveys/answer/")
    key = FORM_KEY.search(page.content.decode()).group(1)
    seen.append((page.status_code, NONCE.sub("…", FORM_KEY.sub("…", page.content.decode()))))
    sent = client.post("/surveys/answer/", {**DEFAULT_ANSWERS, "form_key": key})
    seen.append((sent.status_code, sent.get("Location"), NONCE.sub("…", sent.content.decode())))
    thanks = client.get("/surveys/answer/")
    seen.append((thanks.status_code, NONCE.sub("…", thanks.content.decode())))
    return seen


@pytest.mark.django_db
def test_a_used_and_an_unused_code_answer_the_same_pages_byte_for_byte():
    campaign, hr, works, yard = _campaign_with_staff_without_email()
    used, unused = (
        services.invitation_issue(actor=hr, invitation=i).code
        for i in Invitation.objects.filter(campaign=campaign, employee__isnull=True)[:2]
    )
    _walk(used)  # its holder answered
    assert Invitation.objects.filter(campaign=campaign, used=True).count() == 1
    assert _walk(used) == _walk(unused)
    assert _walk(used)[0][:2] == (302, "/surveys/answer/")


@pytest.mark.django_db
def test_typing_attempts_are_limited_per_address(settings):
    settings.SURVEY_CODE_FAILURE_LIMIT = 3
    campaign, hr, works, yard = _campaign_with_staff_without_email()
    code = services.invitation_issue(
        actor=hr, invitation=Invitation.objects.filter(campaign=campaign).first()
    ).code
    # Addresses of their own: the throttle's counts live in the shared cache (Redis) across test runs.
    guesser = Client(REMOTE_ADDR=f"guesser-{uuid.uuid4()}")
    for _ in range(3):
        assert guesser.post("/umfrage/", {"code": "AAAA-BBBB-CCCC"}).status_code == 422
    refused = guesser.post("/umfrage/", {"code": code})
    assert refused.status_code == 429
    assert b'id="code-throttled"' in refused.content
    # Another address is not affected.
    assert Client(REMOTE_ADDR=f"other-{uuid.uuid4()}").post("/umfrage/", {"code": code}).status_code == 302


def _address() -> str:
    """An address of its own (the throttle's counts live in the shared cache across test runs)."""
    return str(ipaddress.IPv6Address(uuid.uuid4().int))


@pytest.mark.django_db
def test_behind_the_proxy_typing_attempts_are_limited_per_client_not_for_everyone(settings):
    """Behind the TLS proxy every request came from the proxy's address: a city's typing mistakes were counted
    together, and thirty of them closed the code form for everyone. The client is the address the proxy
    appended to X-Forwarded-For; what the client wrote before it does not count."""
    settings.SURVEY_CODE_FAILURE_LIMIT, settings.TRUSTED_PROXIES = 3, 1
    campaign, hr, works, yard = _campaign_with_staff_without_email()
    code = services.invitation_issue(
        actor=hr, invitation=Invitation.objects.filter(campaign=campaign).first()
    ).code
    proxy, guesser = _address(), _address()
    for _ in range(3):
        forged = _address()  # a new made-up address before the one the proxy appends, each time
        response = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=f"{forged}, {guesser}").post(
            "/umfrage/", {"code": "AAAA-BBBB-CCCC"}
        )
        assert response.status_code == 422
    refused = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=f"{_address()}, {guesser}").post(
        "/umfrage/", {"code": code}
    )
    assert refused.status_code == 429
    colleague = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=_address())
    assert colleague.post("/umfrage/", {"code": code}).status_code == 302


def _send_invitations(campaign, hr, capture, **kwargs) -> list[str]:
    """Run the invitation (or, with reminder=True, reminder) job as the pages start it; the addresses written to."""
    from django.core import mail

    from surveys.tasks import task_send_invitations
    from vielfalt.jobs import job_enqueue

    mail.outbox = []
    with capture(execute=True):
        job_enqueue(
            task=task_send_invitations,
            kind="surveys.send_invitations",
            campaign_id=campaign.pk,
            actor_id=hr.pk,
            **kwargs,
        )
    return [message.to[0] for message in mail.outbox]


@pytest.mark.django_db
def test_reminders_go_only_to_email_invitees_who_have_not_answered(django_capture_on_commit_callbacks):
    campaign, hr, works, yard = _campaign_with_staff_without_email()
    assert len(_send_invitations(campaign, hr, django_capture_on_commit_callbacks)) == 2
    Invitation.objects.filter(campaign=campaign, employee__isnull=False).filter(
        pk=Invitation.objects.filter(campaign=campaign, employee__isnull=False).first().pk
    ).update(used=True)
    assert len(_send_invitations(campaign, hr, django_capture_on_commit_callbacks, reminder=True)) == 1
    assert Campaign.objects.get(pk=campaign.pk).is_open


@pytest.mark.django_db
def test_someone_who_has_left_is_neither_invited_nor_reminded(django_capture_on_commit_callbacks):
    """An invitation stays (it counts for the response rate as before), but its e-mail no longer goes out once HR
    has marked the person as left: the invitation and the reminders went to people no longer on the staff."""
    from vielfalt.services import employee_update

    campaign, hr, works, yard = _campaign_with_staff_without_email()
    first, second = (i.employee for i in Invitation.objects.filter(campaign=campaign, employee__isnull=False))
    employee_update(actor=hr, employee=first, is_active=False)
    assert _send_invitations(campaign, hr, django_capture_on_commit_callbacks) == [second.email]
    employee_update(actor=hr, employee=second, is_active=False)
    assert _send_invitations(campaign, hr, django_capture_on_commit_callbacks, reminder=True) == []
    assert Invitation.objects.filter(campaign=campaign, employee__isnull=False).count() == 2


def _sheet_codes(job) -> list[str]:
    reader = PdfReader(job.result_file.open("rb"))
    texts = [page.extract_text() for page in reader.pages]
    return [
        m.group(0) for text in texts if (m := re.search(r"\b[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}\b", text))
    ]


@pytest.mark.django_db
def test_hr_reprints_a_units_lost_code_sheets_with_fresh_codes_and_the_old_unused_ones_stop_working(
    client, django_capture_on_commit_callbacks
):
    campaign, hr, works, yard = _campaign_with_staff_without_email()
    client.force_login(hr)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("surveys:code_sheets", args=[campaign.pk]))
    first = _sheet_codes(Job.objects.get(kind="surveys.render_code_sheets"))
    pool = Invitation.objects.filter(campaign=campaign, org_unit=works, employee__isnull=True)
    works_codes = [
        c for c in first if pool.filter(code_hash=credentials.code_hash(c.replace("-", ""))).exists()
    ]
    assert len(works_codes) == 3
    # One sheet of the Bauhof is used; the other two get lost.
    used = works_codes[0]
    respondent = Client()
    respondent.post("/umfrage/", {"code": used})
    key = FORM_KEY.search(respondent.get("/surveys/answer/").content.decode()).group(1)
    respondent.post("/surveys/answer/", {**DEFAULT_ANSWERS, "form_key": key})

    page = client.get(reverse("surveys:campaign_detail", args=[campaign.pk]))
    assert [p["org_unit__name"] for p in page.context["pooled_units"]] == ["Bauhof", "Bürgeramt"]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("surveys:code_sheets", args=[campaign.pk]), {"unit": str(works.pk)})
    job = Job.objects.filter(kind="surveys.render_code_sheets").latest("created_at")
    assert response["Location"] == job.get_absolute_url()
    assert job.status == Job.Status.READY, job.error
    text = "".join(page.extract_text() for page in PdfReader(job.result_file.open("rb")).pages)
    assert "Bauhof" in text and "Bürgeramt" not in text
    assert "ersetzt die" in text  # says that the earlier sheets of the unit no longer work
    fresh = _sheet_codes(job)
    # Fresh codes for the unit's unused remainder: the pool keeps its size, so the unit's count stays right.
    assert len(fresh) == 2 and not set(fresh) & set(first)
    assert pool.count() == 3
    assert services.unit_participation(campaign=campaign)[0]["invited"] == 5  # 2 e-mail + 3 codes, as before
    # The lost sheets no longer open the survey, nor does the used one (old sheets all fail alike); the fresh
    # ones do.
    for old in works_codes:
        assert Client().post("/umfrage/", {"code": old}).status_code == 422
    assert [step[0] for step in _walk(fresh[0])] == [302, 200, 302, 200]
    assert Invitation.objects.filter(campaign=campaign, used=True).count() == 2
    # The other unit's sheets still work; the reprint is in the audit log, by unit, not by number.
    assert _walk(first[-1])[0][:2] == (302, "/surveys/answer/")
    entry = AuditEntry.objects.filter(object_repr__contains="Bauhof").get()
    assert "2" not in str(entry.changes)
    # Only a unit with a pool can be reprinted.
    client.post(reverse("surveys:code_sheets", args=[campaign.pk]), {"unit": "999999"})
    assert Job.objects.filter(kind="surveys.render_code_sheets").count() == 2


@pytest.mark.django_db
def test_the_campaign_page_reads_its_invitations_once(client):
    """A city's campaign has 20,000 invitations: the page's counts, units and pools come from their counts
    (PostgreSQL, kept by triggers) or one statement over them (SQLite), and say what the three separate
    readings said."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    campaign, hr, works, yard = _campaign_with_staff_without_email()
    EmployeeFactory(organisation=campaign.organisation, org_unit=None, email="")  # a pool without a unit
    services.invitations_create(actor=hr, campaign=campaign)
    client.force_login(hr)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("surveys:campaign_detail", args=[campaign.pk]))
    reading = [q["sql"] for q in queries.captured_queries if 'FROM "surveys_invitation"' in q["sql"]]
    assert len(reading) == (0 if connection.vendor == "postgresql" else 1), reading
    figures = services.campaign_figures(campaign=campaign)
    assert figures.counts == {"invited": 10, "answered": 0, "sent": 0, "without_email": 8}
    assert [(u["org_unit__name"], u["invited"]) for u in figures.units] == [
        ("Bauhof", 5),
        ("Bürgeramt", 4),
        (None, 1),
    ]
    assert [p["org_unit__name"] for p in figures.pools] == ["Bauhof", "Bürgeramt", None]
    assert response.context["unit_participation"] == figures.units
    assert response.context["pooled_units"] == figures.pools


def _words(pdf: bytes, *, page: int) -> list[tuple[float, float, float, float, str]]:
    """The words of a page with their boxes in millimetres from the top left (`pdftotext -bbox`)."""
    bbox = subprocess.run(
        ["pdftotext", "-f", str(page), "-l", str(page), "-bbox", "-", "-"],
        input=pdf,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.decode()
    found = re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', bbox
    )
    return [(*(float(value) * 25.4 / 72 for value in box), word) for *box, word in found]


def _lines(page) -> list[tuple[str, float]]:
    """The page's runs of text in reading order, each with its baseline's height from the bottom (points)."""
    lines = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            lines.append((text.strip(), tm[5] * cm[3] + cm[5]))

    page.extract_text(visitor_text=visit)
    return lines


@pytest.mark.django_db
def test_a_code_sheet_holds_its_code_and_closing_with_the_longest_texts_a_campaign_takes(
    client, django_capture_on_commit_callbacks
):
    """Each sheet is a one-page letter whose text cannot flow onto a second page: a purpose of 1,400 characters
    (the field took any length) pushed the closing off the page's end, one of 4,000 the code and the link too, on
    every sheet, without a word. The form now takes what fits, and the longest of everything fits; a long unit name
    or contact, which lay over the letter's subject, pushes the text down instead; the issuer's name at its
    longest stays in the letterhead, its return address in the envelope's window, and the closing names the
    personnel office only (the name took three more lines there and pushed "maschinell erstellt" off the page)."""
    from surveys.forms import CampaignForm

    campaign, hr, works, yard = _campaign_with_staff_without_email()
    limits = {field.name: field.max_length for field in Campaign._meta.fields}
    limits["contact"] = CampaignForm.CONTACT_MAX_LENGTH
    longest = {
        name: (text * 100)[: limits[name]]
        for name, text in (
            (
                "purpose",
                "Wir möchten wissen, wie vielfältig unsere Verwaltung ist, um Angebote zu verbessern. ",
            ),
            ("contact", "Personalamt, Frau Beispiel, 0203 123-4567; "),
            ("dpo_contact", "Datenschutzbeauftragte der Stadt, datenschutz@stadt.example; "),
            ("title", "Beschäftigtenbefragung zur Vielfalt "),
        )
    }
    Campaign.objects.filter(pk=campaign.pk).update(**longest)
    works.name = ("Fachbereich Kinder, Jugend und Familie / Abteilung Tagesbetreuung " * 5)[
        :200
    ]  # the longest
    works.save()
    organisation = campaign.organisation
    organisation.name = ("Landschaftsverband Westfalen-Lippe, Abteilung Personal " * 4)[:200]
    organisation.address = "Freiherr-vom-Stein-Platz 1\n48133 Münster"
    organisation.save()
    client.force_login(hr)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("surveys:code_sheets", args=[campaign.pk]))
    job = Job.objects.get(kind="surveys.render_code_sheets")
    assert job.status == Job.Status.READY, job.error
    pdf = job.result_file.open("rb").read()
    # The return address stays in the envelope's window (its zone: 25 to 110 mm across, 45 to 62.7 mm down) and
    # the letterhead above it: on one line, a name of 25 characters with its address ran past the window, one of
    # 110 past the paper's edge.
    assert not printed_beyond_the_margin(pdf, right_margin_mm=10)  # DIN 5008's information block ends there
    for x_min, y_min, x_max, y_max, word in _words(pdf, page=1):
        if y_min < 45:
            assert y_max <= 45, word  # the letterhead
        elif y_min < 62.7 and x_min < 110:
            assert x_max <= 110 and y_max <= 62.7, word  # the return address
    reader = PdfReader(io.BytesIO(pdf))
    pages = [" ".join(page.extract_text().split()) for page in reader.pages]
    assert len(pages) == 7
    for page in reader.pages:
        lines = _lines(page)
        subject = next(y for text, y in lines if text.startswith("Freiwillige, anonyme"))
        above = lines[
            : [text for text, _ in lines].index(next(t for t, _ in lines if t.startswith("Freiwillige")))
        ]
        assert (
            min(y for _, y in above) > subject + 10
        )  # the address field and the information block end above it
    for text in pages:
        assert re.search(r"\b[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}\b", text) and "/surveys/t/" in text
        assert "Mit freundlichen Grüßen" in text and "maschinell erstellt" in text
    # One character more is refused, with the form's message at the field.
    data = {
        "title": "Befragung",
        "opens_on": "2099-01-01",
        "closes_on": "2099-01-31",
        "k": "5",
        "purpose": longest["purpose"] + "x",
        "legal_basis": "Einwilligung",
        "dpo_contact": "dsb@stadt.example",
        "organisation": campaign.organisation.pk,
    }
    form = CampaignForm(data, user=hr)
    assert not form.is_valid() and list(form.errors) == ["purpose"]
    data.update(purpose=longest["purpose"], contact=longest["contact"] + "x")
    form = CampaignForm(data, user=hr)
    assert not form.is_valid() and list(form.errors) == ["contact"]


@pytest.mark.django_db
def test_after_a_reprint_an_old_used_sheet_and_an_old_unused_one_fail_alike():
    """A reprint replaces the codes of the unit's unused sheets. The used sheets' codes kept working, so
    whoever holds an old sheet (HR collects them, or noted which sheet it handed to whom) could type it after
    the reprint: the questionnaire meant its holder had answered, "not valid" that they had not. Now every old
    sheet of the unit stops working, used or not."""
    campaign, hr, works, _yard = _campaign_with_staff_without_email()
    campaign.refresh_from_db()
    pool = Invitation.objects.filter(campaign=campaign, org_unit=works, employee__isnull=True)
    printed = [
        services.invitation_issue(actor=hr, invitation=invitation)
        for invitation in pool.select_related("campaign")
    ]
    used, unused = printed[0], printed[1]
    answers = services.Answers(
        own_citizenship="german",
        birth_country="germany",
        immigration_year=None,
        mother_citizenship="german",
        father_citizenship="german",
        mother_immigrated="no",
        father_immigrated="no",
        target_group="other",
        org_unit=None,
        org_unit_other=False,
        languages=(),
    )
    services.response_submit(credential=services.credential_for_code(used.code), answers=answers)
    services.code_sheets_reissue(actor=hr, campaign=campaign, unit_id=works.pk)

    def typed(code) -> tuple:
        response = Client().post("/umfrage/", {"code": code})
        return response.status_code, response.get("Location")

    def linked(token) -> tuple:
        client = Client()
        client.get(f"/surveys/t/{token}/")
        response = client.get("/surveys/answer/")
        return response.status_code, response.templates[0].name

    assert typed(used.code) == typed(unused.code) == (422, None)
    assert linked(used.token) == linked(unused.token) == (404, "surveys/link_invalid.html")
    assert pool.filter(used=True).count() == 1  # the answer stays counted


@pytest.mark.django_db
def test_an_employee_given_an_e_mail_address_leaves_the_unit_s_pool_of_unprinted_codes():
    """The pool of a unit has a code for each of its staff without e-mail. When HR then recorded an address for
    one of them and invited again, the employee got an e-mail invitation, but the pool kept their code: one
    person counted twice as invited, and a sheet printed for nobody (a working code in HR's hands)."""
    campaign, hr, works, yard = _campaign_with_staff_without_email()
    pool = Invitation.objects.filter(campaign=campaign, org_unit=yard, employee__isnull=True)
    assert pool.count() == 4
    # The Bürgeramt's codes are printed; then two of its staff get an address.
    campaign.refresh_from_db()
    for invitation in pool.select_related("campaign")[:4]:
        services.invitation_issue(actor=hr, invitation=invitation)
    staff = list(campaign.organisation.employees.filter(org_unit=yard))
    for number, employee in enumerate(staff[:2]):
        employee.email = f"person{number}@stadt.example"
        employee.save()
    services.invitations_create(actor=hr, campaign=campaign)
    # Printed sheets are out and stay; the count says so.
    assert pool.count() == 4
    # The Bauhof's codes are not printed yet: one of its staff without e-mail gets an address.
    works_pool = Invitation.objects.filter(campaign=campaign, org_unit=works, employee__isnull=True)
    employee = campaign.organisation.employees.filter(org_unit=works, email="").first()
    employee.email = "bauhof@stadt.example"
    employee.save()
    assert len(services.invitations_create(actor=hr, campaign=campaign)) == 1
    assert works_pool.count() == 2
    rows = {row["org_unit__name"]: row["invited"] for row in services.unit_participation(campaign=campaign)}
    assert rows == {"Bauhof": 5, "Bürgeramt": 6}


@pytest.mark.django_db
def test_the_refused_code_form_says_how_long_to_wait_as_configured(settings):
    """It said "a quarter of an hour" (easy: "15 minutes") whatever SURVEY_CODE_COOLOFF_SECONDS was."""
    from surveys.views import EASY_COOKIE

    settings.SURVEY_CODE_FAILURE_LIMIT, settings.SURVEY_CODE_COOLOFF_SECONDS = 1, 60 * 60
    guesser = Client(REMOTE_ADDR=_address())
    guesser.post("/umfrage/", {"code": "AAAA-BBBB-CCCC"})
    refused = guesser.post("/umfrage/", {"code": "AAAA-BBBB-CCCC"}).content.decode()
    assert "Bitte warten Sie 60 Minuten und versuchen Sie es dann erneut" in refused
    guesser.cookies[EASY_COOKIE] = "1"
    refused = guesser.get("/umfrage/").content.decode()
    assert "Bitte warten Sie 60 Minuten. Dann versuchen Sie es noch einmal." in refused
