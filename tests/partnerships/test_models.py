"""Who sees which agreement, and the invariants the database itself enforces."""

import datetime

import pytest
from django.db import IntegrityError, transaction

from partnerships.formatting import render_text
from partnerships.models import Agreement, AgreementDocument
from tests.factories import UserFactory

from .factories import AgreementFactory

pytestmark = pytest.mark.django_db


def test_visible_to(staff, admin_user, hr_duisburg, hr_oberhausen, agreement):
    from django.contrib.auth.models import AnonymousUser

    assert list(Agreement.objects.visible_to(staff)) == [agreement]
    assert list(Agreement.objects.visible_to(admin_user)) == [agreement]
    assert list(Agreement.objects.visible_to(hr_duisburg)) == [agreement]
    assert list(Agreement.objects.visible_to(hr_oberhausen)) == []
    assert list(Agreement.objects.visible_to(UserFactory())) == []
    assert list(Agreement.objects.visible_to(AnonymousUser())) == []


@pytest.mark.parametrize(
    "changes",
    [
        {"status": "signed", "signed_on": None},
        {"valid_from": datetime.date(2014, 1, 1), "valid_until": datetime.date(2013, 1, 1)},
        {"title": ""},
    ],
)
def test_database_refuses_inconsistent_agreements(agreement, changes):
    with pytest.raises(IntegrityError), transaction.atomic():
        Agreement.objects.filter(pk=agreement.pk).update(**changes)


def test_partner_and_state_side_differ(ministry):
    with pytest.raises(IntegrityError), transaction.atomic():
        AgreementFactory(partner=ministry, state_party=ministry)


def test_document_versions_are_unique(agreement):
    AgreementDocument.objects.create(
        agreement=agreement, kind="generated", version=1, sha256="a" * 64, size=1
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        AgreementDocument.objects.create(
            agreement=agreement, kind="generated", version=1, sha256="b" * 64, size=1
        )
    AgreementDocument.objects.create(agreement=agreement, kind="signed", version=1, sha256="c" * 64, size=1)


def test_text_formatting_escapes_everything_but_its_own_markup():
    html = render_text(
        "Erster Absatz mit *Betonung*\nund Zeilenumbruch.\n\n"
        "- Punkt <b>eins</b>\n- Punkt zwei\n\n1. erstens\n2. zweitens\n\n"
        '<script>alert(1)</script><a href="javascript:x">Link</a> {{ user }}'
    )
    assert html == (
        "<p>Erster Absatz mit <em>Betonung</em><br>und Zeilenumbruch.</p>"
        "<ul><li>Punkt &lt;b&gt;eins&lt;/b&gt;</li><li>Punkt zwei</li></ul>"
        "<ol><li>erstens</li><li>zweitens</li></ol>"
        '<p>&lt;script&gt;alert(1)&lt;/script&gt;&lt;a href="javascript:x"&gt;Link&lt;/a&gt; {{ user }}</p>'
    )
