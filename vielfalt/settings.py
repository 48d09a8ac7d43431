"""Settings of the portal: one file, every value read from the environment.

With nothing set the portal runs in debug mode on a SQLite file in the project folder and runs Celery tasks
eagerly in-process (the embedded default). With ``DJANGO_DEBUG=0`` it refuses to start without a secret key
and allowed hosts. ``.env.example`` documents every variable.
"""

import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DJANGO_DEBUG", default=True)

if DEBUG:
    SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="insecure-development-key-never-use-in-production")
    ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
else:
    SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
    ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[])
    if len(SECRET_KEY) < 50:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set (50 characters or more) when DJANGO_DEBUG=0."
        )
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must be set when DJANGO_DEBUG=0.")

# Earlier secret keys, newest first, while a new DJANGO_SECRET_KEY takes over (README, "Rotating the secret key"):
# what they signed or sealed is still read, and only the new key signs and seals.
SECRET_KEY_FALLBACKS = env.list("DJANGO_SECRET_KEY_FALLBACKS", default=[])

CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "vielfalt",
    "partnerships",
    "partnerships.network",
    "trainings",
    "surveys",
    "vielfalt.programme.apps.ProgrammeConfig",  # the roof: reads from all three apps
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",  # full-text search of the practice library (harmless on SQLite)
    "django_filters",
    "crispy_forms",
    "crispy_bootstrap5",
    "vielfalt.library_apps.LoginAttemptsConfig",  # axes
    # the database-level rules (append-only audit log, frozen signed agreements) as migrated triggers
    "pgtrigger",
    # The second factor: authenticator apps (vielfalt.models.AuthenticatorApp, django-otp's TOTP with the key
    # encrypted), recovery codes (static tokens) and passkeys (WebAuthn).
    "django_otp",
    # (the apps under names an administrator understands: vielfalt.library_apps)
    "vielfalt.library_apps.RecoveryCodesConfig",  # django_otp.plugins.otp_static
    "vielfalt.library_apps.PasskeysConfig",  # django_otp_webauthn
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # The middleware of accounts (session, user, second factor, messages) is skipped by the survey's respondent
    # pages, which serve people without one (ACCOUNTLESS_PATHS below, vielfalt.middleware.accounts_only); the
    # idle timeout and django-otp have nothing to do there without a session and a user.
    "vielfalt.middleware.SessionMiddleware",
    "vielfalt.middleware.SessionIdleTimeoutMiddleware",
    # A new login 12 hours after the last, however busy the session (SESSION_ABSOLUTE_AGE).
    "vielfalt.middleware.SessionLifetimeMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "vielfalt.middleware.NulInAddressMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "vielfalt.middleware.AuthenticationMiddleware",
    # A logged-in user's pages are kept by no cache: not after logging out, not for the next person at the desk.
    "vielfalt.middleware.PrivatePagesMiddleware",
    # request.user.is_verified(): whether this session passed a second factor (django-otp) ...
    "vielfalt.middleware.OTPMiddleware",
    # ... and no page but the second factor's own for a user who still owes one (vielfalt.second_factor).
    "vielfalt.middleware.SecondFactorMiddleware",
    "vielfalt.middleware.MessageMiddleware",
    # Inside MessageMiddleware: a request sent to log in because its session has ended is told so.
    "vielfalt.middleware.SessionEndedMiddleware",
    # Before anything reads the body (CSRF's check reads a form): a body larger than any upload, refused unread.
    "vielfalt.middleware.RequestSizeMiddleware",
    # An address of a button or a form opened as a link: the portal's page rather than a blank one.
    "vielfalt.middleware.MethodNotAllowedMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "vielfalt.urls"
WSGI_APPLICATION = "vielfalt.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "vielfalt.context_processors.portal",
            ],
        },
    },
]

