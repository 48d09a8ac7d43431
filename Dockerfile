# The portal as one image: gunicorn by default; the same image runs the Celery worker and beat
# (see docker-compose.yml). Static files and compiled translations are built into the image.

# --- Front-end assets from npm (Bootstrap, htmx); axe-core is a test dependency and stays out ------------------
FROM node:20-slim AS assets
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error

# --- The portal ----------------------------------------------------------------------------------------------
FROM python:3.12-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MEDIA_ROOT=/data/media \
    WEB_CONCURRENCY=3

# WeasyPrint's libraries (Pango, HarfBuzz with its subsetter, fontconfig), fonts with German, Turkish, Polish and
# Vietnamese letters, and gettext for compilemessages.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 libfontconfig1 \
        fonts-dejavu-core gettext \
    && rm -rf /var/lib/apt/lists/*

# pg_dump and pg_restore for `manage.py backup` / `restore`, in the major version of docker-compose.yml's server
# (PostgreSQL 16; pg_dump refuses a newer server than itself), from the PostgreSQL project's own repository.
ARG POSTGRES_CLIENT_VERSION=16
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && install -d /usr/share/postgresql-common/pgdg \
    && curl -fsSL -o /usr/share/postgresql-common/pgdg/apt.postgresql.org.asc \
        https://www.postgresql.org/media/keys/ACCC4CF8.asc \
    && echo "deb [signed-by=/usr/share/postgresql-common/pgdg/apt.postgresql.org.asc] https://apt.postgresql.org/pub/repos/apt bookworm-pgdg main" \
        > /etc/apt/sources.list.d/pgdg.list \
    && apt-get update \
    && apt-get install -y --no-install-recommends "postgresql-client-${POSTGRES_CLIENT_VERSION}" \
    && apt-get purge -y curl && apt-get autoremove -y \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock

COPY . .
COPY --from=assets /build/node_modules/bootstrap/dist node_modules/bootstrap/dist
COPY --from=assets /build/node_modules/htmx.org/dist node_modules/htmx.org/dist

# Settings fall back to debug mode when DJANGO_DEBUG is unset, which is all these two commands need; the image's
# runtime configuration comes from the environment of the container.
RUN python manage.py compilemessages --ignore=node_modules -v 0 \
    && python manage.py collectstatic --noinput -v 0

# The code stays root-owned and read-only for the portal; only /data (uploads, generated PDFs, beat's schedule)
# is written to.
RUN groupadd --system --gid 10001 vielfalt \
    && useradd --system --uid 10001 --gid vielfalt --home-dir /data --shell /usr/sbin/nologin vielfalt \
    && mkdir -p /data/media /data/backups \
    && chown -R vielfalt:vielfalt /data
USER vielfalt:vielfalt

EXPOSE 8000

# /healthz answers "ok". The probe sends a Host that DJANGO_ALLOWED_HOSTS admits and takes a redirect to HTTPS
# (DJANGO_SECURE_SSL_REDIRECT, on by default when debug is off) as alive too, since it does not follow it.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import http.client, os, sys; h = (os.environ.get('DJANGO_ALLOWED_HOSTS') or 'localhost').split(',')[0].strip().lstrip('.'); h = 'localhost' if h in ('', '*') else h; c = http.client.HTTPConnection('127.0.0.1', 8000, timeout=4); c.request('GET', '/healthz', headers={'Host': h, 'X-Forwarded-Proto': 'https'}); sys.exit(0 if c.getresponse().status in (200, 301) else 1)"]

# gunicorn reads gunicorn.conf.py from the working directory: WEB_CONCURRENCY workers (3 by default) of 3 threads,
# and an access log on stdout in which survey tokens and password-reset links are redacted.
CMD ["gunicorn", "vielfalt.wsgi:application"]
