"""No release reveals one answer, and no hidden column links a response to its invitation (issue 13).

The adversary is HR watching its own staff: it knows who has just answered and compares every figure it can
see before and after. And a database administrator reading PostgreSQL's hidden columns: `xmin` (the id of
the transaction that wrote a row) and `ctid` (where the row lies, i.e. the order of insertion)."""

import re
import statistics
import threading

import pytest
from django.db import connection
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from surveys import services
from surveys.credentials import unseal
from surveys.models import HeldAnswer, Invitation, Response
from surveys.results import programme_results
from tests.factories import ministry_user
from tests.surveys.conftest import DEFAULT_ANSWERS, answer, form_key, open_campaign_with_invitations
from vielfalt.permissions import SYSTEM


def _answers(index: int) -> services.Answers:
    """Answers that carry `index` (as a set of languages), so that a response can be told apart."""
    codes = list(services.q.LANGUAGE_CODES)
    return services.Answers(
        own_citizenship="german",
        birth_country="germany",
        immigration_year=None,
        mother_citizenship="german",
        father_citizenship="german",
        mother_immigrated="no",
        father_immigrated="no",
        target_group="other",
        org_unit=None,
        org_unit_other=False,
        languages=tuple(code for bit, code in enumerate(codes) if index & (1 << bit)),
    )


def _index(languages: str) -> int:
    codes = list(services.q.LANGUAGE_CODES)
    return sum(1 << bit for bit, code in enumerate(codes) if f"|{code}|" in languages)


def _seen_by_hr_and_ministry(client_hr, client_ministry, campaign) -> dict:
    results = client_hr.get(reverse("surveys:results", args=[campaign.pk]))
    csv = client_hr.get(reverse("surveys:results_export", args=[campaign.pk, "csv"]))
    xlsx = client_hr.get(reverse("surveys:results_export", args=[campaign.pk, "xlsx"]))
    body = _unrandom(results.content.decode())
    return {
        "results": body[body.index("<main") :] if "<main" in body else body,
        "csv": (csv.status_code, csv.get("Location"), csv.content if csv.status_code == 200 else b""),
        "xlsx": (xlsx.status_code, xlsx.get("Location")),
        "programme": _unrandom(client_ministry.get(reverse("surveys:programme")).content.decode()).split(
            "<main"
        )[-1],
        "programme_figures": repr(programme_results()),
    }


@pytest.mark.django_db
def test_one_more_answer_on_an_open_campaign_changes_no_figure_hr_or_the_ministry_can_see():
    campaign, tokens, hr = open_campaign_with_invitations(employees=20, k=3)
    client_hr, client_ministry = Client(), Client()
    client_hr.force_login(hr)
    client_ministry.force_login(ministry_user())
    for token in tokens[:10]:
        assert answer(Client(), token).status_code == 302
    before = _seen_by_hr_and_ministry(client_hr, client_ministry, campaign)
    # HR watches one person answer (a distinctive answer), then looks again.
    assert answer(Client(), tokens[10], own_citizenship="not_german", languages=["tr"]).status_code == 302
    after = _seen_by_hr_and_ministry(client_hr, client_ministry, campaign)
    assert after == before
    # So it does after a release of held answers while open (the beat task).
    services.held_release(actor=SYSTEM, campaign=campaign)
    assert _seen_by_hr_and_ministry(client_hr, client_ministry, campaign) == before
    # Once closed, everything is published at once: nothing lost.
    services.campaign_close(actor=hr, campaign=campaign)
    page = client_hr.get(reverse("surveys:results", args=[campaign.pk]))
    assert page.context["results"].respondents == 11


_RANDOM_PER_REQUEST = [
    (re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]+'), r"\1…"),
    (re.compile(r'("X-CSRFToken": ")[^"]+'), r"\1…"),
    (re.compile(r'(nonce=")[^"]+'), r"\1…"),
]


def _unrandom(body: str) -> str:
    for pattern, replacement in _RANDOM_PER_REQUEST:
        body = pattern.sub(replacement, body)
    return body


