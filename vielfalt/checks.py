"""System checks of the portal's own settings."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Warning, register


@register()
def check_portal_url(app_configs, **kwargs):
    """In production, links in e-mails, letters, code sheets and PDFs must point to an https address: a survey
    link or code sent over plain HTTP can be read on the way."""
    if settings.DEBUG:
        return []
    url = urlsplit(settings.PORTAL_URL)
    if url.scheme == "https" and url.hostname:
        return []
    return [
        Warning(
            f"PORTAL_URL is {settings.PORTAL_URL!r}, not an https address.",
            hint="Set PORTAL_URL to the address users reach the portal at, e.g. https://vielfalt.nrw.example: "
            "e-mails, survey code sheets and PDFs carry links built from it.",
            id="vielfalt.W001",
        )
    ]