# --- Database, cache, Celery -------------------------------------------------------------------------------

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# Least privilege (vielfalt.dbroles): DATABASE_URL is the runtime role, which owns nothing; `manage.py migrate`
# connects with MIGRATE_DATABASE_URL (the owner) when it is set, and then grants the runtime role its rights;
# so do `manage.py refresh_collation`, which rebuilds the owner's indexes (vielfalt.collation), and `manage.py
# restore`, which creates the tables (the runtime role may create nothing).
MIGRATE_DATABASE_URL = env.str("MIGRATE_DATABASE_URL", default="")
DATABASE_RUNTIME_ROLE = ""
if MIGRATE_DATABASE_URL and sys.argv[1:2] in (["migrate"], ["refresh_collation"], ["restore"]):
    DATABASE_RUNTIME_ROLE = DATABASES["default"].get("USER", "")
    DATABASES["default"] = environ.Env.db_url_config(MIGRATE_DATABASE_URL)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["ENGINE"] = "vielfalt.sqlite"  # Unicode's case rules in LIKE and UPPER
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend, preparing repeated statements and checking a reused connection without a round trip
    # (vielfalt.postgresql.base).
    DATABASES["default"]["ENGINE"] = "vielfalt.postgresql"
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Named cursors do not survive a transaction-pooling proxy (PgBouncer) and cost a round trip each.
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
    if env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
        DATABASES["default"].setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=2)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    # Short socket timeouts: an unreachable Redis costs a request at most about a second, after which
    # vielfalt.cache skips it for CACHE_OUTAGE_SECONDS (pages get slower, never fail).
    CACHES = {
        "default": {
            "BACKEND": "vielfalt.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "socket_connect_timeout": env.float("REDIS_CONNECT_TIMEOUT", default=1.0),
                "socket_timeout": env.float("REDIS_TIMEOUT", default=1.0),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
CACHE_OUTAGE_SECONDS = env.int("CACHE_OUTAGE_SECONDS", default=10)
# The dashboard's aggregates stay cached until the next write to their tables (vielfalt.generation), at most this
# long: the bound for figures computed while a write was still uncommitted. 0: no cache.
PROGRAMME_FIGURES_CACHE_SECONDS = env.int("PROGRAMME_FIGURES_CACHE_SECONDS", default=60)


# Jobs report their state through vielfalt.models.Job, so Celery keeps no results of its own.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A pool process that grew past this (KB of resident memory) is replaced after its task.
CELERY_WORKER_MAX_MEMORY_PER_CHILD = env.int("CELERY_WORKER_MAX_MEMORY_PER_CHILD", default=1024 * 1024)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=600)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=660)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A late-acked task must not be handed to a second worker while the first still works on it. Short socket
# timeouts, and a publish that gives up after one quick retry: with Redis unreachable, starting a job says so
# within about two seconds instead of hanging the request (vielfalt.jobs marks the job "could not be queued").
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_TASK_TIME_LIMIT + 300,
    "socket_connect_timeout": env.float("REDIS_CONNECT_TIMEOUT", default=1.0),
    "socket_timeout": env.float("REDIS_TIMEOUT", default=2.0),
}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5}
# The worker logs through Django's LOGGING (with its redacting filter), not through handlers of its own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# The queue the portal's tasks go to (one per deployment sharing a Redis; tests use their own).
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="celery")
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "Europe/Berlin"
# A running job's worker stamps its heartbeat every JOB_HEARTBEAT_SECONDS; beat looks every JOB_WATCH_SECONDS for
# running jobs whose heartbeat is older than JOB_STALE_SECONDS (their worker died): re-queued once, then failed.
JOB_HEARTBEAT_SECONDS = env.float("JOB_HEARTBEAT_SECONDS", default=30)
JOB_STALE_SECONDS = env.float("JOB_STALE_SECONDS", default=120)
JOB_WATCH_SECONDS = env.float("JOB_WATCH_SECONDS", default=60)
# A job still waiting this long after it was queued was lost by the broker (a Redis restart empties the queue):
# beat fails it with a message and the retry button (vielfalt.jobs.jobs_watch).
JOB_QUEUE_LOST_SECONDS = env.float("JOB_QUEUE_LOST_SECONDS", default=60 * 60)
CELERY_BEAT_SCHEDULE = {
    "watch-jobs": {"task": "vielfalt.watch_jobs", "schedule": JOB_WATCH_SECONDS},
    "announce-expiring-agreements": {
        "task": "partnerships.announce_expiring_agreements",
        "schedule": crontab(hour=6, minute=30),
    },
    # Signed agreements whose validity ran out yesterday are ended (after midnight, before anyone looks).
    "end-expired-agreements": {
        "task": "partnerships.end_expired_agreements",
        "schedule": crontab(hour=0, minute=20),
    },
    # Every stored agreement document read again against its SHA-256 (partnerships.services), before office hours.
    "check-archive": {"task": "partnerships.check_archive", "schedule": crontab(hour=4, minute=10)},
    # In the morning, and twice more to catch up a run that could not be sent (trainings.tasks).
    "remind-course-dates": {
        "task": "trainings.send_date_reminders",
        "schedule": crontab(hour="7,12,17", minute=0),
    },
    # Held survey answers move into the results in batches of at least k (surveys.services.held_release).
    "release-held-survey-answers": {
        "task": "surveys.release_held_answers",
        "schedule": env.int("SURVEY_RELEASE_SECONDS", default=600),
    },
    # Survey campaigns close (and publish their results) once their closing day has passed.
    "close-due-survey-campaigns": {"task": "surveys.close_due_campaigns", "schedule": crontab(minute=5)},
    # The retention purge (Löschkonzept): vielfalt/programme/privacy.py.
    "purge-personal-data": {"task": "programme.purge_personal_data", "schedule": crontab(hour=3, minute=15)},
    # The partners' network: the opt-in weekly digest, Monday mornings.
    "network-weekly-digest": {
        "task": "network.send_weekly_digest",
        "schedule": crontab(day_of_week="mon", hour=7, minute=30),
    },
}

