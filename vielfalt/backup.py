"""Backup and restore: one archive with the database, the media files and a manifest of SHA-256 sums.

An archive (``vielfalt-<time>.tar``) holds

- ``manifest.json``: format, creation time, database engine, the row count of every table and the SHA-256 and
  size of every other member;
- ``database.dump``: PostgreSQL's custom format (``pg_dump -Fc --no-owner --no-privileges``), or
  ``database.sqlite3`` for the embedded SQLite default (a copy taken with SQLite's online backup API);
- ``media/<path>``: every file under ``MEDIA_ROOT``.

On PostgreSQL the row counts and the dump come from one exported snapshot, so the manifest describes exactly
what the dump holds even while the portal keeps writing. Media files are read after that snapshot: a file
written during the backup may be in the archive without its row, never a row without a file that existed
before the backup began.

A restore checks every sum before it touches anything, refuses a database that has tables or a media folder
that has files, restores, and then compares every table's row count and every restored file's sum with the
manifest.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess  # noqa: S404 - pg_dump and pg_restore are the tools for PostgreSQL's own format
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import psycopg
from django.conf import settings
from django.utils import timezone

FORMAT = 1
MANIFEST = "manifest.json"
POSTGRES_DUMP = "database.dump"
SQLITE_COPY = "database.sqlite3"
MEDIA_PREFIX = "media/"
CHUNK = 1024 * 1024


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why (for operators, in English)."""


@dataclass(frozen=True)
class Target:
    """Where a restore writes: a database (Django's settings dictionary form) and a media folder."""

    database: dict
    media_root: Path


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# --- Database access -----------------------------------------------------------------------------------------


def _is_postgres(database: dict) -> bool:
    return database["ENGINE"] in ("django.db.backends.postgresql", "vielfalt.postgresql")


def _pg_environment(database: dict) -> dict:
    """libpq's environment for pg_dump/pg_restore: the password never appears on a command line."""
    environment = {**os.environ}
    for variable, key in (
        ("PGHOST", "HOST"),
        ("PGPORT", "PORT"),
        ("PGUSER", "USER"),
        ("PGPASSWORD", "PASSWORD"),
        ("PGDATABASE", "NAME"),
    ):
        value = database.get(key)
        if value:
            environment[variable] = str(value)
    return environment


def _pg_connect(database: dict, **kwargs) -> psycopg.Connection:
    params = {
        "dbname": database["NAME"],
        "user": database.get("USER") or None,
        "password": database.get("PASSWORD") or None,
        "host": database.get("HOST") or None,
        "port": database.get("PORT") or None,
    }
    return psycopg.connect(**{key: value for key, value in params.items() if value is not None}, **kwargs)


def _pg_tables(cursor) -> list[str]:
    cursor.execute(
        "SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables "
        "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"
    )
    return [row[0] for row in cursor.fetchall()]


def _pg_counts(cursor) -> dict[str, int]:
    counts = {}
    for table in _pg_tables(cursor):
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - names from pg_tables, quoted by quote_ident
        counts[table] = cursor.fetchone()[0]
    return counts


def _sqlite_counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        tables = [
            row[0]
            for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        return {
            table: connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]  # noqa: S608
            for table in tables
        }


def table_counts(database: dict) -> dict[str, int]:
    """Every table's row count (PostgreSQL: schema-qualified names; SQLite: plain names)."""
    if _is_postgres(database):
        with _pg_connect(database) as connection, connection.cursor() as cursor:
            return _pg_counts(cursor)
    return _sqlite_counts(Path(database["NAME"]))


# --- Backup --------------------------------------------------------------------------------------------------


