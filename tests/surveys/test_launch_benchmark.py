"""The launch morning's benchmark (tests/bench/survey_launch.py) measures what it says: the CPU its row calls
"PostgreSQL" is that of the server's backends during the run, not of the benchmark's own connection."""

import time

import pytest
from django.db import connection

from surveys.views import EASY_COOKIE, RESPONDENT_COOKIE

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_backends_cpu_leaves_the_benchmarks_own_connection_out(postgres):
    from tests.bench.survey_launch import BackendsCPU

    # The benchmark's own connection has worked before the run (as the in-process benchmarks before it have).
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM generate_series(1, 3000000)")
    backends = BackendsCPU()
    time.sleep(1.2)  # the sampler looks twice; nothing else uses the database meanwhile
    assert backends.stop() < 0.05


class _RecordingConnection:
    """The server's side of one respondent, as the portal answers: the link sets the respondent's state, the
    questionnaire sets it again with the campaign in it."""

    def __init__(self):
        self.requests = []

    def request(self, method, path, *, cookie="", body=None):
        self.requests.append((method, path, cookie))
        state = f"{RESPONDENT_COOKIE}={{}}; HttpOnly; Path=/surveys/; SameSite=Lax"
        if path.startswith("/surveys/t/"):
            return 302, [state.format("link"), f"{EASY_COOKIE}=; Max-Age=0; Path=/"], b""
        if method == "GET":
            return 200, [state.format("link-and-campaign")], b'<input name="form_key" value="key">'
        return 302, [], b""


def test_the_respondents_keep_their_cookies_as_a_browser_does():
    """The POST carries the state the questionnaire's response set (with the campaign, which the POST then
    need not look up), not the link's: the benchmark's respondents sent the link's, so every one of their
    POSTs cost the portal two statements a browser's does not."""
    from tests.bench.survey_launch import Respondents

    connection = _RecordingConnection()
    Respondents.__new__(Respondents)._answer(connection, "token")

    assert [cookie for _method, _path, cookie in connection.requests] == [
        "",
        f"{RESPONDENT_COOKIE}=link",
        f"{RESPONDENT_COOKIE}=link-and-campaign",
    ]
