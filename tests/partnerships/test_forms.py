"""The agreement form's texts in the reader's language."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

HELP_TEXTS = {
    "de": [
        "Nur bei einer Änderungsvereinbarung: die unterschriebene Partnervereinbarung des Partners, die geändert "
        "wird. Die Änderungsvereinbarung enthält die ganze Vereinbarung in geänderter Fassung und ersetzt sie, "
        "sobald sie gilt.",
        "Eine der Organisationseinheiten des Partners.",
    ],
    "en": [
        "Only for an amendment: the signed agreement of the partner it changes. The amendment holds the whole "
        "agreement as changed and replaces it once it takes effect.",
        "One of the partner's org units.",
    ],
}


@pytest.mark.parametrize("language", ["de", "en"])
def test_the_agreement_forms_help_texts_are_in_the_readers_language(client, staff, agreement, language):
    client.force_login(staff)
    for url in (reverse("partnerships:create"), reverse("partnerships:update", args=[agreement.pk])):
        html = client.get(url, HTTP_ACCEPT_LANGUAGE=language).text
        assert [text in html for text in HELP_TEXTS[language]] == [True, True], url
