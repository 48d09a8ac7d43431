"""The client's address behind the deployment's proxies (vielfalt.clients)."""

import pytest
from django.test import RequestFactory

from vielfalt.clients import client_address


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "198.51.100.7", "10.0.0.2"),  # no proxy trusted: the header is the client's own words
        (1, None, "10.0.0.2"),  # did not come through the proxy
        (1, "198.51.100.7", "198.51.100.7"),
        (1, "203.0.113.9, 198.51.100.7", "198.51.100.7"),  # the first entry made up by the client
        (1, "198.51.100.7, unknown", "10.0.0.2"),  # a proxy that writes no address
        (1, " 2001:db8::7 ", "2001:db8::7"),
        (2, "203.0.113.9, 198.51.100.7, 192.0.2.4", "198.51.100.7"),  # a load balancer before the TLS proxy
        (2, "198.51.100.7", "10.0.0.2"),  # fewer entries than proxies
    ],
)
def test_the_client_is_the_entry_the_trusted_proxies_appended(settings, proxies, forwarded, expected):
    settings.TRUSTED_PROXIES = proxies
    headers = {"REMOTE_ADDR": "10.0.0.2"}
    if forwarded is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded
    assert client_address(RequestFactory().get("/", **headers)) == expected


@pytest.mark.django_db
def test_a_failed_login_is_recorded_with_the_clients_address_not_the_proxys(client, settings):
    from axes.models import AccessAttempt

    settings.TRUSTED_PROXIES = 1
    client.post(
        "/accounts/login/",
        {"username": "nobody", "password": "wrong"},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="203.0.113.9, 198.51.100.7",
    )
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == ["198.51.100.7"]