def _page(client, url) -> tuple:
    response = client.get(url)
    body = _unrandom(response.content.decode()) if response.status_code == 200 else ""
    return response.status_code, response.get("Location"), body


def _every_figure(client_hr, client_ministry, campaign) -> dict:
    """Every page and export HR and the ministry can open about an open campaign, as they see it."""
    hr_urls = [
        reverse("surveys:index"),
        reverse("surveys:campaign_detail", args=[campaign.pk]),
        reverse("surveys:results", args=[campaign.pk]),
        reverse("surveys:results_export", args=[campaign.pk, "csv"]),
        reverse("surveys:results_export", args=[campaign.pk, "xlsx"]),
        reverse("dashboard"),
        reverse("dashboard_commitments"),
    ]
    ministry_urls = [reverse("surveys:index"), reverse("surveys:programme"), reverse("dashboard")]
    return {
        **{f"hr {url}": _page(client_hr, url) for url in hr_urls},
        **{f"ministry {url}": _page(client_ministry, url) for url in ministry_urls},
        "programme figures": repr(programme_results()),
    }


@pytest.mark.django_db
def test_one_answer_moves_no_participation_figure_on_any_page_hr_or_the_ministry_can_see():
    """HR watches one person answer and looks at every page again: not even the number of answers (overall,
    per org unit, in the campaign list) moves. Figures move only when a release moves at least k answers, and
    each unit's by a multiple of k."""
    campaign, tokens, hr = open_campaign_with_invitations(employees=20, units=2, k=3)
    client_hr, client_ministry = Client(), Client()
    client_hr.force_login(hr)
    client_ministry.force_login(ministry_user())
    for token in tokens[:10]:
        assert answer(Client(), token).status_code == 302
    services.held_release(actor=SYSTEM, campaign=campaign)
    before = _every_figure(client_hr, client_ministry, campaign)
    assert _every_figure(client_hr, client_ministry, campaign) == before  # nothing random left in the pages
    detail = client_hr.get(reverse("surveys:campaign_detail", args=[campaign.pk]))
    assert detail.context["counts"]["answered"] == 10
    exact = dict(
        Invitation.objects.filter(counted=True).values_list("org_unit__name").annotate(n=Count("pk"))
    )
    # Each unit's figure rounded down to a multiple of k, or not shown at all (where it would tell who took
    # part: test_per_unit_participation_never_tells_hr_that_all_or_none_of_a_small_unit_took_part).
    for row in detail.context["unit_participation"]:
        n = exact.get(row["org_unit__name"], 0)
        assert row["answered"] in (None, n - n % 3)

    assert answer(Client(), tokens[10], own_citizenship="not_german", languages=["tr"]).status_code == 302
    assert _every_figure(client_hr, client_ministry, campaign) == before
    services.held_release(actor=SYSTEM, campaign=campaign)  # 1 held < k: nothing moves
    assert _every_figure(client_hr, client_ministry, campaign) == before

    # k answers later a release moves the figures, by at least k.
    for token in tokens[11:13]:
        assert answer(Client(), token).status_code == 302
    assert services.held_release(actor=SYSTEM, campaign=campaign) == 3
    detail = client_hr.get(reverse("surveys:campaign_detail", args=[campaign.pk]))
    assert detail.context["counts"]["answered"] == 13
    assert all(
        row["answered"] is None or row["answered"] % 3 == 0 for row in detail.context["unit_participation"]
    )
    # Closed: the exact figures (of the units shown).
    services.campaign_close(actor=hr, campaign=campaign)
    detail = client_hr.get(reverse("surveys:campaign_detail", args=[campaign.pk]))
    assert detail.context["counts"]["answered"] == 13
    exact = dict(
        Invitation.objects.filter(counted=True).values_list("org_unit__name").annotate(n=Count("pk"))
    )
    for row in detail.context["unit_participation"]:
        assert row["answered"] in (None, exact.get(row["org_unit__name"], 0))


