"""System checks of the portal's own settings."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Tags, Warning, register


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


@register(Tags.database)
def check_name_collation(app_configs, databases=None, **kwargs):
    """The ICU library under PostgreSQL has changed since the collation of every sort by text was created
    (vielfalt.collation): indexes in the old order may skip rows until they are rebuilt."""
    from django.db import connections

    from .collation import recorded_and_actual_version

    problems = []
    for alias in databases or ():
        versions = recorded_and_actual_version(connections[alias])
        if versions is None or versions[0] == versions[1]:
            continue
        problems.append(
            Warning(
                f"The collation vielfalt_names was created with ICU {versions[0]}; PostgreSQL now runs ICU "
                f"{versions[1]}.",
                hint="Rebuild the indexes sorted in it and record the new version: `manage.py refresh_collation` "
                "(as the database's owner, with MIGRATE_DATABASE_URL set, like `migrate`).",
                id="vielfalt.W002",
            )
        )
    return problems
