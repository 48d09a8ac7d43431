"""Benchmarks of issue 3 (partnerships): the agreement PDF job against WeasyPrint alone, the export of 500
signed agreements (time and peak memory of the exporting process), and the agreement list with 2,000
agreements (query count, throughput against the trivial view)."""

import tempfile
import zipfile
from pathlib import Path
from unittest import mock
from urllib.parse import urlencode

from django.db import transaction
from django.template.loader import render_to_string
from weasyprint import HTML

from partnerships import services as partnership_services
from partnerships.models import Agreement, AgreementDocument, Commitment, Side, Signatory
from partnerships.tasks import task_render_agreement_pdf
from vielfalt.models import Job, Membership, Role, User
from vielfalt.pdf import STATIC_SCHEME, StaticOnlyURLFetcher
from vielfalt.programme.management.commands.seed_scale import SIGNED_YEAR

from .common import Row, median, say, seconds_text, timed
from .employees import session_cookie
from .scale import logged_in, query_count, run_measured, scale, throughput_row
from .seed import Seeded

PDF_REPEAT = 5
PDF_TARGET = 1.5
EXPORT_COUNT = 500
EXPORT_TARGET_BYTES = 300 * 1024 * 1024
BENCH_TITLE = "Benchmark: Vereinbarung mit 3 Unterzeichnenden und 10 Selbstverpflichtungen"


def _bench_agreement(seeded: Seeded) -> Agreement:
    """A draft agreement of bench-stadt (not of the scale data, so that its audit entries never stand in the
    way of `seed_scale --reset`) with 3 signatories and 10 commitments."""
    state = scale().state
    agreement = Agreement.objects.filter(partner=seeded.big, title=BENCH_TITLE).first()
    if agreement is not None:
        return agreement
    with transaction.atomic():
        agreement = Agreement.objects.create(
            partner=seeded.big,
            state_party=state,
            title=BENCH_TITLE,
            preamble="Die Stadt und das Land wollen die interkulturelle Öffnung der Verwaltung voranbringen. "
            * 5,
            body="\n\n".join(
                f"§ {n}. " + "Die Partner verpflichten sich zu Maßnahmen. " * 8 for n in range(1, 9)
            ),
            place="Düsseldorf",
        )
        for order, (side, name, function) in enumerate(
            [
                (Side.PARTNER, "Sören Link", "Oberbürgermeister"),
                (Side.STATE, "Guntram Schneider", "Minister"),
                (Side.STATE, "Zülfiye Kaykin", "Staatssekretärin"),
            ]
        ):
            Signatory.objects.create(
                agreement=agreement, side=side, name=name, function=function, order=order
            )
        for order in range(10):
            Commitment.objects.create(
                agreement=agreement,
                field_of_action=f"Handlungsfeld {order + 1}: Interkulturelle Sensibilisierung",
                description="Alle Auszubildenden und Beschäftigten mit Publikumsverkehr nehmen an einer "
                "interkulturellen Schulung teil. " * 3,
                indicator="Geschulte Beschäftigte",
                target_value=100 + order,
                unit="Personen",
                order=order,
            )
    return agreement


def _delete_generated(agreement: Agreement) -> None:
    for document in AgreementDocument.objects.filter(
        agreement=agreement, kind=AgreementDocument.Kind.GENERATED
    ):
        document.file.delete(save=False)
        document.delete()


def _agreement_html(agreement: Agreement) -> str:
    """The HTML the job hands to WeasyPrint, captured from the service itself."""
    captured = []

    def capture(template_name, context, **kwargs):
        captured.append(render_to_string(template_name, context))
        return b"%PDF-"

    with mock.patch.object(partnership_services, "render_pdf", capture):
        partnership_services.agreement_pdf_bytes(agreement)
    return captured[0]


def _ministry_user(agreement: Agreement) -> User:
    """The job renders as the ministry user who asked for it (the task loads the user again)."""
    user, _created = User.objects.get_or_create(username="bench-ministerium")
    Membership.objects.get_or_create(user=user, organisation=agreement.state_party, role=Role.MINISTRY)
    return user


