"""One settings module, driven by the environment.

Quick start needs nothing: SQLite in the project folder, Celery tasks run in-process, DEBUG on.
Production sets DJANGO_DEBUG=0, SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL (PostgreSQL) and
REDIS_URL (broker + cache). Helpers fail loudly on malformed values instead of guessing.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import environ
from django.utils.translation import gettext_lazy

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise environ.ImproperlyConfigured(f"{name} must be a boolean (0/1), got {raw!r}")


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise environ.ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc


DEBUG = _bool("DJANGO_DEBUG", True)
TESTING = _bool("KONGCHUO_TESTING", False)
# `make run`: the production settings (the product's own 404/500 pages, whitenoise, no debug
# pages) served over plain HTTP on this machine only: no TLS redirect, no Secure-only cookies,
# loopback hosts, and the demo logins without a second factor unless asked for.
LOCAL_HTTP = _bool("KONGCHUO_LOCAL_HTTP", False)
if LOCAL_HTTP and DEBUG:
    raise environ.ImproperlyConfigured("KONGCHUO_LOCAL_HTTP=1 is for DJANGO_DEBUG=0 (make run)")

_DEV_SECRET = "dev-only-insecure-secret-key-change-me-0123456789-abcdefghijklmnop"  # noqa: S105 - refused when DJANGO_DEBUG=0
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise environ.ImproperlyConfigured("SECRET_KEY must be set when DJANGO_DEBUG=0")
    SECRET_KEY = _DEV_SECRET

ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h.strip()]
if (DEBUG or LOCAL_HTTP) and not ALLOWED_HOSTS:
    ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver", "[::1]"]
if not DEBUG and not ALLOWED_HOSTS:
    raise environ.ImproperlyConfigured("ALLOWED_HOSTS must be set when DJANGO_DEBUG=0")
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.forms",
    "django_htmx",
    "django_filters",
    "django_tables2",
    "django_celery_beat",
    "import_export",
    "simple_history",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "kongchuo.apps.KongchuoConfig",
    "kongchuo.security.apps.SecurityConfig",
    "students",
    "ledgers",
    "retrieval",
    "dashboards",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "kongchuo.portal.middleware.PortalLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "kongchuo.security.middleware.PasswordChangeRequiredMiddleware",
    "kongchuo.security.middleware.OTPRequiredMiddleware",
    "kongchuo.security.middleware.SessionRefreshMiddleware",
    "kongchuo.portal.middleware.SessionTimeoutMiddleware",
    "kongchuo.portal.middleware.NoStoreMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "kongchuo.urls"
WSGI_APPLICATION = "kongchuo.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "kongchuo.portal.context_processors.portal",
            ],
        },
    }
]

# Form widgets render through the project's templates, so templates/django/forms/ can word them
# (the empty choice of every <select>).
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # PostgreSQL indexes carry non-key columns (INCLUDE) for index-only scans; SQLite builds
    # the same indexes on their keys alone, which is all the embedded default needs.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
else:
    DATABASES["default"]["CONN_MAX_AGE"] = _int("DB_CONN_MAX_AGE", 60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "students.User"
AUTHENTICATION_BACKENDS = [
    "kongchuo.security.spray.SprayAwareAxesBackend",  # axes' backend + the per-address name count
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "kongchuo.security.hashers.Argon2idHasher",  # argon2id at OWASP's cost (see the module)
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# Sessions: idle timeout 30 min (refreshed on each request), absolute cap 12 h (middleware).
SESSION_COOKIE_AGE = 30 * 60
SESSION_SAVE_EVERY_REQUEST = False  # SessionRefreshMiddleware slides the expiry once a minute
KONGCHUO_SESSION_REFRESH_SECONDS = 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_ABSOLUTE_SECONDS = 12 * 3600
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# django-axes: key on username + IP so a school's shared NAT does not lock colleagues out.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # a fixed 15 min from the 5th failure
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Client IP: axes reads proxy headers only through django-ipware (not installed), so the
# AXES_IPWARE_* settings would be ignored; one function decides for axes and the audit log.
KONGCHUO_PROXY_COUNT = _int("PROXY_COUNT", 0)
AXES_CLIENT_IP_CALLABLE = "kongchuo.access.ip.client_ip"
# Password spraying (kongchuo/security/spray.py): more than 10 user names failing from one
# address within 15 minutes (and not signed in since: a typo corrected is not counted) refuses
# that address, for 30 minutes, for every name that has not signed in from it within 90 days.
KONGCHUO_SPRAY_MAX_USERNAMES = _int("KONGCHUO_SPRAY_MAX_USERNAMES", 10)
KONGCHUO_SPRAY_WINDOW_MINUTES = _int("KONGCHUO_SPRAY_WINDOW_MINUTES", 15)
KONGCHUO_SPRAY_COOLOFF_MINUTES = _int("KONGCHUO_SPRAY_COOLOFF_MINUTES", 30)
KONGCHUO_SPRAY_KNOWN_DAYS = _int("KONGCHUO_SPRAY_KNOWN_DAYS", 90)

# Second factor (django-otp TOTP) for county users and the admin site. On by default in
# production; off in the debug quick start so the demo logins need no authenticator app.
KONGCHUO_REQUIRE_OTP = _bool("KONGCHUO_REQUIRE_OTP", not DEBUG and not LOCAL_HTTP)
OTP_TOTP_ISSUER = os.environ.get("OTP_TOTP_ISSUER", "控辍保学平台")

LANGUAGE_CODE = os.environ.get("LANGUAGE_CODE", "zh-hans")
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Date inputs show and read ISO dates first (kongchuo/formats/zh_Hans/formats.py).
FORMAT_MODULE_PATH = ["kongchuo.formats"]
TIME_ZONE = "Asia/Shanghai"  # = kongchuo.portal.logtime.TIME_ZONE (log lines, gunicorn.conf.py)
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
MEDIA_URL = "/media-not-served/"  # uploads are served only through scoped views

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            # Degrades to a miss when Redis is down (pages keep answering from the database).
            "BACKEND": "kongchuo.security.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "kongchuo",
            "TIMEOUT": 300,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery: a real broker when REDIS_URL is set; otherwise the embedded in-process default.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 3600
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 2 * 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
# django-celery-beat's scheduler behind a Redis lock: exactly one beat sends (kongchuo/jobs/beat.py).
CELERY_BEAT_SCHEDULER = "kongchuo.jobs.beat.LockedDatabaseScheduler"
KONGCHUO_BEAT_LOCK_TTL = _int("KONGCHUO_BEAT_LOCK_TTL", 60)
# Celery's own lines in the same layout as Django's (and the same zoned clock, kongchuo/portal/logtime.py).
CELERY_WORKER_LOG_FORMAT = "%(asctime)s %(levelname)s %(processName)s %(name)s %(message)s"
CELERY_WORKER_TASK_LOG_FORMAT = ("%(asctime)s %(levelname)s %(processName)s %(name)s "
                                 "%(task_name)s[%(task_id)s] %(message)s")
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Fixed periodic tasks (beat copies them into django-celery-beat's tables, where they stay editable).
CELERY_BEAT_SCHEDULE = {
    # Tasks queued while Redis was down wait in the outbox table (kongchuo/jobs/outbox.py).
    "security-outbox-drain": {"task": "security.outbox_drain", "schedule": 60.0},
    "security-prune-sessions": {"task": "security.prune_sessions", "schedule": 24 * 3600.0},
    "security-purge-export-files": {"task": "security.purge_export_files", "schedule": 24 * 3600.0},
    # The one watchdog: a running job whose heartbeat stopped (its worker died) is marked failed,
    # and the checks apps register run (a sweep's silent partitions are sent again).
    "jobs-watchdog": {"task": "kongchuo.jobs_watchdog", "schedule": 30.0},
}

# Security headers. Production (DJANGO_DEBUG=0) passes `check --deploy` without warnings.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG and not LOCAL_HTTP:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = _bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = _int("SECURE_HSTS_SECONDS", 31536000)
    # /healthz answers over plain HTTP too (a monitor probing gunicorn on 127.0.0.1, or nginx's
    # port 80), so a health check never loops on the redirect to https.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "kongchuo.security.views.csrf_failure"  # audited like every 403

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

# Every handler carries the redaction filter (no full ID, phone, password or session id in logs).
# Django's default handlers on "django" and "django.server" (console, mail_admins) would bypass
# it, so they are removed and those records go to the root handler like every other.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "kongchuo.security.redact.RedactFilter"}},
    # One time zone with its offset in every line (kongchuo/portal/logtime.py): 2026-03-02T08:15:04.123+08:00.
    "formatters": {"plain": {"class": "kongchuo.portal.logtime.ZonedFormatter",
                             "format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain",
                             "filters": ["redact"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.server": {"handlers": [], "level": "INFO", "propagate": True},
    },
}

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")

# The portal's own settings.
KONGCHUO_COUNTY_NAME = os.environ.get("KONGCHUO_COUNTY_NAME", "霍邱县")
KONGCHUO_COUNTY_CODE = os.environ.get("KONGCHUO_COUNTY_CODE", "341522")
# 48 MB: a county-wide 学籍 roster of 200,000 rows is ~25 MB as xlsx (uploads stream to a temp file).
KONGCHUO_UPLOAD_MAX_BYTES = _int("KONGCHUO_UPLOAD_MAX_BYTES", 48 * 1024 * 1024)
KONGCHUO_IMPORT_MAX_ROWS = _int("KONGCHUO_IMPORT_MAX_ROWS", 500_000)
# Per-role caps under it (rows of one file, counted from the sheet XML before it is parsed):
# a school's roster is a few thousand rows, a township's 10,000–30,000.
KONGCHUO_IMPORT_MAX_ROWS_SCHOOL = _int("KONGCHUO_IMPORT_MAX_ROWS_SCHOOL", 20_000)
KONGCHUO_IMPORT_MAX_ROWS_TOWNSHIP = _int("KONGCHUO_IMPORT_MAX_ROWS_TOWNSHIP", 100_000)
# Every workbook is parsed by a forked reader process (kongchuo/imports/reader.py) under this
# address-space cap above what it inherits (RLIMIT_AS): a sheet calamine would need more for
# is refused, and the worker survives. A 500,000-row roster needs ~1.2 GB.
KONGCHUO_IMPORT_READER_MEMORY_MB = _int("KONGCHUO_IMPORT_READER_MEMORY_MB", 3072)
# Browser uploads up to this size are previewed and written within the request; bigger ones go
# to the Celery worker (kongchuo/imports/views.py).
KONGCHUO_IMPORT_SYNC_BYTES = _int("KONGCHUO_IMPORT_SYNC_BYTES", 1024 * 1024)
KONGCHUO_ATTACHMENT_MAX_BYTES = _int("KONGCHUO_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
# Export files hold children's personal data: deleted this many days after they were made.
KONGCHUO_EXPORT_RETENTION_DAYS = _int("KONGCHUO_EXPORT_RETENTION_DAYS", 7)
# A running sweep partition beats every HEARTBEAT seconds; one silent for STALL seconds (its
# worker died) is sent again by the watchdog (every 30 s), so within STALL + 30 s of the death.
# Derived from partition times measured at county scale (docs/sweeps.md, "Recovery").
KONGCHUO_SWEEP_HEARTBEAT_SECONDS = _int("KONGCHUO_SWEEP_HEARTBEAT_SECONDS", 10)
KONGCHUO_SWEEP_STALL_SECONDS = _int("KONGCHUO_SWEEP_STALL_SECONDS", 60)
# A running job (import, export) whose heartbeat (every second) stopped for this long is
# marked failed by the jobs watchdog (kongchuo/jobs/lifecycle.py; beat runs it every 30 s).
KONGCHUO_JOB_STALL_SECONDS = _int("KONGCHUO_JOB_STALL_SECONDS", 60)
# Fault injection for the sweep reliability tests: each partition waits this long inside its
# transaction (a window to kill a worker mid-sweep). Always 0 in production.
KONGCHUO_SWEEP_PARTITION_DELAY_MS = _int("KONGCHUO_SWEEP_PARTITION_DELAY_MS", 0)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 20000

# Every list table: labelled cells that become one card per row on phones (static/css/portal.css).
DJANGO_TABLES2_TEMPLATE = "_partials/table.html"
# django-filter's empty choice reads 全部 (its default is "---------").
FILTERS_EMPTY_CHOICE_LABEL = gettext_lazy("全部")
FILTERS_NULL_CHOICE_LABEL = gettext_lazy("未填写")

# Files browsers ask for at the site's root (/favicon.ico), served by whitenoise in every mode.
WHITENOISE_ROOT = BASE_DIR / "static" / "root"
WHITENOISE_USE_FINDERS = DEBUG or TESTING
WHITENOISE_AUTOREFRESH = DEBUG or TESTING
