"""Art. 15 for the portal's own users: "Meine Daten" lists every row that names the logged-in user, and no
secret of theirs, and nobody else's."""

import json
from datetime import UTC, datetime

import pytest
from axes.models import AccessFailureLog, AccessLog
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

from vielfalt.audit import audit_record
from vielfalt.models import AuditEntry, AuthenticatorApp, Job, User
from vielfalt.privacy import USER_FIELDS, USER_FIELDS_LEFT_OUT, user_foreign_keys
from vielfalt.programme.privacy import user_access_export

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(settings):
    settings.DEBUG = True
    call_command("seed_demo", password="demo-password-1")


def _own_traces(user: User) -> None:
    """What a user leaves beyond the demo data: a login, a failed one, a background job, a second factor, an
    audit entry by them and one about their account."""
    AccessLog.objects.create(username=user.username, ip_address="192.0.2.7", user_agent="Firefox/140.0")
    AccessFailureLog.objects.create(username=user.username, ip_address="192.0.2.8", user_agent="Edge/140.0")
    Job.objects.create(kind="employee_export", description="Export", requested_by=user)
    AuthenticatorApp.objects.get_or_create(user=user, name="Handy", defaults={"confirmed": True})
    device, _ = StaticDevice.objects.get_or_create(user=user, name="backup")
    StaticToken.objects.create(device=device, token="rcv3x7kq")
    audit_record(actor=user, action=AuditEntry.Action.EXPORT, obj=user, changes={"format": "csv"})
    audit_record(actor=None, action=AuditEntry.Action.LOGIN_FAILED, obj=user, object_repr=user.username)


def _referring_to(user: User) -> set[str]:
    """Every row of every table with a foreign key to the user, the audit entries by the user and about the
    account, and the login records under the user name (django-axes stores no key)."""
    found = {f"vielfalt.user:{user.pk}"}
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if field.is_relation and field.related_model is User:
                found |= {
                    f"{model._meta.label_lower}:{pk}"
                    for pk in model.objects.filter(**{field.name: user}).values_list("pk", flat=True)
                }
    account = ContentType.objects.get_for_model(User)
    about = AuditEntry.objects.filter(content_type=account, object_id=str(user.pk)).values_list(
        "pk", flat=True
    )
    found |= {f"vielfalt.auditentry:{pk}" for pk in about}
    for model in (AccessLog, AccessFailureLog):
        found |= {
            f"axes.{model._meta.model_name}:{pk}"
            for pk in model.objects.filter(username=user.username).values_list("pk", flat=True)
        }
    return found


@pytest.mark.parametrize("username", ["hr-duisburg", "ministerium", "schulung-oberhausen", "admin"])
def test_my_data_lists_every_row_that_names_the_user(demo, username):
    user = User.objects.get(username=username)
    _own_traces(user)
    export = user_access_export(user=user)
    listed = {key for section in export["sections"] for key in section["records"]}
    expected = _referring_to(user)
    assert {
        "vielfalt.membership",
        "vielfalt.auditentry",
        "vielfalt.job",
        "vielfalt.authenticatorapp",
        "axes.accesslog",
    } <= {
        key.split(":")[0] for key in expected
    } or username == "admin"  # the administrator holds no membership
    assert expected - listed == set()
    # Every foreign key to the user is looked at, also of models added later.
    assert {f"{field.model._meta.label_lower}.{field.name}" for field in user_foreign_keys()} >= {
        "partnerships.agreement.created_by",
        "network.question.asked_by",
        "trainings.enrolment.enrolled_by",
        "admin.logentry.user",
    }
    # Nobody else's rows: another user's roles and logins are not listed.
    other = User.objects.exclude(pk=user.pk).filter(memberships__isnull=False).first()
    assert not {f"vielfalt.membership:{pk}" for pk in other.memberships.values_list("pk", flat=True)} & listed


def test_my_data_holds_no_secret(demo):
    user = User.objects.get(username="ministerium")
    _own_traces(user)
    text = json.dumps(user_access_export(user=user), default=str)
    assert user.username in text and "192.0.2.7" in text and "Handy" in text
    assert user.password not in text
    for device in AuthenticatorApp.objects.filter(user=user):
        assert device.bin_key.hex() not in text
    assert "rcv3x7kq" not in text


def test_my_data_lists_every_field_of_the_account(demo):
    """The account's life cycle (active since, told of deactivation) was missing from "Meine Daten"."""
    assert {field.name for field in User._meta.concrete_fields} == set(USER_FIELDS) | USER_FIELDS_LEFT_OUT
    user = User.objects.get(username="ministerium")
    User.objects.filter(pk=user.pk).update(dormancy_notice_at=datetime(2026, 11, 30, 3, 0, tzinfo=UTC))
    user.refresh_from_db()
    [account] = user_access_export(user=user)["sections"][:1]
    assert account["rows"][0]["Auf Deaktivierung hingewiesen"] == "30.11.2026 04:00"
    assert "Aktiv seit" in account["rows"][0]


def test_my_data_page_and_json_only_of_ones_own_account(demo, client):
    url = reverse("my_data")
    assert client.get(url).status_code == 302  # to the login
    hr = User.objects.get(username="hr-duisburg")
    _own_traces(hr)
    client.force_login(hr)
    session = client.session  # past the authenticator app that _own_traces gave the account
    session[DEVICE_ID_SESSION_KEY] = AuthenticatorApp.objects.get(user=hr, name="Handy").persistent_id
    session.save()
    page = client.get(url)
    assert page.status_code == 200
    content = page.content.decode()
    assert "Meine Daten" in content and "192.0.2.7" in content and "Handy" in content
    assert "hr-oberhausen" not in content
    download = client.get(url, {"format": "json"})
    assert download["Content-Disposition"].startswith("attachment;")
    assert json.loads(download.content)["user"] == f"vielfalt.user:{hr.pk}"
    assert AuditEntry.objects.filter(
        actor=hr, action=AuditEntry.Action.EXPORT, object_id=str(hr.pk), changes__kind="art15"
    ).exists()
    # The privacy notice says where to look.
    notice = client.get(reverse("privacy")).content.decode()
    assert "„Meine Daten“" in notice and f'href="{url}"' in notice
    # No parameter names another account.
    assert json.loads(client.get(url, {"format": "json", "user": "1", "pk": "1"}).content)["user"] == (
        f"vielfalt.user:{hr.pk}"
    )


def test_my_data_page_stays_short_for_a_clerk_with_thousands_of_entries(demo, client):
    """Each section shows its latest hundred rows and says how many more the JSON holds; the rows naming the user
    elsewhere come one line per kind."""
    hr = User.objects.get(username="hr-duisburg")
    AuditEntry.objects.bulk_create(
        [
            AuditEntry(
                actor=hr, actor_name=hr.username, action=AuditEntry.Action.EXPORT, object_repr=f"Export {n}"
            )
            for n in range(250)
        ]
    )
    client.force_login(hr)
    content = client.get(reverse("my_data")).content.decode()
    assert "Export 249" in content and "Export 149" not in content
    assert "frühere stehen im JSON-Download" in content

    def audit(export):
        return next(
            section for section in export["sections"] if section["title"].startswith("Einträge im Audit")
        )

    assert (
        sum(row["Objekt"].startswith("Export ") for row in audit(user_access_export(user=hr))["rows"]) == 250
    )
    # The page reads no more than it shows.
    shown = audit(user_access_export(user=hr, latest=100))
    assert len(shown["rows"]) == 100 and shown["more"] >= 150
    objects = [row["Objekt"] for row in shown["rows"]]
    assert "Export 249" in objects and "Export 149" not in objects
