"""The agreement PDF read back as text: title, parties, signatories, commitments; hostile text stays text."""

import re

import pytest

from partnerships.models import Side
from partnerships.services import agreement_pdf_bytes, agreement_render_pdf
from tests.helpers import pdf_text, printed_beyond_the_margin

from .factories import AgreementFactory, CommitmentFactory, SignatoryFactory

pytestmark = pytest.mark.django_db


def compact(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_pdf_contains_title_parties_signatories_and_commitments(agreement):
    text = pdf_text(agreement_pdf_bytes(agreement))
    flat = compact(text)
    assert compact("Vielfalt verbindet. Interkulturelle Öffnung als Erfolgsfaktor") in flat
    assert "Stadt Duisburg" in text
    assert "MAIS NRW" in text
    for name, function in [
        ("Sören Link", "Oberbürgermeister"),
        ("Guntram Schneider", "Minister"),
        ("Zülfiye Kaykin", "Staatssekretärin"),
    ]:
        assert name in text
        assert function in text
    for commitment in agreement.commitments.all():
        assert commitment.field_of_action in text
    assert "1 / 3" in text or re.search(r"(Page|Seite) 1 (of|von) \d", text)


def test_same_content_same_pdf_and_one_stored_version(agreement, staff):
    assert agreement_pdf_bytes(agreement, sealed=False) == agreement_pdf_bytes(agreement, sealed=False)
    first, created = agreement_render_pdf(agreement_id=agreement.pk, actor_id=staff.pk)
    again, created_again = agreement_render_pdf(agreement_id=agreement.pk, actor_id=staff.pk)
    assert (created, created_again, again) == (True, False, first)
    assert agreement.documents.count() == 1


def test_changed_content_gives_a_new_version(agreement, staff):
    agreement_render_pdf(agreement_id=agreement.pk, actor_id=staff.pk)
    CommitmentFactory(agreement=agreement, field_of_action="Freiwillige Befragung")
    document, created = agreement_render_pdf(agreement_id=agreement.pk, actor_id=staff.pk)
    assert (created, document.version) == (True, 2)
    assert "Freiwillige Befragung" in pdf_text(document.file.read())


def test_a_signed_agreement_is_dated_by_its_signing_and_its_pdf_stays_the_same_when_it_ends(staff, agreement):
    """Its life cycle after signing (signed → ended, also by the nightly expiry) changes no word of it: generating
    its PDF again gives the same document, dated the day it was signed, not a new version dated that night."""
    import datetime

    from django.utils import timezone

    from partnerships.models import Agreement
    from partnerships.services import agreement_transition

    from .conftest import make_signed

    make_signed(agreement)  # signed on 7 March 2013, marked signed in the portal the day after
    marked = timezone.make_aware(datetime.datetime(2013, 3, 8, 9))
    Agreement.objects.filter(pk=agreement.pk).update(updated_at=marked)
    first, _created = agreement_render_pdf(agreement_id=agreement.pk, actor_id=staff.pk)
    assert "Datum 07.03.2013" in pdf_text(first.file.read())
    agreement.refresh_from_db()
    agreement_transition(actor=staff, agreement=agreement, to_status="ended", reason="Laufzeit beendet")
    again, created = agreement_render_pdf(agreement_id=agreement.pk, actor_id=staff.pk)
    assert (created, again) == (False, first)
    assert agreement.documents.filter(kind="generated").count() == 1


def test_body_formatting_allows_lists_and_emphasis_only(duisburg, ministry):
    agreement = AgreementFactory(
        partner=duisburg,
        state_party=ministry,
        body="Einleitung mit **Nachdruck**.\n\n- erster Punkt\n- zweiter Punkt\n\n<b>kein HTML</b>",
    )
    text = pdf_text(agreement_pdf_bytes(agreement))
    assert "Nachdruck" in text
    assert "**" not in text
    assert "erster Punkt" in text
    assert "<b>kein HTML</b>" in text


def test_hostile_text_in_every_field_is_printed_and_fetches_nothing(
    duisburg, ministry, local_http_server, tmp_path
):
    secret = tmp_path / "secret.css"
    secret.write_text("body::after { content: 'READ-FROM-DISK'; }")
    hostile = (
        f'<img src="file:///etc/passwd"><link rel="stylesheet" href="{local_http_server}/evil.css">'
        f'<img src="{local_http_server}/pixel.png"><link rel="stylesheet" href="file://{secret}">'
        "{{ agreement.partner.pk }}{% now 'Y' %}"
    )
    agreement = AgreementFactory(
        partner=duisburg,
        state_party=ministry,
        title=hostile[:300],
        preamble=hostile,
        body=hostile,
        place=hostile[:200],
    )
    SignatoryFactory(agreement=agreement, side=Side.PARTNER, name=hostile[:200], function=hostile[:200])
    CommitmentFactory(
        agreement=agreement,
        field_of_action=hostile[:200],
        description=hostile,
        indicator=hostile[:200],
        unit="<img>",
    )
    text = pdf_text(agreement_pdf_bytes(agreement))
    flat = compact(text)
    assert flat.count(compact('<img src="file:///etc/passwd">')) >= 8
    assert compact("{{ agreement.partner.pk }}{% now 'Y' %}") in flat
    assert local_http_server.requests == []
    assert "READ-FROM-DISK" not in text
    assert "FETCHED-FROM-NETWORK" not in text
    assert "root:" not in text


def test_a_word_longer_than_the_line_breaks_instead_of_running_off_the_page(duisburg, ministry):
    """An address pasted into the title was cut at the page's edge: the document to sign lacked its end."""
    address = (
        "https://www.integration.nrw.de/dokumente/Leitfaden_Interkulturelle_Oeffnung_Stadtverwaltung_2026.pdf"
    )
    compound = "Integrationsbeauftragtenstellenbesetzungsverfahrensdurchführungsverordnungsentwurf"
    agreement = AgreementFactory(
        partner=duisburg, state_party=ministry, title=f"Vereinbarung {compound}", body=f"Siehe {address}."
    )
    SignatoryFactory(agreement=agreement, side=Side.PARTNER, name="Sören Link", function=compound[:120])
    CommitmentFactory(agreement=agreement, description=f"{compound} {address}", indicator=compound[:200])
    pdf = agreement_pdf_bytes(agreement, sealed=False)
    assert printed_beyond_the_margin(pdf) == []
    flat = compact(pdf_text(pdf))
    assert flat.count(compound) >= 3 and address in flat


def text_positions(pdf: bytes, label: str) -> list[tuple[int, float, float]]:
    """(page index, y, x) of every text run that reads exactly `label`, in PDF points."""
    import io

    from pypdf import PdfReader

    found = []
    for index, page in enumerate(PdfReader(io.BytesIO(pdf)).pages):

        def visit(text, cm, tm, font, size, index=index):
            if text.strip() == label:
                x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
                y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
                found.append((index, round(y, 1), round(x, 1)))

        page.extract_text(visitor_text=visit)
    return found


def test_house_layout_letterhead_reference_and_names_with_their_article(agreement, ministry, duisburg):
    ministry.name = "Ministerium für Arbeit, Integration und Soziales des Landes Nordrhein-Westfalen"
    ministry.article, ministry.address = "das", "Fürstenwall 25\n40219 Düsseldorf"
    ministry.save()
    duisburg.article = "die"
    duisburg.save()
    agreement.place = "Wanne-Eickel"
    agreement.save()
    pdf = agreement_pdf_bytes(agreement)
    flat = compact(pdf_text(pdf))
    assert compact("Fürstenwall 25 · 40219 Düsseldorf") in flat  # the issuing ministry's letterhead
    assert agreement.reference in pdf_text(pdf)
    assert compact("Für die Stadt Duisburg") in flat
    assert compact("Für das Ministerium für Arbeit, Integration und Soziales") in flat
    assert "Wanne-Eickel" not in pdf_text(pdf)  # no place pre-filled for anyone: each side writes its own


def test_both_sides_sign_on_one_baseline_grid_each_with_own_place_and_date(agreement):
    pdf = agreement_pdf_bytes(agreement)
    places = text_positions(pdf, "Ort")
    page = places[0][0]
    dates = [
        position for position in text_positions(pdf, "Datum") if position[0] == page
    ]  # not the letterhead's
    signatures = text_positions(pdf, "Unterschrift")
    assert len(places) == len(dates) == len(signatures) == 3  # one per signatory
    partner_row = sorted(places, key=lambda place: (place[0], -place[1]))[
        :2
    ]  # the first row: Sören Link beside Guntram Schneider
    assert partner_row[0][:2] == partner_row[1][:2]  # same page, same baseline
    assert partner_row[0][2] != partner_row[1][2]  # side by side
    first_signatures = sorted(signatures, key=lambda place: (place[0], -place[1]))[:2]
    assert first_signatures[0][:2] == first_signatures[1][:2]


def test_a_long_agreement_gets_a_cover_page_with_contents(agreement):
    import io

    from pypdf import PdfReader

    for number in range(6):
        CommitmentFactory(agreement=agreement, field_of_action=f"Weitere Maßnahme {number}")
    reader = PdfReader(io.BytesIO(agreement_pdf_bytes(agreement)))
    cover = compact(reader.pages[0].extract_text())
    assert "Inhalt" in cover
    assert "WeitereMaßnahme5" in cover
    signatures_page = next(
        number for number, page in enumerate(reader.pages, start=1) if "Sören Link" in page.extract_text()
    )
    assert re.search(rf"Unterschriften\.*{signatures_page}", cover), cover  # the contents know the page
    assert "Indikator" not in cover  # the text starts on the next page


def test_the_signatures_never_stand_alone_on_a_page(agreement):
    """A page of nothing but signatures could be put under another text: the page that is signed carries the
    end of the agreement's text, however the commitments fall."""
    import io

    from pypdf import PdfReader

    moved = False
    for number in range(4):
        pdf = agreement_pdf_bytes(agreement)
        pages = [compact(page.extract_text()) for page in PdfReader(io.BytesIO(pdf)).pages]
        signed = next(index for index, page in enumerate(pages) if "SörenLink" in page)
        moved = moved or signed > 0
        last = agreement.commitments.order_by("-order", "-pk").first()
        assert compact(last.field_of_action) in pages[signed], (number, pages[signed])
        if signed:  # and no more than needed went over: the page before is not left half empty
            lowest = lowest_text(pdf, signed - 1)
            assert lowest < 842 * 0.4, (number, lowest)
        CommitmentFactory(
            agreement=agreement, field_of_action=f"Weitere Maßnahme {number}", description="Text " * 60
        )
    assert moved  # the signatures did go over to a later page on the way


def lowest_text(pdf: bytes, index: int) -> float:
    """The height (points from the bottom) of the lowest text on page `index` above the footer."""
    import io

    from pypdf import PdfReader

    heights = []

    def visit(text, cm, tm, font, size):
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        if text.strip() and y > 90:  # the footer (operator, page x of y) sits below
            heights.append(y)

    PdfReader(io.BytesIO(pdf)).pages[index].extract_text(visitor_text=visit)
    return min(heights)


def test_a_short_agreement_keeps_its_text_on_the_first_page(duisburg, ministry):
    """Only the last commitment goes over with the signatures: keeping every last element with what follows
    chained the headings into one block and left the first page of a short draft half empty."""
    agreement = AgreementFactory(
        partner=duisburg,
        state_party=ministry,
        preamble="Die Stadt und das Land vereinbaren die interkulturelle Öffnung der Stadtverwaltung.",
        body="Entwurf – der Text wird mit der Stadt abgestimmt.",
    )
    SignatoryFactory(agreement=agreement, side=Side.STATE, name="Guntram Schneider", function="Minister")
    CommitmentFactory(agreement=agreement, field_of_action="Gemeinsame Schulungen", description="Text " * 30)
    pdf = agreement_pdf_bytes(agreement)
    first = compact(pdf_text_of_page(pdf, 0))
    # The agreement's text stays on the first page; the commitment goes over with the signatures.
    assert "Entwurf" in first and "Vereinbarung" in first, first
    second = compact(pdf_text_of_page(pdf, 1))
    assert "GemeinsameSchulungen" in second and "GuntramSchneider" in second, second


def pdf_text_of_page(pdf: bytes, index: int) -> str:
    import io

    from pypdf import PdfReader

    return PdfReader(io.BytesIO(pdf)).pages[index].extract_text()
