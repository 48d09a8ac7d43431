import logging

from vielfalt.logging import RedactSurveyTokens


def test_survey_tokens_are_redacted_from_log_lines():
    record = logging.LogRecord(
        "django.server",
        logging.INFO,
        __file__,
        1,
        '"GET /surveys/t/%s/ HTTP/1.1" 302 0',
        ("abcDEF123_-xyz",),
        None,
    )
    RedactSurveyTokens().filter(record)
    assert record.getMessage() == '"GET /surveys/t/[redacted]/ HTTP/1.1" 302 0'


def test_other_lines_are_left_alone():
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "GET /employees/?org_unit=%s", ("Öztürk",), None
    )
    RedactSurveyTokens().filter(record)
    assert record.getMessage() == "GET /employees/?org_unit=Öztürk"
