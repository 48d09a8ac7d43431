import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from vielfalt.models import Employee, Membership, Organisation, Role, User

pytestmark = pytest.mark.django_db


def _stamp(path):
    return path.stat().st_mtime_ns if path.exists() else None


def test_seed_demo_is_idempotent(settings):
    settings.DEBUG = True
    # The tests' seeds keep their TOTP secrets outside the project (conftest): the developer's .demo-totp is
    # neither rewritten nor read half-written by a seed in another pytest-xdist worker.
    project_totp = settings.BASE_DIR / ".demo-totp"
    before = _stamp(project_totp)
    for _ in range(2):
        call_command("seed_demo", password="demo-password-1")
    assert _stamp(project_totp) == before
    assert sorted(Organisation.objects.values_list("slug", flat=True)) == [
        "duisburg",
        "mais-nrw",
        "oberhausen",
    ]
    assert Organisation.objects.get(slug="mais-nrw").name == (
        "Ministerium für Arbeit, Integration und Soziales des Landes Nordrhein-Westfalen"
    )
    assert Employee.objects.filter(organisation__slug="duisburg").count() == 120
    assert Employee.objects.filter(organisation__slug="oberhausen").count() == 40
    assert sorted(User.objects.values_list("username", flat=True)) == [
        "admin",
        "hr-duisburg",
        "hr-oberhausen",
        "ministerium",
        "schulung-oberhausen",
    ]
    assert User.objects.get(username="hr-duisburg").check_password("demo-password-1")
    assert Membership.objects.filter(user__username="schulung-oberhausen", role=Role.ORGANISER).count() == 1


def test_seed_demo_refuses_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError):
        call_command("seed_demo", password="x-demo-password")
    call_command("seed_demo", password="x-demo-password", force=True)
    assert User.objects.count() == 5
