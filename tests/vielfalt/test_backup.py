"""Backup and restore round trips: the demo data into an archive, the archive into a fresh database and media
folder, every table's row count and every file's hash compared."""

import io
import json
import sqlite3
import tarfile
import uuid

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from vielfalt.backup import BackupError, Target, backup_create, backup_restore, sha256_file, table_counts


def _files(root):
    return {
        path.relative_to(root).as_posix(): sha256_file(path) for path in root.rglob("*") if path.is_file()
    }


@pytest.fixture
def fresh_database(postgres):
    """An empty PostgreSQL database beside the test database, dropped afterwards."""
    source = connection.settings_dict
    name = f"{source['NAME']}_restore_{uuid.uuid4().hex[:6]}"
    admin = {**source, "NAME": "postgres"}
    params = {"host": source["HOST"] or None, "port": source["PORT"] or None, "user": source["USER"] or None}
    params = {key: value for key, value in params.items() if value}
    with psycopg.connect(dbname=admin["NAME"], autocommit=True, **params) as maintenance:
        maintenance.execute(f'CREATE DATABASE "{name}"')
    yield {**source, "NAME": name}
    with psycopg.connect(dbname=admin["NAME"], autocommit=True, **params) as maintenance:
        maintenance.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.django_db(transaction=True)
def test_backup_and_restore_round_trip_the_demo_data(postgres, fresh_database, settings, tmp_path):
    settings.DEBUG = True
    call_command("seed_demo", password="demo-password-1")
    media = settings.MEDIA_ROOT
    (media / "agreements" / "1").mkdir(parents=True, exist_ok=True)
    (media / "agreements" / "1" / "signed-v1.pdf").write_bytes(b"%PDF-1.7 signed scan\n")
    (media / "jobs" / "2026" / "12").mkdir(parents=True, exist_ok=True)
    (media / "jobs" / "2026" / "12" / "export.xlsx").write_bytes(uuid.uuid4().bytes * 100)
    source_counts = table_counts(connection.settings_dict)
    source_files = _files(media)
    assert source_counts["public.vielfalt_employee"] == 160
    assert len(source_files) >= 2

    call_command("backup", output_dir=str(tmp_path / "backups"))
    [archive] = (tmp_path / "backups").glob("vielfalt-*.tar")
    restored_media = tmp_path / "restored-media"
    output = io.StringIO()
    call_command(
        "restore",
        str(archive),
        database_url="postgres://{USER}@{HOST}:{PORT}/{NAME}".format(**fresh_database),
        media_root=str(restored_media),
        stdout=output,
    )
    # The operator is told that what was purged or erased since is back, and what to do.
    assert "run `manage.py purge_personal_data` on this database" in output.getvalue()
    assert "repeat every erasure on request (Art. 17 GDPR) made since" in output.getvalue()

    assert table_counts(fresh_database) == source_counts
    assert _files(restored_media) == source_files
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
    assert manifest["tables"] == source_counts
    assert manifest["engine"] == "postgresql"

    # A second restore into the same (now full) database is refused before anything is written.
    with pytest.raises(CommandError, match="not empty"):
        call_command(
            "restore",
            str(archive),
            database_url="postgres://{USER}@{HOST}:{PORT}/{NAME}".format(**fresh_database),
            media_root=str(tmp_path / "other-media"),
        )
    assert not (tmp_path / "other-media").exists()


def _sqlite_database(path):
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE employee (id integer primary key, name text)")
        db.executemany("INSERT INTO employee (name) VALUES (?)", [("Ayşe",), ("Jürgen",), ("Đức",)])
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path)}


def test_sqlite_backup_restores_into_a_new_file(tmp_path):
    database = _sqlite_database(tmp_path / "db.sqlite3")
    media = tmp_path / "media"
    (media / "certificates").mkdir(parents=True)
    (media / "certificates" / "a.pdf").write_bytes(b"%PDF certificate")
    archive = backup_create(output_dir=tmp_path / "backups", database=database, media_root=media)

    target = Target(
        database={**database, "NAME": str(tmp_path / "restored.sqlite3")}, media_root=tmp_path / "restored"
    )
    manifest = backup_restore(archive=archive, target=target)
    assert manifest["engine"] == "sqlite"
    assert table_counts(target.database) == {"employee": 3}
    assert _files(tmp_path / "restored") == _files(media)


def test_restore_refuses_a_tampered_archive_and_a_full_media_folder(tmp_path):
    database = _sqlite_database(tmp_path / "db.sqlite3")
    media = tmp_path / "media"
    media.mkdir()
    (media / "a.pdf").write_bytes(b"original")
    archive = backup_create(output_dir=tmp_path / "backups", database=database, media_root=media)

    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("already here")
    with pytest.raises(BackupError, match="not empty"):
        backup_restore(
            archive=archive,
            target=Target(database={**database, "NAME": str(tmp_path / "new.sqlite3")}, media_root=full),
        )
    assert not (tmp_path / "new.sqlite3").exists()

    tampered = tmp_path / "tampered.tar"
    with tarfile.open(archive) as source, tarfile.open(tampered, "w") as target:
        for member in source.getmembers():
            content = source.extractfile(member).read()
            if member.name == "media/a.pdf":
                content = b"changed!"
            member.size = len(content)
            target.addfile(member, io.BytesIO(content))
    with pytest.raises(BackupError, match="Checksum mismatch: media/a.pdf"):
        backup_restore(
            archive=tampered,
            target=Target(
                database={**database, "NAME": str(tmp_path / "new.sqlite3")}, media_root=tmp_path / "empty"
            ),
        )
    assert not (tmp_path / "new.sqlite3").exists()
