"""Small helpers shared by the test modules of every app."""

import contextlib
import io
import re
import shutil
import subprocess
import time
from html.parser import HTMLParser

import pgtrigger
from django.db import connections, transaction
from pypdf import PdfReader

from vielfalt.models import Job


@contextlib.contextmanager
def triggers_aside(*uris: str, using: str = "default"):
    """`pgtrigger.ignore(*uris)` (every registered trigger when none is named) for one transaction, opened
    here. pgtrigger.ignore puts a second command with a parameter in front of every statement, which a
    statement bound on the server (the portal's prepared statements, vielfalt.postgresql) cannot hold; its
    setting, local to the transaction, is made once instead."""
    names = []
    for model, trigger in pgtrigger.registered(*uris):
        pgid = trigger.get_pgid(model)
        names += [f"{model._meta.db_table}:{pgid}", pgid]  # both forms, as pgtrigger.ignore sets them
    with transaction.atomic(using=using):
        if connections[using].vendor == "postgresql":  # elsewhere (SQLite) there are no triggers
            with connections[using].cursor() as cursor:
                cursor.execute(
                    "SELECT set_config('pgtrigger.ignore', %s, true)", ["{" + ",".join(names) + "}"]
                )
        yield


def pdf_text(pdf: bytes) -> str:
    """The text of every page of a PDF, read back as a reader would."""
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def printed_beyond_the_margin(pdf: bytes, *, right_margin_mm: float = 20) -> list[str]:
    """The words of a PDF that reach into its right margin or past the page's edge (where poppler, as a printer,
    cuts them), as `pdftotext -bbox` places them."""
    from tests.conftest import need

    need(bool(shutil.which("pdftotext")), "pdftotext (Debian package poppler-utils)")
    bbox = subprocess.run(
        ["pdftotext", "-bbox", "-", "-"], input=pdf, capture_output=True, check=True, timeout=60
    ).stdout.decode()
    beyond = []
    for page in re.finditer(r'<page width="([\d.]+)".*?</page>', bbox, re.S):
        limit = float(page.group(1)) - right_margin_mm * 72 / 25.4 + 1  # 1 pt for rounding
        for x_max, word in re.findall(r'<word [^>]*xMax="([\d.]+)"[^>]*>([^<]*)</word>', page.group(0)):
            if float(x_max) > limit:
                beyond.append(word)
    return beyond


