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
    """The index, and of every registered model the list, the add page (where there is one) and the change and
    history pages of its first object."""
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
            pages.append(reverse("admin:{}_{}_history".format(*info), args=[first.pk]))
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


def test_the_admin_warns_before_the_session_ends_as_the_portal_does(live_server, page, settings):
    """Administrators edit long forms in the admin too, which showed no warning: 30 minutes without a request ended
    the session and took the change being typed with it (WCAG 2.2.1)."""
    from playwright.sync_api import expect

    settings.DEBUG = True
    call_command("seed_demo", password="demo-password-1")
    administrator = User.objects.get(username="admin")
    browser_login(page, live_server, administrator)
    page.clock.install()
    form = reverse(
        "admin:vielfalt_organisation_change", args=[administrator.memberships.first().organisation_id]
    )
    assert page.goto(live_server.url + form).status == 200
    warning = page.locator("#session-warning")
    page.clock.run_for("26:30")
    assert warning.is_hidden()
    page.clock.run_for("01:00")
    keep = warning.get_by_role("button", name="Angemeldet bleiben")
    expect(keep).to_be_visible()
    assert axe_violations(page) == []
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    save, shown = page.locator("input[name=_save]").bounding_box(), warning.bounding_box()
    assert save["y"] + save["height"] <= shown["y"] or save["x"] + save["width"] <= shown["x"]  # not covered
    with page.expect_response(
        lambda response: response.url.endswith("/accounts/session/keep-alive/")
    ) as kept:
        keep.click()
    assert kept.value.status == 204
    expect(warning).to_be_hidden()
