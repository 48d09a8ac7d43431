"""Issue 14 at full scale: the annual programme report and a partner's activity report print the dashboard's
figures for the same year and scope. The comparison is tests/programme/test_report_agrees.py's (every figure
of the PDF's text read back and compared with /dashboard/?year=…), run here over the bench database's
full-scale data instead of factory and demo data.

Opt-in (not part of a plain `make bench`): it renders the 400-partner report in this process, which takes
minutes. Run it with `BENCH_ONLY=report_agrees make bench` (or tests/bench/run.py)."""

import time

from django.test import Client
from django.utils import timezone

from vielfalt.models import Membership
from vielfalt.programme.management.commands.seed_scale import SIGNED_YEAR

from .common import Row, say, seconds_text
from .scale import logged_in, scale
from .seed import Seeded


class VerifiedClient(Client):
    """The comparison logs its users in with `force_login`; as in the tests, that stands for a completed
    login, second factor included."""

    def force_login(self, user, backend=None):
        self.cookies = logged_in(user).cookies


def bench_report_agrees(seeded: Seeded) -> list[Row]:
    from tests.programme.test_report_agrees import (
        assert_partner_report_agrees,
        assert_programme_report_agrees,
    )

    users = scale()
    year = min(SIGNED_YEAR, timezone.localdate().year)
    client = VerifiedClient()
    started = time.perf_counter()
    problems = []
    try:
        shown = assert_programme_report_agrees(client, users.ministry, year)
        partners = len(shown.rows)
    except AssertionError as error:
        problems.append(f"programme report: {error!r}"[:300])
        partners = 0
    try:
        assert_partner_report_agrees(client, users.first_partner, year)
    except AssertionError as error:
        problems.append(f"partner report: {error!r}"[:300])
    finally:
        # The comparison's HR user stays (its audit entries protect it), without its role.
        Membership.objects.filter(user__username=f"hr-{users.first_partner.slug}-{year}").delete()
    seconds = time.perf_counter() - started
    say(f"report agrees: {partners} partners, {problems or 'every figure agrees'} ({seconds:.0f} s)")
    return [
        Row(
            figure=f"Annual programme report {year} and {users.first_partner.name}'s activity report at full scale "
            "(400 partners): every printed figure equals the dashboard's for the same year and scope "
            "(tests/programme/test_report_agrees.py's comparison)",
            value=("; ".join(problems) if problems else f"agree ({partners} partner pages)")
            + f", {seconds_text(seconds)}",
            target="every figure agrees",
            passed=not problems and partners > 0,
        )
    ]


BENCHMARKS = [bench_report_agrees]
