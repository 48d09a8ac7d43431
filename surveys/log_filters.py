"""Keeps answers out of the SQL debug log. With DEBUG on, Django logs every query with its parameters on
`django.db.backends`; the queries that write or read responses and invitations would carry answers and
token hashes. The filter drops those records (everything else is logged as usual)."""

import logging

SURVEY_TABLES = ("surveys_response", "surveys_invitation", "surveys_heldanswer")


class DropSurveyQueries(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        sql = str(getattr(record, "sql", "") or "")
        return not any(table in sql for table in SURVEY_TABLES)


def install() -> None:
    logger = logging.getLogger("django.db.backends")
    if not any(isinstance(f, DropSurveyQueries) for f in logger.filters):
        logger.addFilter(DropSurveyQueries())