# --- Retention periods (Löschkonzept), in days; the purge runs daily (README, "Data protection") ----------------

RETENTION_PERIODS = {
    # An employee record that is inactive and unchanged this long loses names, e-mail and personnel number.
    "employee": env.int("RETENTION_EMPLOYEE_DAYS", default=3 * 365),
    # Files made by background jobs (exports, reports, Art. 15 exports) and their job records.
    "job_file": env.int("RETENTION_JOB_FILE_DAYS", default=30),
    # Audit entries keep what happened but name people only by pseudonyms after this long.
    "audit": env.int("RETENTION_AUDIT_DAYS", default=2 * 365),
    # Survey invitations lose their token hashes and e-mail stamps this many days after their campaign closed.
    "invitation": env.int("RETENTION_INVITATION_DAYS", default=0),
    # Login records of django-axes (user name, IP address, browser of every login and failed attempt).
    "login": env.int("RETENTION_LOGIN_DAYS", default=90),
    # An account of the portal without a login this long since it was made or last activated is deactivated
    # (superusers, the operators' own, excepted); 0: never.
    "dormant": env.int("ACCOUNT_DORMANT_DAYS", default=365),
    # Its holder is told this many days before (and it is deactivated no sooner than that after they were told);
    # 0: no notice.
    "dormant_notice": env.int("ACCOUNT_DORMANT_NOTICE_DAYS", default=14),
    # An account deactivated this long loses its user name, names and e-mail address to a pseudonym.
    "account": env.int("RETENTION_ACCOUNT_DAYS", default=365),
    # Registrations for a network meeting lose name and e-mail address this long after the meeting ended (or was
    # cancelled); how many came from which organisation stays.
    "registration": env.int("RETENTION_REGISTRATION_DAYS", default=365),
}
if any(days < 0 for days in RETENTION_PERIODS.values()) or RETENTION_PERIODS["audit"] < 180:
    raise ImproperlyConfigured(
        "Retention periods must not be negative; the audit log needs at least 180 days."
    )
if RETENTION_PERIODS["dormant"] and RETENTION_PERIODS["dormant_notice"] >= RETENTION_PERIODS["dormant"]:
    raise ImproperlyConfigured("ACCOUNT_DORMANT_NOTICE_DAYS must be shorter than ACCOUNT_DORMANT_DAYS.")

# --- Accounts, sessions, login throttling ------------------------------------------------------------------