def _media_files(media_root: Path) -> list[tuple[str, Path]]:
    if not media_root.is_dir():
        return []
    files = []
    for path in sorted(media_root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            files.append((path.relative_to(media_root).as_posix(), path))
    return files


def _dump_postgres(database: dict, work: Path) -> tuple[Path, dict[str, int]]:
    """pg_dump and the row counts from one snapshot, exported by a transaction held open meanwhile."""
    dump = work / POSTGRES_DUMP
    with _pg_connect(database) as connection:
        connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        connection.read_only = True
        with connection.transaction(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            counts = _pg_counts(cursor)
            result = subprocess.run(  # noqa: S603
                [
                    shutil.which("pg_dump") or "pg_dump",
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    f"--snapshot={snapshot}",
                    f"--file={dump}",
                ],
                env=_pg_environment(database),
                capture_output=True,
                text=True,
                check=False,
            )
    if result.returncode != 0:
        raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
    return dump, counts


def _copy_sqlite(database: dict, work: Path) -> tuple[Path, dict[str, int]]:
    copy = work / SQLITE_COPY
    source = sqlite3.connect(database["NAME"])
    try:
        with sqlite3.connect(copy) as target:
            source.backup(target)
    finally:
        source.close()
    return copy, _sqlite_counts(copy)


def backup_create(*, output_dir: Path, database: dict | None = None, media_root: Path | None = None) -> Path:
    """Write one archive into `output_dir` and return its path. The archive appears under its final name only
    when it is complete."""
    database = database or settings.DATABASES["default"]
    media_root = Path(media_root or settings.MEDIA_ROOT)
    output_dir.mkdir(parents=True, exist_ok=True)
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    archive = output_dir / f"vielfalt-{stamp}.tar"
    number = 1
    while archive.exists():
        number += 1
        archive = output_dir / f"vielfalt-{stamp}-{number}.tar"
    with tempfile.TemporaryDirectory(prefix="vielfalt-backup-", dir=output_dir) as directory:
        work = Path(directory)
        if _is_postgres(database):
            dump, counts = _dump_postgres(database, work)
            engine = "postgresql"
        else:
            dump, counts = _copy_sqlite(database, work)
            engine = "sqlite"
        members = [(dump.name, dump)] + [
            (MEDIA_PREFIX + name, path) for name, path in _media_files(media_root)
        ]
        files = {name: {"sha256": sha256_file(path), "size": path.stat().st_size} for name, path in members}
        manifest = {
            "format": FORMAT,
            "created_at": timezone.now().isoformat(),
            "engine": engine,
            "database": dump.name,
            "tables": counts,
            "files": files,
        }
        partial = work / "archive.tar"
        with tarfile.open(partial, "w") as tar:
            content = json.dumps(manifest, indent=2, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(content)
            info.mtime = int(timezone.now().timestamp())
            tar.addfile(info, io.BytesIO(content))
            for name, path in members:
                tar.add(path, arcname=name, recursive=False)
        os.replace(partial, archive)
    return archive


# --- Restore -------------------------------------------------------------------------------------------------


def _safe_member_name(name: str) -> bool:
    path = PurePosixPath(name)
    return not path.is_absolute() and ".." not in path.parts and name == path.as_posix()


def _read_archive(archive: Path, work: Path) -> dict:
    """Extract the archive into `work` and check every member against the manifest."""
    with tarfile.open(archive, "r") as tar:
        try:
            manifest = json.load(tar.extractfile(MANIFEST))
        except (KeyError, json.JSONDecodeError, TypeError) as error:
            raise BackupError(f"{archive.name} has no readable manifest") from error
        if manifest.get("format") != FORMAT:
            raise BackupError(f"Unknown archive format {manifest.get('format')!r}")
        expected = manifest["files"]
        seen = set()
        for member in tar.getmembers():
            if member.name == MANIFEST:
                continue
            if member.name not in expected or not member.isfile() or not _safe_member_name(member.name):
                raise BackupError(f"Unexpected member in the archive: {member.name[:200]}")
            tar.extract(member, work, filter="data")
            seen.add(member.name)
    missing = sorted(set(expected) - seen)
    if missing:
        raise BackupError(f"Missing from the archive: {', '.join(missing[:5])}")
    for name, facts in expected.items():
        if sha256_file(work / name) != facts["sha256"]:
            raise BackupError(f"Checksum mismatch: {name}")
    return manifest


def _check_empty(target: Target, engine: str) -> None:
    database = target.database
    if engine == "postgresql":
        if not _is_postgres(database):
            raise BackupError("The archive holds a PostgreSQL dump; the target database is not PostgreSQL.")
        with _pg_connect(database) as connection, connection.cursor() as cursor:
            tables = _pg_tables(cursor)
        if tables:
            raise BackupError(
                f"The target database {database['NAME']} is not empty ({len(tables)} tables); "
                "restore only into an empty database."
            )
    else:
        if _is_postgres(database):
            raise BackupError("The archive holds a SQLite database; the target database is PostgreSQL.")
        path = Path(database["NAME"])
        if path.exists() and path.stat().st_size > 0:
            raise BackupError(f"The target database file {path} exists; restore only into a new file.")
    if target.media_root.exists() and any(target.media_root.iterdir()):
        raise BackupError(
            f"The media folder {target.media_root} is not empty; restore only into an empty one."
        )


def backup_restore(*, archive: Path, target: Target | None = None) -> dict:
    """Restore `archive` into an empty database and media folder; return the manifest. Raises BackupError
    (and changes nothing) when a sum does not match or the target is not empty; raises BackupError after the
    restore when a row count or a restored file's sum differs from the manifest."""
    target = target or Target(database=settings.DATABASES["default"], media_root=Path(settings.MEDIA_ROOT))
    work_parent = target.media_root.parent if target.media_root.parent.is_dir() else None
    with tempfile.TemporaryDirectory(prefix="vielfalt-restore-", dir=work_parent) as directory:
        work = Path(directory)
        manifest = _read_archive(archive, work)
        engine = manifest["engine"]
        _check_empty(target, engine)
        database_file = work / manifest["database"]
        if engine == "postgresql":
            result = subprocess.run(  # noqa: S603
                [
                    shutil.which("pg_restore") or "pg_restore",
                    "--no-owner",
                    "--no-privileges",
                    "--exit-on-error",
                    "--single-transaction",
                    f"--dbname={target.database['NAME']}",
                    str(database_file),
                ],
                env=_pg_environment(target.database),
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode != 0:
                raise BackupError(f"pg_restore failed: {result.stderr.strip()}")
        else:
            path = Path(target.database["NAME"])
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(database_file, path)
        target.media_root.mkdir(parents=True, exist_ok=True)
        for name in manifest["files"]:
            if not name.startswith(MEDIA_PREFIX):
                continue
            destination = target.media_root / name.removeprefix(MEDIA_PREFIX)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(work / name, destination)
    backup_verify(manifest=manifest, target=target)
    return manifest


def backup_verify(*, manifest: dict, target: Target) -> None:
    """Compare a restored database and media folder with the manifest of the archive they came from."""
    counts = table_counts(target.database)
    if counts != manifest["tables"]:
        differences = sorted(
            name
            for name in set(counts) | set(manifest["tables"])
            if counts.get(name) != manifest["tables"].get(name)
        )
        raise BackupError(f"Row counts differ after the restore: {', '.join(differences[:10])}")
    for name, facts in manifest["files"].items():
        if not name.startswith(MEDIA_PREFIX):
            continue
        path = target.media_root / name.removeprefix(MEDIA_PREFIX)
        if not path.is_file() or sha256_file(path) != facts["sha256"]:
            raise BackupError(f"Restored file differs from the archive: {name}")