@pytest.mark.django_db
def test_held_answers_move_only_in_batches_of_at_least_k(client):
    campaign, tokens, hr = open_campaign_with_invitations(employees=20, k=5)
    for number, token in enumerate(tokens[:4]):
        services.response_submit(credential=services.credential_for_token(token), answers=_answers(number))
    assert services.held_release(actor=SYSTEM, campaign=campaign) == 0  # 4 < k
    assert (Response.objects.count(), HeldAnswer.objects.count()) == (0, 4)
    client.force_login(hr)
    page = client.get(reverse("surveys:campaign_detail", args=[campaign.pk]))
    assert page.context["counts"]["answered"] == 0  # held answers are not counted yet
    services.response_submit(credential=services.credential_for_token(tokens[4]), answers=_answers(4))
    assert services.held_release(actor=SYSTEM, campaign=campaign) == 5
    assert (Response.objects.count(), HeldAnswer.objects.count()) == (5, 0)
    assert Invitation.objects.filter(used=True, counted=True).count() == 5
    # Closing releases the rest, however few.
    services.response_submit(credential=services.credential_for_token(tokens[5]), answers=_answers(5))
    services.campaign_close(actor=hr, campaign=campaign)
    assert (Response.objects.count(), HeldAnswer.objects.count()) == (6, 0)
    assert sorted(_index(r.languages) for r in Response.objects.all()) == list(range(6))


def _xmin_groups():
    with connection.cursor() as cursor:
        cursor.execute("SELECT xmin::text, count(*) FROM surveys_invitation WHERE used GROUP BY 1")
        invitations = dict(cursor.fetchall())
        cursor.execute("SELECT xmin::text FROM surveys_response")
        responses = [row[0] for row in cursor.fetchall()]
    return invitations, responses


def _submit_concurrently(tokens, offset=0):
    barrier = threading.Barrier(len(tokens))
    errors = []

    def submit(number, token):
        try:
            barrier.wait()
            services.response_submit(
                credential=services.credential_for_token(token), answers=_answers(offset + number)
            )
        except Exception as error:  # noqa: BLE001
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(n, t)) for n, t in enumerate(tokens)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


@pytest.mark.django_db(transaction=True)
def test_overlapping_submissions_leave_no_response_sharing_a_transaction_id_with_fewer_than_k_invitations(
    postgres,
):
    campaign, tokens, hr = open_campaign_with_invitations(employees=60, k=5)
    # Overlapping submissions, each in its own transaction (one thread and connection each).
    _submit_concurrently(tokens[:24])
    # Transactions that are open at the same time, for certain: the first holds its lock while others commit.
    assert services.held_release(actor=SYSTEM, campaign=campaign) == 24
    _submit_concurrently(tokens[24:27], offset=24)
    assert services.held_release(actor=SYSTEM, campaign=campaign) == 0  # 3 < k: held
    _submit_concurrently(tokens[27:40], offset=27)
    assert services.held_release(actor=SYSTEM, campaign=campaign) == 16

    invitations, responses = _xmin_groups()
    assert len(responses) == 40 == sum(invitations.values())
    for xmin in responses:
        assert invitations.get(xmin, 0) >= campaign.k, (xmin, invitations)
    # No invitation keeps the transaction id of its own submission.
    assert all(count >= campaign.k for count in invitations.values())
    # Closing with a few held: every used invitation is rewritten once, so the last small batch still
    # shares its id with all of them.
    _submit_concurrently(tokens[40:42], offset=40)
    services.campaign_close(actor=hr, campaign=campaign)
    invitations, responses = _xmin_groups()
    assert len(responses) == 42 == sum(invitations.values())
    for xmin in responses:
        assert invitations.get(xmin, 0) == 0 or invitations[xmin] >= campaign.k
    assert len(invitations) == 1
    assert sorted(_index(r.languages) for r in Response.objects.all()) == list(range(42))


def _rank_correlation(values: list[int]) -> float:
    ranks = sorted(range(len(values)), key=values.__getitem__)
    positions = [0] * len(values)
    for rank, position in enumerate(ranks):
        positions[position] = rank
    return statistics.correlation(list(range(len(values))), positions)