def bench_agreement_pdf(seeded: Seeded) -> list[Row]:
    agreement = _bench_agreement(seeded)
    staff = _ministry_user(agreement)
    html = _agreement_html(agreement)

    def job():
        _delete_generated(agreement)
        record = Job.objects.create(kind="partnerships.agreement_render_pdf", description="bench")
        seconds, _result = timed(
            lambda: task_render_agreement_pdf.apply(
                kwargs={"job_id": str(record.pk), "agreement_id": agreement.pk, "actor_id": staff.pk}
            ).get()
        )
        record.refresh_from_db()
        if record.status != Job.Status.READY:
            raise AssertionError(f"the PDF job ended {record.status}: {record.error}")
        if not AgreementDocument.objects.filter(
            agreement=agreement, kind=AgreementDocument.Kind.GENERATED
        ).exists():
            raise AssertionError("the PDF job stored no document")
        record.delete()
        return seconds

    def weasyprint():
        document = HTML(string=html, base_url=STATIC_SCHEME, url_fetcher=StaticOnlyURLFetcher())
        seconds, _pdf = timed(lambda: document.write_pdf(pdf_identifier=b"vielfalt", pdf_tags=True))
        return seconds

    job()  # warm-up: fonts, templates
    weasyprint()
    portal, floor = [], []
    for _round in range(PDF_REPEAT):  # taking turns, so that a change in load hits both alike
        portal.append(job())
        floor.append(weasyprint())
    _delete_generated(agreement)
    say(f"agreement PDF: job {[round(t, 3) for t in portal]} s, WeasyPrint {[round(t, 3) for t in floor]} s")
    value, baseline = median(portal), median(floor)
    ratio = value / baseline
    return [
        Row(
            figure=f"Agreement PDF (3 signatories, 10 commitments): job start to stored PDF (Celery task in-process, "
            f"job record, render, SHA-256, store, audit), median of {PDF_REPEAT}",
            value=seconds_text(value),
            baseline=f"{seconds_text(baseline)} (WeasyPrint alone on the same HTML)",
            ratio=f"{ratio:.2f} ×",
            target=f"≤ {PDF_TARGET} ×",
            passed=ratio <= PDF_TARGET,
        )
    ]


def bench_export(seeded: Seeded) -> list[Row]:
    expected = Agreement.objects.filter(status=Agreement.Status.SIGNED, signed_on__year=SIGNED_YEAR).count()
    with tempfile.TemporaryDirectory(prefix="bench-export-") as folder:
        out = Path(folder) / "export.zip"
        seconds, peak, output = run_measured(
            ["export_agreements", "--status", "signed", "--year", str(SIGNED_YEAR), "--out", str(out)]
        )
        with zipfile.ZipFile(out) as archive:
            files = len(archive.namelist()) - 1  # without index.csv
        size = out.stat().st_size
    _seconds, idle_peak, _output = run_measured(["check"])
    say(
        f"export: {output.strip()} in {seconds:.1f} s, peak RSS {peak / 2**20:.0f} MB; `check` {idle_peak / 2**20:.0f} MB"
    )
    problems = (
        [] if files == expected == EXPORT_COUNT else [f"{files} files, {expected} signed in {SIGNED_YEAR}"]
    )
    return [
        Row(
            figure=f"Export of {EXPORT_COUNT} signed agreements (manage.py export_agreements, signed copies + "
            f"CSV index, {size / 1024:.0f} KiB ZIP): time and peak memory (max RSS) of the exporting process",
            value=f"{seconds_text(seconds)}, {peak / 2**20:.0f} MB",
            baseline=f"{idle_peak / 2**20:.0f} MB (manage.py check: Django loaded, nothing exported)",
            ratio=f"{peak / idle_peak:.2f} ×",
            target="≤ 300 MB" + ("; " + "; ".join(problems) if problems else ""),
            passed=peak <= EXPORT_TARGET_BYTES and not problems,
        )
    ]


def bench_list_queries(seeded: Seeded) -> list[Row]:
    """The same request (a search) finding every agreement and finding one partner's: as many queries. (The
    unfiltered list reads its total from the kept counts, a search counts with its page's statement: the two
    differ by that one statement whatever the number of agreements, so they are not compared.)"""
    users = scale()
    client = logged_in(users.ministry)
    unfiltered = query_count(client, "/partnerships/")
    everything = query_count(client, "/partnerships/?" + urlencode({"q": "Erfolgsfaktor"}))
    one_partner = query_count(
        client, "/partnerships/?" + urlencode({"q": users.first_partner.name.split(" (")[0]})
    )
    total = Agreement.objects.filter(title__icontains="Erfolgsfaktor").count()
    listed = Agreement.objects.filter(partner=users.first_partner).count()
    say(
        f"agreement list queries: {everything} finding {total:,} agreements, {one_partner} finding {listed},"
        f" {unfiltered} unfiltered"
    )
    return [
        Row(
            figure=(
                f"Agreement list /partnerships/ (ministry): queries per request of a search finding {total:,}"
                f" agreements (unfiltered: {unfiltered})"
            ),
            value=str(everything),
            baseline=f"{one_partner} (search narrowed to one partner: {listed} agreements)",
            ratio=f"{everything / one_partner:.2f} ×",
            target="equal (constant)",
            passed=everything == one_partner,
        )
    ]


LIST_THROUGHPUT_TARGET = 0.20  # uncached: there is no page cache


def bench_list_throughput(seeded: Seeded) -> list[Row]:
    users = scale()
    total = Agreement.objects.count()
    return [
        throughput_row(
            f"Agreement list /partnerships/ ({total:,} agreements, ministry, page 1)",
            "/partnerships/",
            session_cookie(users.ministry),
            target_ratio=LIST_THROUGHPUT_TARGET,
        )
    ]


BENCHMARKS = [bench_agreement_pdf, bench_export, bench_list_queries, bench_list_throughput]
