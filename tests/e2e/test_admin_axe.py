"""The Django admin, where administrators keep organisations, users and records, meets WCAG 2.1 AA like the
portal's own pages: every registered model's list, add and change pages pass axe-core in Chromium, in German and
in English."""

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.test import RequestFactory
from django.urls import reverse

from tests.conftest import axe_violations, browser_login
from vielfalt.models import User

pytestmark = pytest.mark.django_db(transaction=True)


def admin_pages(user) -> list[str]:
    """The index, and of every registered model the list, the add page (where there is one) and the change page
    of its first object."""
    request = RequestFactory().get("/admin/")
    request.user = user
    pages = [reverse("admin:index")]
    for model, model_admin in admin.site._registry.items():
        info = (model._meta.app_label, model._meta.model_name)
        pages.append(reverse("admin:{}_{}_changelist".format(*info)))
        if model_admin.has_add_permission(request):
            pages.append(reverse("admin:{}_{}_add".format(*info)))
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            pages.append(reverse("admin:{}_{}_change".format(*info), args=[first.pk]))
    return pages


@pytest.mark.parametrize("language", ["de", "en"])
def test_every_admin_page_passes_axe(live_server, page, settings, language):
    settings.DEBUG = True
    call_command("seed_demo", password="demo-password-1")
    administrator = User.objects.get(username="admin")
    browser_login(page, live_server, administrator)
    page.context.add_cookies(
        [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}]
    )
    found = {}
    for path in admin_pages(administrator):
        assert page.goto(live_server.url + path).status == 200, path
        assert page.locator("html").get_attribute("lang") == language, path
        if violations := axe_violations(page):
            found[path] = violations
    assert found == {}, "\n".join(f"{path}: {v}" for path, v in found.items())
