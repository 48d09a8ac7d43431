"""A new account's password is chosen by its holder through a link sent by e-mail; the administrator who creates
the account never knows it (vielfalt.invitations)."""

import logging
import uuid

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from tests.factories import OrganisationFactory, UserFactory
from tests.helpers import form_data
from tests.vielfalt.test_outages import own_redis  # noqa: F401  (the fixture)
from vielfalt.models import AuditEntry, Role, User

pytestmark = pytest.mark.django_db

PORTAL = "https://vielfalt.nrw.example"


def _address() -> str:  # the reset throttle counts per address in Redis, across runs
    return f"kim.{uuid.uuid4().hex[:10]}@stadt.example"


def _link(message) -> str:
    return next(line.strip() for line in message.body.splitlines() if "/accounts/reset/" in line)


def _add_account(client, city, **fields):
    url = reverse("admin:vielfalt_user_add")
    data = form_data(client.get(url).content.decode(), "user_form")
    data.update(fields)
    data.update({"memberships-0-organisation": str(city.pk), "memberships-0-role": Role.HR, "_save": "Save"})
    return client.post(url, data)


def test_an_administrator_creates_an_account_and_the_person_chooses_the_password(
    client, superuser, settings, caplog, django_capture_on_commit_callbacks
):
    settings.PORTAL_URL = PORTAL
    city = OrganisationFactory(name="Stadt Duisburg")
    client.force_login(superuser)
    page = client.get(reverse("admin:vielfalt_user_add")).content.decode()
    assert 'name="password1"' not in page and 'name="usable_password"' not in page  # nobody makes one up

    email = _address()
    with caplog.at_level(logging.DEBUG), django_capture_on_commit_callbacks(execute=True):
        response = _add_account(
            client, city, username="hr-duisburg-2", first_name="Kim", last_name="Yılmaz", email=email
        )
    assert response.status_code == 302, response.content.decode()[:3000]
    user = User.objects.get(username="hr-duisburg-2")
    assert not user.has_usable_password()

    [message] = mail.outbox
    assert message.to == [email]
    assert "Vielfalt verbindet" in message.subject
    assert "Guten Tag Kim Yılmaz," in message.body  # in the portal's language
    assert "hr-duisburg-2" in message.body
    assert "Personalverwaltung, Stadt Duisburg" in message.body  # the role the administrator gave
    link = _link(message)
    assert link.startswith(f"{PORTAL}/accounts/reset/")
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert not [record for record in caplog.records if token in record.getMessage()]  # no token in a log
    entry = AuditEntry.objects.filter(object_id=str(user.pk), changes__has_key="password_link").get()
    assert (entry.actor, entry.changes["password_link"]) == (superuser, f"eingereiht für {email}")
    follow = client.get(reverse("admin:vielfalt_user_change", args=[user.pk]))
    assert email in follow.content.decode()  # the admin is told where the link went

    client.logout()
    response = client.get(link.removeprefix(PORTAL))
    assert response.status_code == 302
    set_password = response["Location"]
    page = client.get(set_password).content.decode()
    assert "Passwort wählen" in page or "Choose your password" in page
    assert "hr-duisburg-2" in page  # the person learns the name to log in with
    chosen = "Vielfalt-verbindet-2026"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(set_password, {"new_password1": chosen, "new_password2": chosen})
    assert response.status_code == 302 and response["Location"] == reverse("password_reset_complete")
    user.refresh_from_db()
    assert user.check_password(chosen)
    # The account usable from now on is recorded (before, nothing showed when it was taken up), not told as a
    # change: the holder has just chosen it.
    chosen_entry = AuditEntry.objects.filter(object_id=str(user.pk), changes__has_key="password").get()
    assert (chosen_entry.actor, chosen_entry.changes) == (user, {"password": "erstes Passwort gewählt"})
    assert len(mail.outbox) == 1
    again = client.get(link.removeprefix(PORTAL), follow=True)
    assert "nicht mehr gültig" in again.content.decode() or "no longer valid" in again.content.decode()


def test_the_admin_refuses_an_account_without_an_address_or_with_a_name_taken_in_other_case(
    client, superuser
):
    city = OrganisationFactory()
    UserFactory(username="hr-essen")
    client.force_login(superuser)
    response = _add_account(
        client, city, username="HR-Essen", first_name="A", last_name="B", email=_address()
    )
    assert response.status_code == 200 and not User.objects.filter(username="HR-Essen").exists()
    response = _add_account(client, city, username="hr-bochum", first_name="A", last_name="B", email="")
    assert response.status_code == 200 and not User.objects.filter(username="hr-bochum").exists()
    assert mail.outbox == []


