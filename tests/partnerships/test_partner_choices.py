"""The agreement form offers the choices of its partner only: the partner's org units for each commitment and
its signed agreements to amend, loaded into the form when a partner is chosen (htmx). Before, every form listed
every partner's units and signed agreements (at full scale 3 × 2,041 units and 1,101 agreements: 580 ms a page)."""

import datetime
import re

import pytest
from django.urls import reverse

from partnerships.models import Agreement

from .factories import AgreementFactory
from .test_views import agreement_post

pytestmark = pytest.mark.django_db

EMPTY = "– bitte auswählen –"  # Django's placeholder of a select, in German


def options(html: str, select_id: str) -> list[tuple[str, str]]:
    """(value, label) of each option of the select with this id."""
    select = re.search(rf'<select[^>]*id="{select_id}"[^>]*>(.*?)</select>', html, re.S)
    assert select, f"no select {select_id}"
    return re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select.group(1))


@pytest.fixture
def units(duisburg, oberhausen):
    for name in ("Bürgeramt", "Amt für Personal und Organisation"):
        duisburg.units.create(name=name)
    oberhausen.units.create(name="Jugendamt")
    return list(duisburg.units.all())


@pytest.fixture
def signed(duisburg, oberhausen, ministry):
    signed = {"status": Agreement.Status.SIGNED, "signed_on": datetime.date(2013, 3, 7)}
    own = AgreementFactory(partner=duisburg, state_party=ministry, title="Erste", **signed)
    AgreementFactory(partner=oberhausen, state_party=ministry, title="Fremde", **signed)
    AgreementFactory(partner=duisburg, state_party=ministry, title="Entwurf")  # a draft: nothing to amend
    return own


def test_a_new_agreement_offers_units_and_agreements_once_its_partner_is_chosen(
    client, staff, duisburg, units, signed
):
    client.force_login(staff)
    html = client.get(reverse("partnerships:create")).text
    for number in range(3):
        assert options(html, f"id_commitments-{number}-responsible_unit") == [("", EMPTY)]
    assert options(html, "id_amends") == [("", EMPTY)]
    partner = re.search(r'<select name="partner"[^>]*>', html).group(0)
    assert f'data-hx-get="{reverse("partnerships:partner_choices")}"' in partner
    assert 'data-hx-trigger="change"' in partner

    # What the browser loads when Duisburg is chosen: its units into each commitment's select, its signed
    # agreement into "amends".
    response = client.get(
        reverse("partnerships:partner_choices"), {"partner": duisburg.pk, "commitments-TOTAL_FORMS": "3"}
    )
    assert response.status_code == 200
    expected = [("", EMPTY)] + [(str(unit.pk), unit.name) for unit in sorted(units, key=lambda u: u.name)]
    for number in range(3):
        assert options(response.text, f"id_commitments-{number}-responsible_unit") == expected
        assert f'id="id_commitments-{number}-responsible_unit" data-hx-swap-oob="innerHTML"' in response.text
    assert [label for _value, label in options(response.text, "id_amends")] == [EMPTY, "Erste (07.03.2013)"]
    assert "id_commitments-3-" not in response.text


def test_a_submitted_form_offers_the_submitted_partner_s_choices(
    client, staff, duisburg, oberhausen, ministry, units
):
    client.force_login(staff)
    data = agreement_post(
        duisburg,
        ministry,
        signatories=[],
        commitments=[{"field_of_action": "Schulungen", "description": "", "responsible_unit": units[0].pk}],
        valid_until="2000-01-01",  # before valid_from: the form comes back
    )
    response = client.post(reverse("partnerships:create"), data)
    assert response.status_code == 422
    assert [label for _value, label in options(response.text, "id_commitments-0-responsible_unit")] == [
        EMPTY,
        *sorted(unit.name for unit in units),
    ]
    # A unit of another partner is not among the choices.
    foreign = oberhausen.units.get()
    data["commitments-0-responsible_unit"] = foreign.pk
    data["valid_until"] = ""
    response = client.post(reverse("partnerships:create"), data)
    assert response.status_code == 422
    assert not Agreement.objects.exists()


def test_the_edit_form_offers_the_agreement_s_partner_s_choices_only(client, staff, agreement, units, signed):
    client.force_login(staff)
    html = client.get(reverse("partnerships:update", args=[agreement.pk])).text
    assert [label for _value, label in options(html, "id_commitments-0-responsible_unit")] == [
        EMPTY,
        *sorted(unit.name for unit in units),
    ]
    assert [label for _value, label in options(html, "id_amends")] == [EMPTY, "Erste (07.03.2013)"]
    assert f'data-hx-vals="{{&quot;agreement&quot;: {agreement.pk}}}"' in html  # left out of its own choices
    response = client.get(
        reverse("partnerships:partner_choices"),
        {"partner": agreement.partner_id, "agreement": signed.pk, "commitments-TOTAL_FORMS": "1"},
    )
    assert [label for _value, label in options(response.text, "id_amends")] == [EMPTY]


def test_only_ministry_staff_get_a_partner_s_choices(client, hr_duisburg, staff, duisburg, ministry, units):
    url = reverse("partnerships:partner_choices")
    client.force_login(hr_duisburg)
    assert client.get(url, {"partner": duisburg.pk}).status_code == 403
    client.force_login(staff)
    assert client.get(url, {"partner": ministry.pk}).status_code == 404  # a ministry is no partner
    assert client.get(url, {"partner": "1 OR 1=1"}).status_code == 404
    response = client.get(url, {"partner": duisburg.pk, "commitments-TOTAL_FORMS": "100000"})
    assert response.text.count("responsible_unit") == 50  # no more rows than a form may have
    duisburg.units.create(name='<img src=x onerror="alert(1)">')
    response = client.get(url, {"partner": duisburg.pk, "commitments-TOTAL_FORMS": "1"})
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in response.text
    assert "<img" not in response.text
