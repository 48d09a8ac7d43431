"""The Django admin in the portal's languages: every field it shows has a translatable label (a field without
a verbose_name is labelled with its English name, "Created by", on the German admin too); its pages ask for no
favicon (the portal has none, and /favicon.ico answered 404)."""

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse
from django.utils.functional import Promise

from tests.factories import OrganisationFactory, UserFactory
from tests.network.conftest import make_meeting
from vielfalt.models import Organisation

pytestmark = pytest.mark.django_db

PROJECT_APPS = {"vielfalt", "partnerships", "network", "trainings", "surveys"}


def shown_fields(model_admin, request) -> set[str]:
    """The names of what an admin page shows: the list's columns and filters, the form's fields."""
    names = set(model_admin.get_list_display(request)) if hasattr(model_admin, "get_list_display") else set()
    if hasattr(model_admin, "get_list_filter"):
        names |= {item for item in model_admin.get_list_filter(request) if isinstance(item, str)}
    names |= set(model_admin.get_readonly_fields(request))
    for _name, options in model_admin.get_fieldsets(request):
        for field in options["fields"]:
            names |= set(field) if isinstance(field, list | tuple) else {field}
    return {name for name in names if isinstance(name, str)}


def test_every_field_the_admin_shows_has_a_translatable_label():
    request = RequestFactory().get("/admin/")
    request.user = UserFactory(is_staff=True, is_superuser=True)
    untranslated = []
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in PROJECT_APPS:
            continue
        for shown_admin in [model_admin, *model_admin.get_inline_instances(request)]:
            fields = {field.name: field for field in shown_admin.model._meta.get_fields()}
            for name in shown_fields(shown_admin, request) & fields.keys():  # not methods and properties
                label = getattr(fields[name], "verbose_name", None)
                # "SHA-256" is a name, the same in every language
                if label is not None and not isinstance(label, Promise) and label != "SHA-256":
                    untranslated.append(f"{shown_admin.model._meta.label}.{name}")
    assert sorted(untranslated) == []


def test_the_german_admin_labels_who_created_a_meeting_and_when(client):
    ministry = OrganisationFactory(slug="mais-nrw", kind=Organisation.Kind.STATE_MINISTRY)
    meeting = make_meeting(ministry)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    html = client.get(reverse("admin:network_meeting_change", args=[meeting.pk])).text
    assert ("Angelegt von" in html, "Created by" in html) == (True, False)


def test_the_admin_asks_for_no_favicon(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    for url in (reverse("admin:index"), reverse("admin:vielfalt_organisation_changelist")):
        html = client.get(url).text
        assert html.count('<link rel="icon" href="data:,">') == 1


def test_the_german_admin_names_its_calendar_links_in_german(client):
    """The names (aria-label) of the date widget's "Heute", "Gestern", "Morgen" links and month buttons, which
    Django 6.1's German catalog lacks (locale/de/LC_MESSAGES/djangojs.po): a name must hold the visible text."""
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    catalog = client.get(reverse("admin:jsi18n"), headers={"accept-language": "de"}).text
    for english, german in (
        ("Today (%(date)s)", "Heute (%(date)s)"),
        ("Yesterday (%(date)s)", "Gestern (%(date)s)"),
        ("%(month)s %(day)s, %(year)s", "%(day)s. %(month)s %(year)s"),
    ):
        assert f'"{english}": "{german}"' in catalog
    assert '"Today": "Heute"' in catalog  # Django's own translations are still there


def test_the_admin_is_named_after_the_portal_not_django(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    html = client.get(reverse("admin:index")).text
    assert (
        "Vielfalt verbindet – Verwaltung</a>" in html
        and "<title>Verwaltung des Portals | Vielfalt verbindet – Verwaltung" in html
    )
    assert "Django" not in html