AUTH_USER_MODEL = "vielfalt.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "vielfalt.auth.PortalBackend",  # ModelBackend loading the user and their roles in one query
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Lock an account, never an address: a whole city's staff share one public IP.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_CLIENT_IP_CALLABLE = "vielfalt.clients.client_address"  # the address in its login records
AXES_USERNAME_CALLABLE = "vielfalt.accounts.login_attempt_username"  # cut to what its records hold
# axes warns that locking by account alone lets an attacker spread guesses over many accounts; locking by
# address would lock out a whole city behind one proxy, which the programme cannot accept.
# On SQLite (the embedded default) an index's INCLUDE columns are ignored: the index that lets PostgreSQL count
# survey results from it alone (surveys.Response) is a plain one there, which is all SQLite needs.
SILENCED_SYSTEM_CHECKS = ["axes.W006", "models.W040"]
# The counter is reset only when the whole login succeeded, i.e. after the second factor where one is owed
# (vielfalt.accounts): otherwise each correct password would grant five more guesses at the code.
AXES_RESET_ON_SUCCESS = False
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_ENABLE_ADMIN = True
# A failed attempt's form data is kept and shown in the admin ("Form Data"): never the code typed in the second
# step (a recovery code with one letter wrong, beside its holder's name; the codes themselves are kept only as
# hashes) nor the form's CSRF token. The password and user name are axes's own defaults.
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "token", "csrfmiddlewaretoken"]
AXES_VERBOSE = False

