"""A mail server nobody answers: the SMTP backend pointed at a closed port on loopback (every connection is
refused at once), and a wait for what a real worker records after its retries."""

import time

from tests.processes import free_port


def unreachable_mail_server(settings) -> None:
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": free_port(), "timeout": 2},
        }
    }


def few_retries(monkeypatch, *tasks) -> None:
    """One retry instead of five (a few seconds instead of minutes of backoff): the path is the same."""
    for task in tasks:
        monkeypatch.setattr(task, "max_retries", 1)


def wait_for(predicate, timeout: float = 60, what: str = "the worker"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")
