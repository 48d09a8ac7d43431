"""An e-mail backend for a production portal that has no mail server configured (EMAIL_URL unset).

Django's console backend prints every message, recipients and body with its survey links or password-reset
links, to the log. With debug off the settings use this backend instead: it delivers nothing and logs only that
a message was not delivered, never to whom or what."""

import logging

from django.core.mail.backends.base import BaseEmailBackend

logger = logging.getLogger(__name__)


class UndeliveredBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        messages = list(email_messages)
        if messages:
            logger.warning(
                "%d e-mail(s) not delivered: no mail server is configured (EMAIL_URL).", len(messages)
            )
        return len(messages)