@pytest.mark.django_db(transaction=True)
def test_the_physical_order_of_responses_says_nothing_about_the_order_of_answers(postgres):
    campaign, tokens, hr = open_campaign_with_invitations(employees=60, k=5)
    for number, token in enumerate(tokens[:60]):  # one after the other: the order is known to the attacker
        services.response_submit(credential=services.credential_for_token(token), answers=_answers(number))
    services.campaign_close(actor=hr, campaign=campaign)
    with connection.cursor() as cursor:
        cursor.execute("SELECT languages FROM surveys_response ORDER BY ctid")
        order = [_index(row[0]) for row in cursor.fetchall()]
        cursor.execute("SELECT count(DISTINCT xmin::text) FROM surveys_invitation WHERE used")
        invitation_ids = cursor.fetchone()[0]
    assert sorted(order) == list(range(60))
    # Submission order against storage order: |ρ| ≥ 0.6 would happen by chance about once in 10⁶ runs.
    assert abs(_rank_correlation(order)) < 0.6, order
    assert invitation_ids == 1  # nor do the invitations keep the order in which they were used


@pytest.mark.django_db(transaction=True)
def test_a_deadlock_or_serialization_failure_is_retried_and_never_reaches_the_respondent(postgres):
    campaign, tokens, _hr = open_campaign_with_invitations(employees=5, k=3)
    with connection.cursor() as cursor:
        # PostgreSQL itself fails the first two submissions' writes: a deadlock, then a serialization failure.
        cursor.execute("CREATE SEQUENCE test_transient_failures")
        cursor.execute(
            """CREATE FUNCTION test_fail_twice() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE n bigint := nextval('test_transient_failures');
            BEGIN
              IF n = 1 THEN RAISE EXCEPTION 'test deadlock' USING ERRCODE = 'deadlock_detected'; END IF;
              IF n = 2 THEN RAISE EXCEPTION 'test conflict' USING ERRCODE = 'serialization_failure'; END IF;
              RETURN NEW;
            END $$"""
        )
        cursor.execute(
            "CREATE TRIGGER test_fail_twice BEFORE INSERT ON surveys_heldanswer "
            "FOR EACH ROW EXECUTE FUNCTION test_fail_twice()"
        )
    try:
        respondent = Client()
        response = answer(respondent, tokens[0])
        assert response.status_code == 302
        assert b'id="thanks"' in respondent.get(response["Location"]).content
        assert HeldAnswer.objects.count() == 1
        assert Invitation.objects.filter(used=True).count() == 1
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER test_fail_twice ON surveys_heldanswer")
            cursor.execute("DROP FUNCTION test_fail_twice()")
            cursor.execute("DROP SEQUENCE test_transient_failures")


@pytest.mark.django_db
def test_a_used_and_an_unused_link_look_the_same_to_whoever_opens_them():
    campaign, tokens, _hr = open_campaign_with_invitations(employees=5, k=3)
    assert answer(Client(), tokens[0]).status_code == 302

    def visit(token):
        client = Client()
        client.get(f"/surveys/t/{token}/")
        page = client.get("/surveys/answer/")
        key = form_key(client)
        sent = client.post("/surveys/answer/", {**DEFAULT_ANSWERS, "form_key": key})
        thanks = client.get(sent["Location"])
        return (
            page.status_code,
            re.sub(r'nonce="[^"]*"', "", page.content.decode().replace(key, "KEY")),
            sent.status_code,
            sent["Location"],
            re.sub(r'nonce="[^"]*"', "", thanks.content.decode()),
        )

    used, unused = visit(tokens[0]), visit(tokens[1])
    assert used == unused
    assert Invitation.objects.filter(used=True).count() == 2
    # The used link's second answer is held as void (the same work as any answer) and not counted.
    held = [unseal(held.sealed) for held in HeldAnswer.objects.all()]
    assert sorted(fields[services.VOID] for fields in held) == [0, 0, 1]


def _statements(queries) -> list[str]:
    """The SQL run, without its literals (ids, hashes, the sealed answer differ from one credential to the
    next; the statements must not)."""
    return [
        re.sub(r"\d+", "N", re.sub(r"'[^']*'", "'…'", query["sql"]))
        for query in queries
        if "SAVEPOINT" not in query["sql"]  # the test's own transaction around each
    ]


