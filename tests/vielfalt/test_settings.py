"""The settings module in its two shapes: production (DJANGO_DEBUG=0) and the embedded default."""

import os
import subprocess
import sys

from django.conf import settings

PROJECT = settings.BASE_DIR
SERVICE_VARIABLES = ("DATABASE_URL", "REDIS_URL", "DJANGO_DEBUG", "DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS")


def run_manage(*args, **env_overrides):
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARIABLES and not k.startswith("DJANGO_")}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


# The model checks ask the database which features it has (a GeneratedField's support depends on the
# PostgreSQL version), so the deploy check gets the test run's own PostgreSQL when there is one, as in CI.
_DATABASE_URL = os.environ.get("DATABASE_URL", "")
PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "k3y-" + "x7Qp9zR2vL5mN8wB4tY6uJ1hG3fD0sAeCiOk" * 2,
    "DJANGO_ALLOWED_HOSTS": "vielfalt.nrw.example",
    "DATABASE_URL": (
        _DATABASE_URL
        if _DATABASE_URL.startswith("postgres")
        else "sqlite:////tmp/vielfalt-deploy-check.sqlite3"
    ),
    "REDIS_URL": "redis://redis.invalid:6379/0",
    "EMAIL_URL": "smtp+tls://portal:secret@mail.nrw.example:587",
    "PORTAL_URL": "https://vielfalt.nrw.example",  # not https: a warning (vielfalt.W001)
}


def test_production_configuration_passes_the_deploy_check():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in PRODUCTION.items() if k != "DJANGO_SECRET_KEY"}
    result = run_manage("check", **env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_production_refuses_to_start_without_allowed_hosts():
    env = {k: v for k, v in PRODUCTION.items() if k != "DJANGO_ALLOWED_HOSTS"}
    result = run_manage("check", **env)
    assert result.returncode != 0
    assert "DJANGO_ALLOWED_HOSTS must be set" in result.stderr


def test_production_settings_are_strict():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DEBUG, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "s.SECURE_HSTS_SECONDS > 0, s.CELERY_TASK_ALWAYS_EAGER, s.CACHES['default']['BACKEND'].rsplit('.', 1)[1], "
        "s.DATABASES['default']['ENGINE'].rsplit('.', 1)[1])"
    )
    # Production runs on PostgreSQL whatever database this test run has (only the settings are read here).
    database = {"DATABASE_URL": "postgres://portal@db.invalid:5432/vielfalt"}
    result = run_manage("shell", "--no-imports", "-v", "0", "-c", code, **{**PRODUCTION, **database})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "False",
        "True",
        "True",
        "True",
        "True",
        "False",
        "RedisCache",
        "postgresql",
    ]


def test_production_cookies_carry_the_host_prefix():
    """Against cookie tossing from other sites of the ministry's domain (tests/vielfalt/test_cookies.py)."""
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "from surveys.views import EASY_COOKIE, RESPONDENT_COOKIE; "
        "print(s.SESSION_COOKIE_NAME, s.CSRF_COOKIE_NAME, s.LANGUAGE_COOKIE_NAME, EASY_COOKIE, RESPONDENT_COOKIE)"
    )
    database = {"DATABASE_URL": "postgres://portal@db.invalid:5432/vielfalt"}
    result = run_manage("shell", "--no-imports", "-v", "0", "-c", code, **{**PRODUCTION, **database})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "__Host-sessionid",
        "__Host-csrftoken",
        "__Host-django_language",
        "__Host-surveys_easy",
        "__Secure-surveys_respondent",  # its path is /surveys/, which __Host- does not allow
    ]
    # In debug mode (plain HTTP, where a browser refuses both prefixes) the plain names.
    result = run_manage("shell", "--no-imports", "-v", "0", "-c", code)
    assert result.stdout.split() == [
        "sessionid",
        "csrftoken",
        "django_language",
        "surveys_easy",
        "surveys_respondent",
    ]


def test_embedded_default_runs_on_sqlite_with_eager_tasks(tmp_path):
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DEBUG, s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER, "
        "s.CELERY_BROKER_URL, s.MAILERS['default']['BACKEND'].rsplit('.', 2)[1])"
    )
    result = run_manage("shell", "--no-imports", "-v", "0", "-c", code)
    assert result.returncode == 0, result.stderr
    # vielfalt.sqlite: Django's SQLite backend with Unicode's case rules in LIKE and UPPER
    assert result.stdout.split() == ["True", "vielfalt.sqlite", "True", "memory://", "console"]


def test_embedded_default_migrates_and_seeds_a_fresh_sqlite_file(tmp_path):
    database = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    assert run_manage("migrate", "-v", "0", DATABASE_URL=database).returncode == 0
    # Its TOTP secrets and demo seal in the test's own folder, not in the project's (.demo-totp, media/).
    seeded = run_manage(
        "seed_demo",
        "--password",
        "a-demo-password-1",
        "--totp-file",
        str(tmp_path / ".demo-totp"),
        DATABASE_URL=database,
        MEDIA_ROOT=str(tmp_path / "media"),
    )
    assert seeded.returncode == 0, seeded.stderr
    assert "120 employees of Duisburg" in seeded.stdout
    check = run_manage("check", DATABASE_URL=database)
    assert check.returncode == 0, check.stderr


def test_earlier_secret_keys_are_read_from_the_environment():
    """A new secret key without its predecessor as a fallback ends every session, loses the survey answers still
    held and invalidates every recovery code; the fallbacks could not be set (README, "Rotating the secret key")."""
    code = (
        "import django; django.setup(); from django.conf import settings as s; print(s.SECRET_KEY_FALLBACKS)"
    )
    database = {"DATABASE_URL": "postgres://portal@db.invalid:5432/vielfalt"}
    old = "old-" + "a" * 50
    result = run_manage(
        "shell",
        "--no-imports",
        "-v",
        "0",
        "-c",
        code,
        **{**PRODUCTION, **database},
        DJANGO_SECRET_KEY_FALLBACKS=old,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str([old])