# Sessions live in PostgreSQL alone (Django's database sessions, read with plain SQL: vielfalt.sessions): reading
# one by its key costs about what a Redis round trip costs, and a page view then needs nothing from Redis.
SESSION_ENGINE = "vielfalt.sessions"
SESSION_COOKIE_AGE = 30 * 60
# The 30 minutes count from the last request (an idle timeout): vielfalt.middleware extends the session at most
# once a minute, so a page view does not cost a database write.
SESSION_SAVE_EVERY_REQUEST = False
# However busy: a new login this long after the last (OWASP ASVS 3.3.2, level 2: 12 hours), also for a session kept
# alive by a page that polls (vielfalt.middleware.SessionLifetimeMiddleware).
SESSION_ABSOLUTE_AGE = env.int("SESSION_ABSOLUTE_AGE", default=12 * 60 * 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
LANGUAGE_COOKIE_SECURE = not DEBUG
# In production the cookies' names carry the __Host- prefix: a browser then takes such a cookie only from this
# very host over HTTPS, with Path=/ and without Domain. Another site under the ministry's domain (an intranet
# page, a forgotten test system) can otherwise set a cookie for the whole domain that the portal reads as its own
# ("cookie tossing"): a CSRF cookie of the attacker's choosing defeats Django's CSRF check, a session cookie of
# theirs logs the victim into the attacker's account (OWASP ASVS 3.4.4). The survey's own cookies follow
# (surveys.views). Plain names in debug mode, which serves plain HTTP.
COOKIE_PREFIX = "" if DEBUG else "__Host-"
SESSION_COOKIE_NAME = f"{COOKIE_PREFIX}sessionid"
CSRF_COOKIE_NAME = f"{COOKIE_PREFIX}csrftoken"
CSRF_FAILURE_VIEW = "vielfalt.views.csrf_failure"  # the portal's page, not Django's bare English one
LANGUAGE_COOKIE_NAME = f"{COOKIE_PREFIX}django_language"
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"

# --- Security headers --------------------------------------------------------------------------------------

SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # the container's liveness probe speaks plain HTTP
BEHIND_TLS_PROXY = env.bool("DJANGO_BEHIND_TLS_PROXY", default=False)
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# How many proxies append to X-Forwarded-For in front of gunicorn: the client is the entry that many places from
# the end (vielfalt.clients). 0: REMOTE_ADDR is the client. Empty (docker-compose passes it so): the default.
TRUSTED_PROXIES = int(env.str("DJANGO_TRUSTED_PROXIES", default="").strip() or (1 if BEHIND_TLS_PROXY else 0))
SECURE_HSTS_SECONDS = 0 if DEBUG else env.int("DJANGO_HSTS_SECONDS", default=31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Browser features the portal does not use are refused to its pages and anything they could embed (django-
# permissions-policy): a script that got in anyway (or a browser extension's page in a frame) cannot ask a
# respondent or a clerk for camera, microphone, location, payment or devices. Passkeys stay (the second factor,
# this origin only); fullscreen stays for the browser's PDF viewer (presentation mode) on the portal's PDFs.
# Only features browsers know: Chromium logs an error for every name it does not ("Unrecognized feature"), and
# refuses nothing by it. "ambient-light-sensor" is gone (no browser ships the sensor; nothing to refuse).
# "bluetooth" stays: Chrome knows it on Windows, macOS, ChromeOS and Android, where it ships Web Bluetooth
# (Linux builds have neither, and log it).
PERMISSIONS_POLICY = {
    **dict.fromkeys(
        [
            "accelerometer",
            "autoplay",
            "bluetooth",
            "browsing-topics",
            "camera",
            "display-capture",
            "encrypted-media",
            "geolocation",
            "gyroscope",
            "hid",
            "idle-detection",
            "local-fonts",
            "magnetometer",
            "microphone",
            "midi",
            "payment",
            "picture-in-picture",
            "screen-wake-lock",
            "serial",
            "usb",
            "window-management",
            "xr-spatial-tracking",
        ],
        [],
    ),
    "publickey-credentials-create": "self",
    "publickey-credentials-get": "self",
}
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# --- Language, time ----------------------------------------------------------------------------------------

LANGUAGE_CODE = "de"
LANGUAGES = [("de", _("German")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# English dates that a reader in Germany cannot misread (Django's English writes 7 March 2013 as "03/07/2013").
FORMAT_MODULE_PATH = ["vielfalt.locale_formats"]
TIME_ZONE = "Europe/Berlin"
USE_I18N = True
USE_TZ = True

# --- Static and uploaded files -----------------------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Bootstrap and htmx come from npm (package.json) and are served by the portal itself, never from a CDN.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/bootstrap", BASE_DIR / "node_modules/bootstrap/dist"),
    ("vendor/htmx", BASE_DIR / "node_modules/htmx.org/dist"),
]
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))
MEDIA_URL = "/media/"  # never served directly: downloads go through views that check permissions
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "vielfalt.storage.StaticFilesStorage"},
}
WHITENOISE_KEEP_ONLY_HASHED_FILES = False
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# No request body may be larger than this (vielfalt.middleware.RequestSizeMiddleware): the largest upload the
# portal takes (a signed copy of an agreement, a PDF whose seal is checked: 20 MiB) and the rest of its form.
REQUEST_MAX_BYTES = env.int("REQUEST_MAX_BYTES", default=21 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
EMPLOYEE_IMPORT_MAX_BYTES = env.int("EMPLOYEE_IMPORT_MAX_BYTES", default=10 * 1024 * 1024)
# Every import stops after this many data rows, and an XLSX (a zip archive) is refused before it is unpacked
# when its members would expand to more than IMPORT_MAX_UNPACKED_BYTES.
IMPORT_MAX_ROWS = env.int("IMPORT_MAX_ROWS", default=50_000)
IMPORT_MAX_UNPACKED_BYTES = env.int("IMPORT_MAX_UNPACKED_BYTES", default=24 * 1024 * 1024)
# A file larger than either threshold is stored and imported by a background job (with a broker), so that no
# upload holds a web worker for more than a moment; the job stops at IMPORT_SOFT_TIME_LIMIT seconds (killed at
# IMPORT_TIME_LIMIT) and at IMPORT_MAX_MEMORY_MB of address space more than its worker process had before.
IMPORT_INLINE_MAX_BYTES = env.int("IMPORT_INLINE_MAX_BYTES", default=200 * 1024)
IMPORT_INLINE_MAX_ROWS = env.int("IMPORT_INLINE_MAX_ROWS", default=2000)
IMPORT_SOFT_TIME_LIMIT = env.int("IMPORT_SOFT_TIME_LIMIT", default=300)
IMPORT_TIME_LIMIT = env.int("IMPORT_TIME_LIMIT", default=IMPORT_SOFT_TIME_LIMIT + 30)
IMPORT_MAX_MEMORY_MB = env.int("IMPORT_MAX_MEMORY_MB", default=512)

# --- E-mail ------------------------------------------------------------------------------------------------

# EMAIL_URL, e.g. smtp+tls://user:password@mail.example:587 (django-environ's syntax), becomes Django 6.1's MAILERS.
_email = env.email_url("EMAIL_URL", default="consolemail://")
if not DEBUG and _email["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend":
    # The console backend would log every recipient and body (survey and password-reset links): not in production.
    _email["EMAIL_BACKEND"] = "vielfalt.mail.UndeliveredBackend"
MAILERS = {
    "default": {
        "BACKEND": _email["EMAIL_BACKEND"],
        "OPTIONS": {
            key: value
            for key, value in {
                "host": _email.get("EMAIL_HOST"),
                "port": _email.get("EMAIL_PORT"),
                "username": _email.get("EMAIL_HOST_USER"),
                "password": _email.get("EMAIL_HOST_PASSWORD"),
                "use_tls": _email.get("EMAIL_USE_TLS"),
                "use_ssl": _email.get("EMAIL_USE_SSL"),
                "file_path": _email.get("EMAIL_FILE_PATH"),
                "timeout": 30 if _email["EMAIL_BACKEND"].endswith("smtp.EmailBackend") else None,
            }.items()
            if value not in (None, "")
        },
    }
}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Vielfalt verbindet <noreply@vielfalt.example>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Forms -------------------------------------------------------------------------------------------------

# Django's renderer, its forms' selects written in one pass (vielfalt.widgets: 20–30 µs an option through
# Django's templates).
FORM_RENDERER = "vielfalt.widgets.FormRenderer"
CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"
CRISPY_FAIL_SILENTLY = not DEBUG
# Select placeholders, one for each kind of form: a form's empty choice is Django's own
# ("- Select an option -", translated in locale/de), a filter's empty choice means "no restriction".
FILTERS_EMPTY_CHOICE_LABEL = _("- all -")

# Where users reach the portal: absolute links in e-mails, letters and PDFs (no request is at hand there).
PORTAL_URL = env.str("PORTAL_URL", default="http://127.0.0.1:8000").rstrip("/")

# The survey's respondent pages (surveys.urls, surveys.code_urls): the link, the questionnaire and the code form,
# for people without an account. They never read a session or a user, and the middleware of accounts skips them
# (vielfalt.middleware.accounts_only): a respondent who is logged in to the portal in the same browser is not
# recognised there, and answering neither loads nor extends that session. Path prefixes of `request.path_info`;
# tests/surveys/test_accountless.py checks that they hold the respondent pages and nothing else.
ACCOUNTLESS_PATHS = ("/surveys/t/", "/surveys/answer/", "/umfrage/", "/survey/")

# Asking for a new password (vielfalt.password_reset): e-mails to one address, and requests from one client address
# (a city hall's staff share one), within the hour.
PASSWORD_RESET_LIMIT_PER_ADDRESS = env.int("PASSWORD_RESET_LIMIT_PER_ADDRESS", default=3)
PASSWORD_RESET_LIMIT_PER_CLIENT = env.int("PASSWORD_RESET_LIMIT_PER_CLIENT", default=30)
PASSWORD_RESET_LIMIT_SECONDS = env.int("PASSWORD_RESET_LIMIT_SECONDS", default=60 * 60)
# Typing survey codes at /umfrage/: wrong codes allowed per client address before a pause.
SURVEY_CODE_FAILURE_LIMIT = env.int("SURVEY_CODE_FAILURE_LIMIT", default=30)
SURVEY_CODE_COOLOFF_SECONDS = env.int("SURVEY_CODE_COOLOFF_SECONDS", default=15 * 60)

# --- Second factor -----------------------------------------------------------------------------------------

# Ministry staff and administrators always need one; partner HR and course organisers when they set one up or
# when an administrator requires it for their organisation (Organisation.require_second_factor).
OTP_TOTP_ISSUER = "Vielfalt verbindet"
# Guessing is bounded by the account lockout (django-axes counts wrong codes like wrong passwords: five per
# 15 minutes against a million codes), so django-otp's own growing delay per device is not needed on top.
OTP_TOTP_THROTTLE_FACTOR = 0
OTP_STATIC_THROTTLE_FACTOR = 0
RECOVERY_CODE_COUNT = 10
# No page shows a factor's key, QR code or recovery codes to anyone but its holder at setup (the admin's device
# pages are the portal's own, vielfalt.admin.SecondFactorAdmin; this hides them in the libraries' too).
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# Passkeys (django-otp-webauthn) after the password, never instead of it.
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False
OTP_WEBAUTHN_RP_NAME = "Vielfalt verbindet"
_portal = urlsplit(PORTAL_URL)
# Browsers allow passkeys only over HTTPS or on http://localhost.
_webauthn_origin = (
    f"{_portal.scheme}://{_portal.netloc}" if _portal.scheme == "https" else "http://localhost:8000"
)
OTP_WEBAUTHN_RP_ID = env.str("OTP_WEBAUTHN_RP_ID", default=urlsplit(_webauthn_origin).hostname)
OTP_WEBAUTHN_ALLOWED_ORIGINS = env.list("OTP_WEBAUTHN_ALLOWED_ORIGINS", default=[_webauthn_origin])

# --- The electronic seal of every PDF the portal issues (vielfalt/seal.py) ------------------------------------

# A PKCS#12 file with the seal's certificate and key and its password. Unset: <MEDIA_ROOT>/seal/portal-seal.p12,
# the self-signed demo seal `seed_demo` creates; with no seal there at all, PDFs are issued unsealed.
SEAL_PKCS12_PATH = env.str("SEAL_PKCS12_PATH", default="")
SEAL_PKCS12_PASSWORD = env.str("SEAL_PKCS12_PASSWORD", default="")
# A time-stamping authority (RFC 3161) for a trusted signing time; unset: the portal's own clock.
SEAL_TSA_URL = env.str("SEAL_TSA_URL", default="")
# The root certificate(s) of that authority (a PEM file): a timestamp counts as trusted only if its
# certificate chains to one of them. Unset: timestamps are kept but the check reports the portal's own time.
SEAL_TSA_ROOTS = env.str("SEAL_TSA_ROOTS", default="")
# Largest file the public "check a document" page accepts.
SEAL_CHECK_MAX_BYTES = env.int("SEAL_CHECK_MAX_BYTES", default=20 * 1024 * 1024)
# One check of a file on that page runs in a child process, killed after this many seconds, with at most this
# much address space (vielfalt.seal.check_pdf_bounded); beyond either the page says the file could not be checked.
SEAL_CHECK_TIMEOUT_SECONDS = env.float("SEAL_CHECK_TIMEOUT_SECONDS", default=10.0)
SEAL_CHECK_MEMORY_BYTES = env.int("SEAL_CHECK_MEMORY_BYTES", default=512 * 1024 * 1024)
# Checks one client address may have on that page within SEAL_CHECK_LIMIT_SECONDS (counted from the first);
# beyond that the page answers 429 and checks nothing.
SEAL_CHECK_LIMIT = env.int("SEAL_CHECK_LIMIT", default=30)
SEAL_CHECK_LIMIT_SECONDS = env.int("SEAL_CHECK_LIMIT_SECONDS", default=15 * 60)

# --- The operator, shown on the imprint, privacy and accessibility pages ---------------------------------

PORTAL_OPERATOR = {
    "name": env.str(
        "PORTAL_OPERATOR_NAME",
        default="Ministerium für Arbeit, Integration und Soziales des Landes Nordrhein-Westfalen",
    ),
    "address": env.str("PORTAL_OPERATOR_ADDRESS", default="Fürstenwall 25, 40219 Düsseldorf"),
    "email": env.str("PORTAL_OPERATOR_EMAIL", default="vielfalt@mais.nrw.example"),
    "phone": env.str("PORTAL_OPERATOR_PHONE", default="0211 855-5"),
    "representative": env.str("PORTAL_OPERATOR_REPRESENTATIVE", default="Der Minister"),
    "dpo_email": env.str("PORTAL_DPO_EMAIL", default="datenschutz@mais.nrw.example"),
    "accessibility_email": env.str("PORTAL_ACCESSIBILITY_EMAIL", default="barrierefreiheit@mais.nrw.example"),
    "enforcement_body": env.str(
        "PORTAL_ENFORCEMENT_BODY",
        default="Ombudsstelle für barrierefreie Informationstechnik des Landes Nordrhein-Westfalen",
    ),
}

# --- Logging -----------------------------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {"redact_secrets": {"()": "vielfalt.logging.RedactSecrets"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # WeasyPrint reports every refused URL; that is the fetcher doing its job.
        "weasyprint": {"level": "ERROR"},
        "fontTools": {"level": "WARNING"},
        # runserver's access log: route it through the filtered console handler only.
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
