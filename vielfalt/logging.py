"""Logging filters. Survey invitation tokens travel in one URL (/surveys/t/<token>/); no log may keep them."""

import logging
import re

TOKEN_IN_PATH = re.compile(r"(/surveys/t/)[^/\s?\"']+")


class RedactSurveyTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/surveys/t/" in message:
            record.msg = TOKEN_IN_PATH.sub(r"\1[redacted]", message)
            record.args = None
        # django.request keeps the request on the record; error reporters read its path from there.
        request = getattr(record, "request", None)
        if request is not None and "/surveys/t/" in getattr(request, "path", ""):
            record.request = None
        return True