def wait_until_finished(job: Job, timeout: float = 60) -> Job:
    """Poll a background job until the worker marks it ready or failed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.is_finished:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job still {job.status} after {timeout} s")


class _FormReader(HTMLParser):
    """What a browser would submit from the first <form> with `form_id` (all forms' fields without one)."""

    def __init__(self, form_id: str | None):
        super().__init__(convert_charrefs=True)
        self.form_id, self.inside, self.data = form_id, form_id is None, []
        self.select = self.textarea = None
        self.first_option = None
        self.selected = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and self.form_id is not None:
            self.inside = attrs.get("id") == self.form_id
        if not self.inside:
            return
        name = attrs.get("name")
        if tag == "input" and name and "disabled" not in attrs:
            kind = attrs.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    self.data.append((name, attrs.get("value", "on")))
            elif kind not in ("submit", "button", "file", "image", "reset"):
                self.data.append((name, attrs.get("value", "")))
        elif tag == "select" and name:
            self.select, self.first_option, self.selected = name, None, False
        elif tag == "option" and self.select:
            value = attrs.get("value", "")
            if self.first_option is None:
                self.first_option = value
            if "selected" in attrs:
                self.data.append((self.select, value))
                self.selected = True
        elif tag == "textarea" and name:
            self.textarea = [name, ""]

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form" and self.form_id is not None:
            self.inside = False
        elif tag == "select" and self.select:
            if not self.selected and self.first_option is not None:
                self.data.append((self.select, self.first_option))
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            # Browsers drop the one newline that follows <textarea>.
            self.data.append((self.textarea[0], self.textarea[1].removeprefix("\n")))
            self.textarea = None


def form_data(html: str, form_id: str | None = None) -> dict:
    """The fields a browser would submit from a page's form, as a dict for the test client (a name that
    occurs more than once, a multiple select say, maps to a list)."""
    reader = _FormReader(form_id)
    reader.feed(html)
    data: dict = {}
    for name, value in reader.data:
        if name in data:
            data[name] = [*data[name], value] if isinstance(data[name], list) else [data[name], value]
        else:
            data[name] = value
    return data


class _LinkReader(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        href = dict(attrs).get("href") or ""
        if tag == "a" and href.startswith("/") and not href.startswith("//"):
            self.links.append(href)


def page_links(html: str) -> list[str]:
    """The portal's own links in a page (the paths of its <a href="/…"> elements, in order, once each)."""
    reader = _LinkReader()
    reader.feed(html)
    return list(dict.fromkeys(reader.links))


def assert_links_open(client, html: str) -> list[str]:
    """Follow every link of a page as its reader would (GET, following redirects) and assert that each
    answers 200: a page shows no link to something its reader may not open. Returns the links."""
    links = page_links(html)
    statuses = {link: client.get(link, follow=True).status_code for link in links}
    assert {link: status for link, status in statuses.items() if status != 200} == {}
    return links


def assert_archival(pdf: bytes, *, title: str | None = None, language: str = "de") -> None:
    """A PDF as the portal issues it for the archive: PDF/A-3b and PDF/UA-1 in its XMP metadata, tagged (one
    structure tree whose parent tree knows every page), title and language set, sealed by the portal with the
    PDF/A revision untouched before the seal."""
    import pikepdf

    from vielfalt.seal import check_pdf

    document = pikepdf.open(io.BytesIO(pdf))
    with document.open_metadata() as xmp:
        assert (xmp.get("pdfaid:part"), xmp.get("pdfaid:conformance")) == ("3", "B")
        assert xmp.get("pdfuaid:part") == "1"
        if title is not None:
            assert xmp.get("dc:title") == title
    assert "/OutputIntents" in document.Root
    assert bool(document.Root.MarkInfo.Marked) is True
    assert str(document.Root.Lang) == language
    if title is not None:
        assert str(document.docinfo["/Title"]) == title
    root = document.Root.StructTreeRoot
    nums = root.ParentTree.Nums
    keys = {int(nums[index]) for index in range(0, len(nums), 2)}
    pages = {page.objgen for page in document.pages}
    for page in document.pages:
        assert int(page.obj.StructParents) in keys
    (top,) = root.K
    assert pikepdf.Name.Document == top.S
    for element in top.K:
        if "/Pg" in element:
            assert element.Pg.objgen in pages
    document.close()
    check = check_pdf(pdf)
    assert check.state == "valid", check


def most_rows_touched(plan: str) -> int:
    """The most rows any step of an analysed plan read (from the table or an index) or removed."""
    read = [
        int(rows)
        for rows in re.findall(r"Scan (?:Backward )?(?:using|on) .*actual time=\S+ rows=(\d+)", plan)
    ]
    removed = [int(rows) for rows in re.findall(r"Rows Removed by [\w ]+: (\d+)", plan)]
    assert read, plan
    return max(read + removed)


@contextlib.contextmanager
def statements_with(*texts: str):
    """The SQL statements run inside the block whose text holds each of `texts`, as (sql, params) pairs."""
    from django.db import connection

    statements = []

    def capture(execute, sql, params, many, context):
        if all(text in sql for text in texts):
            statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        yield statements


def opened_forms(url: str, *users, form_id: str | None = None) -> list[tuple]:
    """(client, fields) for each of `users`: logged in, with the form at `url` as each opened it (`form_data`;
    `form_id` on a page of several forms), for tests of two people editing one record."""
    return [
        (client, form_data(client.get(url).content.decode(), form_id)) for client in map(logged_in, users)
    ]


def logged_in(user):
    """A test client logged in as `user`."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def point_celery_at(app, url: str) -> None:
    """Point the test process's Celery app at another broker: its connection and producer pools are dropped.
    Not through `app.close()`, which also takes the app off Celery's list of apps, so that a task module
    imported later (a `shared_task`) no longer registered its task with it: NotRegistered in a later test."""
    app._pool = None
    app.amqp._producer_pool = None
    app.conf.broker_url = url


@contextlib.contextmanager
def broker_unreachable():
    """Redis (Celery's broker) down while the block runs: the broker at a closed port on loopback, so that a task
    handed over inside is refused at once (and not run in-process, as tests otherwise run them). Callbacks of
    `transaction.on_commit` registered inside must run inside too (the caller's own transaction, or
    `django_capture_on_commit_callbacks(execute=True)`)."""
    from django.conf import settings

    from tests.processes import free_port
    from vielfalt.celery import app

    point_celery_at(app, f"redis://127.0.0.1:{free_port()}/0")
    app.conf.task_always_eager = False
    try:
        yield
    finally:
        point_celery_at(app, settings.CELERY_BROKER_URL)
        app.conf.task_always_eager = True
