"""Rapport settings: every value comes from the environment (see README)."""

from __future__ import annotations

import os
from datetime import timedelta
from importlib.util import find_spec
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF

from rapport.env import env_bool, env_int, env_list, env_probability, env_str, persistent_secret_key

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(env_str("RAPPORT_DATA_DIR", str(BASE_DIR.parent / "var"))).resolve()

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = persistent_secret_key(DATA_DIR)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "django_tasks",
    "django_tasks_db",
    "csp",
    "rapport.core",
    "rapport.access",
    "rapport.contacts",
    "rapport.ingest",
    "rapport.quality",
    "rapport.duplicates",
    "rapport.merges",
    "rapport.activity",
    "rapport.consent",
    "rapport.outreach",
    "rapport.privacy",
    "rapport.sync",
    "rapport.segments",
    "rapport.insights",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "rapport.core.middleware.ApiJsonErrorsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "rapport.access.middleware.LoginRequiredMiddleware",
    # Late, so it can turn a locked-out sign-in into the "try again in N minutes" page.
    "axes.middleware.AxesMiddleware",
    # Last, so it is asked first about an exception: a busy database is a 503.
    "rapport.core.busy.DatabaseBusyMiddleware",
]

ROOT_URLCONF = "rapport.urls"
WSGI_APPLICATION = "rapport.wsgi.application"


def _package_dir(name: str) -> Path:
    """Where an installed package lives, found without importing it."""
    spec = find_spec(name)
    if spec is None or spec.origin is None:
        raise RuntimeError(f"The package {name} is not installed.")
    return Path(spec.origin).parent


# Swagger UI for /api/v1/docs comes from django-ninja's own templates and static files,
# not a CDN (see rapport.api.LocalSwagger). Its folders are listed in TEMPLATES and
# STATICFILES_DIRS rather than "ninja" in INSTALLED_APPS, which would import
# django-ninja and pydantic (a third of the start-up) in every `rapport` command.
NINJA_DIR = _package_dir("ninja")

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates", NINJA_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "rapport.core.context_processors.policy",
                "rapport.activity.context_processors.notifications",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'rapport.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Journal mode and pragmas are set by the backend (see rapport/core/sqlite_backend).
    # Connections are kept (DATABASE_CONN_MAX_AGE, as on PostgreSQL), one per web thread:
    # opening one per request threw away SQLite's page cache every time (search over
    # HTTP at 665,000 contacts, p50 14 -> 10 ms on a calm machine; docs/benchmarks.md).
    # A kept connection holds no lock between requests.
    DATABASES["default"]["ENGINE"] = "rapport.core.sqlite_backend"
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}
    DATABASES["default"]["TEST"] = {"NAME": env_str("RAPPORT_TEST_SQLITE", "") or None}
else:
    # One test database per test process, so parallel runs on one server never collide.
    DATABASES["default"]["TEST"] = {"NAME": f"test_rapport_{os.getpid()}"}
    # Prepared statements only where asked for (rapport/core/prepared.py: hot reads whose
    # planning costs more than their work). Django's own queries bind on the client and
    # are never prepared, whatever this number.
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 2**31 - 1
    # No just-in-time compilation: it costs 15-30 ms to compile each query whose
    # estimated cost passes jit_above_cost (a segment's count or first page at a million
    # contacts), and the long statements (customer value, snapshots) were no slower
    # without it (docs/benchmarks.md). An
    # ``options`` in DATABASE_URL that sets jit itself wins.
    server_options = str(DATABASES["default"]["OPTIONS"].get("options", ""))
    if "jit" not in server_options:
        DATABASES["default"]["OPTIONS"]["options"] = f"{server_options} -c jit=off".strip()

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "access.User"
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Sign-in throttling (django-axes): after RAPPORT_LOGIN_FAILURE_LIMIT failed attempts for one
# username, or from one address, sign-in is refused for RAPPORT_LOGIN_LOCKOUT_MINUTES,
# counted from the failure that caused the lock (attempts during it do not extend it).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("RAPPORT_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("RAPPORT_LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "rapport.access.views.login_locked_out"
AXES_ENABLE_ADMIN = False
AXES_VERBOSE = False  # no banner on every command; failures and locks are still logged
# API token failures per client address within RAPPORT_LOGIN_LOCKOUT_MINUTES before 429.
RAPPORT_TOKEN_FAILURE_LIMIT = env_int("RAPPORT_TOKEN_FAILURE_LIMIT", 20)

