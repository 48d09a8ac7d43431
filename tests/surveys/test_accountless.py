"""The survey's respondent pages serve people without an account (settings.ACCOUNTLESS_PATHS): the middleware of
accounts skips them, so that a respondent who is logged in to the portal in the same browser stays unknown there."""

from django.conf import settings
from django.contrib.sessions.models import Session
from django.urls import URLPattern, URLResolver, get_resolver

from surveys import views
from surveys.models import HeldAnswer
from tests.factories import hr_user, ministry_user
from vielfalt.middleware import SESSION_TOUCHED_KEY

from .conftest import DEFAULT_ANSWERS, form_key

RESPONDENT_VIEWS = {views.TokenView, views.AnswerView, views.CodeView}


def _answer_through_pages(client, token) -> list:
    responses = [client.get(f"/surveys/t/{token}/")]
    responses.append(client.get("/surveys/answer/"))
    responses.append(client.post("/surveys/answer/", {**DEFAULT_ANSWERS, "form_key": form_key(client)}))
    responses.append(client.get("/surveys/answer/"))
    return responses


def test_answering_leaves_a_staff_session_of_the_same_browser_alone(client, open_campaign):
    """An employee who also works in the portal answers in the browser they are logged in with: the survey pages
    neither read that session (no `Vary: Cookie`, no user loaded) nor extend it. Before, every page loaded the
    staff user, and the idle timeout wrote the session row with a new expiry at the moment of the answer."""
    campaign, tokens, _hr = open_campaign
    staff = hr_user(campaign.organisation)
    client.force_login(staff)
    session = client.session
    session[SESSION_TOUCHED_KEY] = 0  # last extended long ago: any request of the staff pages extends it
    session.save()
    before = Session.objects.values_list("session_data", "expire_date").get(session_key=session.session_key)

    responses = _answer_through_pages(client, tokens[0])

    assert [response.status_code for response in responses] == [302, 200, 302, 200]
    assert b'id="thanks"' in responses[-1].content
    assert HeldAnswer.objects.filter(campaign=campaign).count() == 1
    for response in responses:
        assert "Cookie" not in response.get("Vary", ""), response.request["PATH_INFO"]
        assert settings.SESSION_COOKIE_NAME not in response.cookies
    after = Session.objects.values_list("session_data", "expire_date").get(session_key=session.session_key)
    assert after == before
    # The staff pages still see the session and extend it.
    assert client.get("/surveys/").status_code == 200
    assert Session.objects.get(session_key=session.session_key).expire_date > before[1]


def test_a_staff_user_halfway_through_logging_in_can_still_answer(client, open_campaign):
    """After the password, before the second factor, every staff page redirects to the second factor; the
    survey is not a staff page. Before, the link and the questionnaire redirected there too."""
    from django_otp import DEVICE_ID_SESSION_KEY

    campaign, tokens, _hr = open_campaign
    client.force_login(ministry_user())  # ministry staff always owe a second factor
    session = client.session
    del session[DEVICE_ID_SESSION_KEY]  # the password only
    session.save()
    assert client.get("/surveys/").status_code == 302  # to the second factor, as every staff page

    responses = _answer_through_pages(client, tokens[0])

    assert [response.status_code for response in responses] == [302, 200, 302, 200]
    assert HeldAnswer.objects.filter(campaign=campaign).count() == 1
    assert client.get("/umfrage/").status_code == 200


def test_a_page_not_found_under_an_accountless_path(client, db):
    response = client.get("/surveys/answer/nothing-here/")
    assert response.status_code == 404
    assert b"<html" in response.content


def _patterns(resolver: URLResolver, prefix: str = "/"):
    """(the literal start of each URL pattern's path, its view), through every include."""
    for pattern in resolver.url_patterns:
        route = str(pattern.pattern).lstrip("^")
        literal = ""
        for character in route:
            if character in "<([.\\$?*+":
                break
            literal += character
        if isinstance(pattern, URLResolver):
            yield from _patterns(pattern, prefix + literal)
        elif isinstance(pattern, URLPattern):
            yield prefix + literal, getattr(pattern.callback, "view_class", pattern.callback)


def test_the_accountless_paths_hold_the_respondent_pages_and_nothing_else():
    accountless = tuple(settings.ACCOUNTLESS_PATHS)
    patterns = list(_patterns(get_resolver()))
    under = {view for start, view in patterns if start.startswith(accountless)}
    assert under == RESPONDENT_VIEWS
    # Nor does any other page start where an accountless path might (a pattern shorter than the prefix).
    others = [
        start
        for start, view in patterns
        if view not in RESPONDENT_VIEWS and any(p.startswith(start) for p in accountless)
    ]
    assert all(start in ("/", "/surveys/") for start in others), others
    for view in RESPONDENT_VIEWS:
        assert any(start.startswith(accountless) for start, v in patterns if v is view), view
