"""The list of commitments behind the dashboard's progress chart: a page of 50 at a time, each commitment with
the progress and computed value the programme's figures give it, in the same order; the progress computed by
the database from the dashboard's own figures instead of every commitment and report read as model instances
(at full scale 10,000 commitments, 2,558 of them behind, on one page: 330–540 ms)."""

import datetime
import re

import pytest
from django.urls import reverse

from partnerships.models import ProgressReport
from vielfalt.programme.figures import programme

from .conftest import make_partner

pytestmark = pytest.mark.django_db


def listed(client, query: dict) -> list[tuple[int, str]]:
    """(agreement id, progress label) of each row on every page, and the total the page states."""
    rows, number = [], 1
    while True:
        response = client.get(reverse("dashboard_commitments"), {**query, "page": number})
        assert response.status_code == 200
        rows += [
            (figure.commitment.pk, figure.progress, figure.computed) for figure in response.context["figures"]
        ]
        assert len(response.context["figures"]) <= 50
        if not response.context["page_obj"].has_next():
            return rows, response.text
        assert f"page={number + 1}" in response.text
        number += 1


@pytest.fixture
def many(ministry):
    """27 partners of three commitments each (one fills itself from trainings, one is long overdue, one has
    no target), some with progress reports."""
    partners = [
        make_partner(index, survey=None, trained=(index % 3, 0, 0, 0), posts=(index % 11,))
        for index in range(27)
    ]
    for partner in partners[::4]:
        for commitment in partner.agreements.get().commitments.all():
            ProgressReport.objects.create(
                commitment=commitment, reported_on=datetime.date(2016, 1, 1), value_reached=150
            )
    return partners


@pytest.mark.parametrize("progress", ["", "behind", "done", "on_track"])
def test_the_pages_hold_every_commitment_with_the_figures_progress(client, staff, many, progress):
    client.force_login(staff)
    expected = [
        (figure.commitment.pk, figure.progress, figure.computed)
        for figure in programme().commitments
        if figure.progress == progress or not progress
    ]
    rows, html = listed(client, {"progress": progress} if progress else {})
    assert rows == expected
    assert f"{len(expected)} Maßnahme" in html


def test_a_page_shows_fifty_commitments_and_links_the_next(client, staff, many):
    client.force_login(staff)
    response = client.get(reverse("dashboard_commitments"))
    assert len(re.findall(r"<tr>\s*<td>Partner", response.text)) == 50
    assert "81 Maßnahmen" in response.text
    assert "Seite 1 von 2" in response.text


def test_one_agreement_s_commitments(client, staff, many):
    agreement = many[5].agreements.get()
    client.force_login(staff)
    rows, _html = listed(client, {"agreement": agreement.pk})
    assert [pk for pk, _progress, _computed in rows] == list(
        agreement.commitments.order_by("order", "pk").values_list("pk", flat=True)
    )


@pytest.mark.parametrize(
    ("progress", "title"),
    [
        ("", "Maßnahmen"),
        ("behind", "Maßnahmen: im Verzug"),
        ("on_track", "Maßnahmen: im Plan"),
        ("done", "Maßnahmen: erledigt"),
        ("nonsense", "Maßnahmen"),
    ],
)
def test_the_title_names_the_filter_as_the_heading_does(client, staff, progress, title):
    client.force_login(staff)
    html = client.get(reverse("dashboard_commitments"), {"progress": progress}).text
    assert re.search(r"<title>(.*?) – Vielfalt verbindet</title>", html).group(1) == title
    assert re.search(r"<h1>(.*?)</h1>", html).group(1) == title