@pytest.mark.django_db
def test_a_used_and_an_unused_credential_cost_a_submission_the_same_work(postgres):
    """Timing cannot tell a used credential from an unused one, by construction: the submission runs the same
    statements (it seals and holds the answer, and sets the row used, either way), the sealed answers have one
    length, and no index of the invitations mentions `used` (else setting it would update the indexes for an
    unused credential and be a cheaper HOT update for a used one). The used credential's second answer is
    dropped by the release."""
    campaign, tokens, hr = open_campaign_with_invitations(employees=6, k=3)
    used = services.credential_for_token(tokens[0])
    services.response_submit(credential=used, answers=_answers(1))

    def submit(credential) -> list[str]:
        with CaptureQueriesContext(connection) as queries:
            services.response_submit(credential=credential, answers=_answers(2))
        return _statements(queries.captured_queries)

    assert submit(used) == submit(services.credential_for_token(tokens[1]))
    assert len({len(held.sealed) for held in HeldAnswer.objects.all()}) == 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'surveys_invitation'")
        assert [d for (d,) in cursor.fetchall() if re.search(r"\bused\b", d)] == []
    services.campaign_close(actor=hr, campaign=campaign)
    assert sorted(_index(r.languages) for r in Response.objects.all()) == [1, 2]
    assert HeldAnswer.objects.count() == 0


def _campaign_of_units(sizes: dict[str, tuple[int, int]], k: int):
    """An open campaign whose org units have (invited, answering) employees each; the answers submitted and
    released. Returns (campaign, hr user)."""
    from tests.factories import EmployeeFactory, OrganisationFactory, OrgUnitFactory, hr_user
    from tests.surveys.conftest import make_campaign

    organisation = OrganisationFactory()
    hr = hr_user(organisation)
    answering = []
    for name, (invited, answered) in sizes.items():
        unit = OrgUnitFactory(organisation=organisation, name=name)
        employees = EmployeeFactory.create_batch(invited, organisation=organisation, org_unit=unit)
        answering += employees[:answered]
    campaign = make_campaign(organisation=organisation, actor=hr, k=k)
    services.campaign_open(actor=hr, campaign=campaign)
    services.invitations_create(actor=hr, campaign=campaign)
    for number, invitation in enumerate(
        Invitation.objects.filter(employee__in=answering).select_related("campaign")
    ):
        token = services.invitation_issue(actor=hr, invitation=invitation).token
        services.response_submit(credential=services.credential_for_token(token), answers=_answers(number))
    assert services.held_release(actor=SYSTEM, campaign=campaign) == len(answering)
    return campaign, hr


@pytest.mark.django_db
def test_per_unit_participation_never_tells_hr_that_all_or_none_of_a_small_unit_took_part(client):
    """HR knows whom it invited in each unit. A unit's answered figure equal to its invited (or zero, or within
    k of either) told HR that each of them had (or had not) taken part: Amt D's 3 of 3 while open (3 is a
    multiple of k), Amt B's 2 of 2 once closed. Those are not shown, nor one more unit, so that the total minus
    the units shown covers at least k who answered and k who did not."""
    campaign, hr = _campaign_of_units(
        {"Amt A": (10, 5), "Amt B": (2, 2), "Amt C": (10, 4), "Amt D": (3, 3)}, k=3
    )
    client.force_login(hr)

    def rows():
        page = client.get(reverse("surveys:campaign_detail", args=[campaign.pk]))
        assert page.context["counts"]["answered"] == 14
        return {
            row["org_unit__name"]: (row["invited"], row["answered"])
            for row in page.context["unit_participation"]
        }

    hidden = {"Amt B": (2, None), "Amt C": (10, None), "Amt D": (3, None)}
    assert rows() == {"Amt A": (10, 3), **hidden}  # open: Amt A's 5 rounded down to a multiple of k
    services.campaign_close(actor=hr, campaign=campaign)
    assert rows() == {"Amt A": (10, 5), **hidden}
    page = client.get(reverse("surveys:campaign_detail", args=[campaign.pk])).content.decode()
    assert 'id="unit-participation-suppressed"' in page