LANGUAGE_CODE = "en"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static", ("ninja", NINJA_DIR / "static" / "ninja")]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_URL = "/media/"
MEDIA_ROOT = DATA_DIR / "media"
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Behind TLS (SECURE_COOKIES=true) browsers are told to use HTTPS only, for a year.
SECURE_HSTS_SECONDS = 31_536_000 if SESSION_COOKIE_SECURE else 0

# Content-Security-Policy: every script and style comes from our own static files; no
# inline code, no eval, nothing from another origin (the app works offline).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# Background work (imports, audits) goes through Django's task API. "database" keeps the
# queue in the database (no extra server; run `rapport worker`), "rq" uses Redis
# workers for scale (`rapport rqworker`), "immediate" runs tasks inline (tests).
TASK_BACKENDS = {
    "database": {"BACKEND": "django_tasks_db.DatabaseBackend"},
    "rq": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]},
    "immediate": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"},
}
_task_backend = env_str("RAPPORT_TASKS_BACKEND", "database")
if _task_backend not in TASK_BACKENDS:
    raise ValueError(f"RAPPORT_TASKS_BACKEND must be one of {', '.join(TASK_BACKENDS)}")
TASKS = {"default": TASK_BACKENDS[_task_backend]}
# A running job (import, duplicate scan) reports a heartbeat several times in this period;
# one silent for longer lost its process and is taken over or marked stopped.
RAPPORT_JOB_STALE_SECONDS = env_int("RAPPORT_JOB_STALE_SECONDS", 60)
if RAPPORT_JOB_STALE_SECONDS < 1:
    raise ValueError("RAPPORT_JOB_STALE_SECONDS must be at least 1")
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
RQ_QUEUES = {"default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 3600}}
if _task_backend == "rq":
    INSTALLED_APPS.append("django_rq")

# Outgoing mail (reminders and daily digests) through an SMTP server. EMAIL_HOST_PASSWORD
# may be given as EMAIL_HOST_PASSWORD_FILE. EMAIL_USE_TLS is STARTTLS (port 587),
# EMAIL_USE_SSL implicit TLS (port 465); not both.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = bool(env_bool("EMAIL_USE_TLS", False))
EMAIL_USE_SSL = bool(env_bool("EMAIL_USE_SSL", False))
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ValueError("Set EMAIL_USE_TLS or EMAIL_USE_SSL, not both")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Rapport <rapport@localhost>")
# The address people open Rapport at (https://crm.example.com), for links in mail.
RAPPORT_BASE_URL = env_str("RAPPORT_BASE_URL", "").rstrip("/")

# Outbound email to contacts (docs/outreach.md, "Sending"): the From address (default
# DEFAULT_FROM_EMAIL), the mailbox a List-Unsubscribe mailto: points at (none by default:
# set it only to a mailbox Rapport syncs, which then acts on the unsubscribe mails), how long the preference and unsubscribe links in a mail stay valid, and how
# many preference-page changes one client address may make per hour.
RAPPORT_MAIL_FROM = env_str("RAPPORT_MAIL_FROM", "")
RAPPORT_UNSUBSCRIBE_MAILTO = env_str("RAPPORT_UNSUBSCRIBE_MAILTO", "")
RAPPORT_LINK_DAYS = env_int("RAPPORT_LINK_DAYS", 365)
RAPPORT_PREFERENCE_PAGE_LIMIT = env_int("RAPPORT_PREFERENCE_PAGE_LIMIT", 30)
# the purpose click-to-call and click-to-SMS ask the gate for when the user names none
RAPPORT_CALL_PURPOSE = env_str("RAPPORT_CALL_PURPOSE", "sales")

# Orders (docs/segments.md, "Orders and customer value"): the currency customer value is
# counted in, and the rates of others in it ("USD=0.92,GBP=1.17"; orders in a currency
# without a rate are left out of it).
RAPPORT_CURRENCY = env_str("RAPPORT_CURRENCY", "EUR").upper()
RAPPORT_EXCHANGE_RATES = env_str("RAPPORT_EXCHANGE_RATES", "")

# Insights (docs/insights.md): organizations with this tag are the key accounts whose
# contact the relationship-health report follows.
RAPPORT_KEY_ACCOUNT_TAG = env_str("RAPPORT_KEY_ACCOUNT_TAG", "Key account")

# CardDAV (docs/carddav.md): the most cards a book serves to phones (0: no limit; past
# it, "All contacts" holds the contacts the user owns, most recently changed first), and
# the bytes of cards one book may hold (reported as its quota, RFC 4331).
RAPPORT_CARDDAV_MAX_CARDS = env_int("RAPPORT_CARDDAV_MAX_CARDS", 0)
RAPPORT_CARDDAV_QUOTA_BYTES = env_int("RAPPORT_CARDDAV_QUOTA_BYTES", 1_073_741_824)

# Public double opt-in sign-up forms (docs/consent.md): submissions per client address
# within the window, how long a loaded form and a mailed confirmation link stay valid,
# and the sites allowed to embed a form in a frame (CSP frame-ancestors; none: the
# form is only a page of its own).
RAPPORT_CONSENT_SIGNUP_LIMIT = env_int("RAPPORT_CONSENT_SIGNUP_LIMIT", 10)
RAPPORT_CONSENT_SIGNUP_WINDOW_MINUTES = env_int("RAPPORT_CONSENT_SIGNUP_WINDOW_MINUTES", 60)
RAPPORT_CONSENT_FORM_HOURS = env_int("RAPPORT_CONSENT_FORM_HOURS", 24)
RAPPORT_CONSENT_CONFIRM_HOURS = env_int("RAPPORT_CONSENT_CONFIRM_HOURS", 48)
RAPPORT_CONSENT_EMBED_ORIGINS = env_list("RAPPORT_CONSENT_EMBED_ORIGINS", [])

# Region used to read phone numbers typed without a country code when the contact
# has no address country.
RAPPORT_DEFAULT_REGION = env_str("RAPPORT_DEFAULT_REGION", "US").upper()

# A contact neither changed nor confirmed for this many months counts as stale.
RAPPORT_STALE_MONTHS = env_int("RAPPORT_STALE_MONTHS", 12)

# Mail attachments larger than this are kept as name and size only (docs/mail.md).
RAPPORT_MAIL_MAX_ATTACHMENT_BYTES = env_int("RAPPORT_MAIL_MAX_ATTACHMENT_BYTES", 25 * 1024 * 1024)

# Duplicates: pairs at or above the review threshold are proposed for review (and
# shown when a contact is entered); at or above the auto-merge threshold a scan merges
# them by itself, when RAPPORT_DUPLICATE_AUTO_MERGE is on.
RAPPORT_DUPLICATE_REVIEW_THRESHOLD = env_probability("RAPPORT_DUPLICATE_REVIEW_THRESHOLD", 0.5)
RAPPORT_DUPLICATE_AUTO_MERGE_THRESHOLD = env_probability(
    "RAPPORT_DUPLICATE_AUTO_MERGE_THRESHOLD", 0.999
)
RAPPORT_DUPLICATE_AUTO_MERGE = bool(env_bool("RAPPORT_DUPLICATE_AUTO_MERGE", False))

# Privacy requests (docs/privacy.md). The suppression list of erased people is keyed with
# RAPPORT_SUPPRESSION_KEY (or RAPPORT_SUPPRESSION_KEY_FILE); without it, with a key
# derived from SECRET_KEY (a warning says why that is fragile).
RAPPORT_SUPPRESSION_KEY = env_str("RAPPORT_SUPPRESSION_KEY", "")
# A subject access archive larger than this is built in the background and kept on the
# server for RAPPORT_PRIVACY_EXPORT_DAYS days instead of being handed over at once.
RAPPORT_PRIVACY_EXPORT_INLINE_BYTES = env_int("RAPPORT_PRIVACY_EXPORT_INLINE_BYTES", 20 * 1024**2)
RAPPORT_PRIVACY_EXPORT_DAYS = env_int("RAPPORT_PRIVACY_EXPORT_DAYS", 7)
# Who is responsible for the processing, for the records of processing (GDPR Art. 30).
RAPPORT_PRIVACY_CONTROLLER = env_str("RAPPORT_PRIVACY_CONTROLLER", "")
RAPPORT_PRIVACY_CONTACT = env_str("RAPPORT_PRIVACY_CONTACT", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
