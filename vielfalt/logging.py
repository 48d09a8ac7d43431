"""What no log may keep: the secrets that travel in URLs. Survey invitation tokens (/surveys/t/<token>/),
password-reset links (/accounts/reset/<uid>/<token>/), and any later link of the same kind (a path segment
that looks like a token, e.g. an unsubscribe link), plus query parameters that carry a secret or a link, and
what somebody typed to find a person.

`redact` is used by the Django logging filter below and by gunicorn's access log (gunicorn.conf.py)."""

import logging
import re
from urllib.parse import unquote

_SEGMENT = r"[^/\s?#\"']+"
SECRET_PATHS = [
    re.compile(rf"(/surveys/t/){_SEGMENT}"),
    re.compile(rf"(/accounts/reset/){_SEGMENT}/{_SEGMENT}"),
    re.compile(rf"(/unsubscribe/){_SEGMENT}"),
    # Any other path segment that looks like a token: 20 or more characters of a URL-safe alphabet with
    # digits and letters mixed, no dot (static files' hashed names have one), not a UUID (jobs).
    re.compile(
        r"(/)(?![0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?:[/?#\s\"']|$))"
        r"(?=[A-Za-z0-9_:-]*[0-9])(?=[A-Za-z0-9_:-]*[A-Za-z])[A-Za-z0-9_:-]{20,}(?=[/?#\s\"']|$)"
    ),
]
# Query parameters whose value is a secret, a link, or what somebody typed to find a person: a search (`q`: the
# employee list, agreements, enrolment, the practice library) or the audit log's user and object filters hold
# names of employees and colleagues, which an access log has no use for (data minimisation).
SECRET_PARAMETERS = re.compile(
    r"([?&](?:token|code|key|secret|password|signature|sig|next|uid|q|search|actor_name|object_repr)=)"
    # the value: up to the next parameter, a space or a quote (a quote the access log escaped is part of it)
    r"(?:\\\"|[^&\s\"'])*",
    re.IGNORECASE,
)
REDACTED = "[redacted]"


def redact(text: str) -> str:
    if not text:
        return text
    if "%2f" in text.lower():  # a path inside a query string (?next=%2Fsurveys%2Ft%2F...)
        text = unquote(text)
    for pattern in SECRET_PATHS:
        text = pattern.sub(rf"\1{REDACTED}", text)
    return SECRET_PARAMETERS.sub(rf"\1{REDACTED}", text)


def _needs_redaction(text: str) -> bool:
    return redact(text) != text


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        # django.request keeps the request on the record; error reporters read its path from there.
        request = getattr(record, "request", None)
        if request is not None and _needs_redaction(getattr(request, "get_full_path", lambda: "")()):
            record.request = None
        return True


RedactSurveyTokens = RedactSecrets  # the name settings used before other secrets were added