def test_the_link_is_sent_again_only_to_accounts_that_have_not_chosen_a_password(
    client, superuser, django_capture_on_commit_callbacks
):
    waiting = UserFactory(username="neu", email=_address())
    waiting.set_unusable_password()
    waiting.save()
    active = UserFactory(username="alt", email=_address())  # has a password
    disabled = UserFactory(username="gesperrt", email=_address(), last_login=timezone.now())
    disabled.set_unusable_password()  # an administrator disabled a password that was in use
    disabled.save()
    client.force_login(superuser)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:vielfalt_user_changelist"),
            {"action": "send_password_link", "_selected_action": [waiting.pk, active.pk, disabled.pk]},
            follow=True,
        )
    assert [message.to for message in mail.outbox] == [[waiting.email]]
    text = response.content.decode()
    assert waiting.email in text and "alt" in text and "gesperrt" in text  # sent, and who got none


def test_an_invited_person_whose_link_expired_can_ask_for_a_new_one(client, settings):
    settings.PORTAL_URL = PORTAL
    waiting = UserFactory(username="neu", email=_address())
    waiting.set_unusable_password()
    waiting.save()
    disabled = UserFactory(username="gesperrt", email=_address(), last_login=timezone.now())
    disabled.set_unusable_password()
    disabled.save()
    remote = "10.{}.{}.{}".format(*uuid.uuid4().bytes[:3])  # the throttle counts per client, across runs
    for user in (waiting, disabled):
        client.post(reverse("password_reset"), {"email": user.email}, REMOTE_ADDR=remote)
    [message] = mail.outbox
    assert message.to == [waiting.email]
    response = client.get(_link(message).removeprefix(PORTAL))
    assert response.status_code == 302 and response["Location"].endswith("/set-password/")


@pytest.mark.django_db
def test_a_deactivated_account_s_link_no_longer_sets_a_password(client, settings):
    """An administrator invited a new clerk, then deactivated the account (she did not start); the e-mailed link
    still let whoever held it choose the password, which was then waiting for the day the account is activated
    again. Django's page behind the link asks only the token, not whether the account is active."""
    from vielfalt.invitations import password_link

    settings.PORTAL_URL = PORTAL
    invited = UserFactory(username="neu-gesperrt", email=_address())
    invited.set_unusable_password()
    invited.save()
    path = password_link(invited).removeprefix(PORTAL)
    invited.is_active = False
    invited.save()

    response = client.get(path, follow=True)
    client.post(
        response.redirect_chain[-1][0] if response.redirect_chain else path,
        {"new_password1": "Ein-langes-Passwort-2026", "new_password2": "Ein-langes-Passwort-2026"},
    )
    invited.refresh_from_db()
    assert not invited.has_usable_password()
    assert response.context["validlink"] is False


def test_a_link_that_cannot_be_queued_is_not_announced_as_sent(
    client,
    superuser,
    settings,
    own_redis,  # noqa: F811  (the imported fixture)
    django_capture_on_commit_callbacks,
):
    """Redis (the broker) is really stopped when an administrator creates an account: the account is kept, and
    the administrator is told that the link was not sent and how to send it again, not that it "is being sent"
    (it would never arrive, and nobody would know why)."""
    from django.contrib.messages import get_messages

    from tests.helpers import point_celery_at
    from vielfalt.celery import app

    city = OrganisationFactory(name="Stadt Duisburg")
    client.force_login(superuser)
    email = _address()
    own_redis.stop()
    point_celery_at(app, own_redis.url)
    app.conf.task_always_eager = False
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = _add_account(
                client, city, username="hr-duisburg-3", first_name="Kim", last_name="Yılmaz", email=email
            )
    finally:
        point_celery_at(app, settings.CELERY_BROKER_URL)
        app.conf.task_always_eager = True
    assert response.status_code == 302, response.content.decode()[:3000]
    assert User.objects.filter(username="hr-duisburg-3").exists()
    told = [str(message) for message in get_messages(response.wsgi_request)]
    assert not [text for text in told if "gilt einmal" in text], told  # "… wird gesendet. Er gilt einmal …"
    assert [text for text in told if email in text and "konnte nicht" in text and "erneut" in text], told
    # The audit log says so too (before: "sent to …", written before the hand-over), and the account is marked.
    user = User.objects.get(username="hr-duisburg-3")
    entry = AuditEntry.objects.filter(object_id=str(user.pk), changes__has_key="password_link").get()
    assert entry.changes["password_link"] == (
        f"nicht eingereiht für {email}: der Hintergrunddienst war nicht erreichbar"
    )
    assert user.mail_failed_at is not None
