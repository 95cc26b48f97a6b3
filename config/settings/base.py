"""Settings shared by every environment, read from the environment (12-factor).

Defaults run the embedded demo: SQLite in var/, Celery on kombu's filesystem transport,
mail to the console. Production (DJANGO_DEBUG=false) refuses to start on the development secret.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()

# Runtime state of the embedded demo (SQLite file, file-system broker, media); QINGLIAN_VAR_DIR moves it.
VAR_DIR = Path(env.str("QINGLIAN_VAR_DIR", default=str(BASE_DIR / "var")))

# --- Core -----------------------------------------------------------------------------------------
DEV_SECRET_KEY = "dev-insecure-qinglian-secret-key-change-me-0123456789abcdef"
DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env("DJANGO_SECRET_KEY", default=DEV_SECRET_KEY)
if not DEBUG and SECRET_KEY == DEV_SECRET_KEY:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG=false")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])

INSTALLED_APPS = [
    # First: its translations take precedence over those of the apps below (Django's admin has its own
    # "History", "Delete", ...). https://docs.djangoproject.com/en/5.2/topics/i18n/translation/#how-django-discovers-translations
    "web",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "axes",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_htmx",
    "tracker",
    "tasks",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # One memo per request for the caller's memberships (tracker.memo), around everything that reads them.
    "config.middleware.request_memo",
    # What a request keeps for later ones (the overview's document and parts) is kept after its body is sent.
    "config.middleware.after_response",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: turns a refused login on any page into the lock-out answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

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
                "web.context_processors.header",
            ]
        },
    }
]

# --- Database -------------------------------------------------------------------------------------
# SQLite (the embedded default) runs in WAL mode with a busy timeout so that the web server, the
# worker and beat can write side by side. https://docs.djangoproject.com/en/5.2/ref/databases/#sqlite-notes
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
        }
    )
    VAR_DIR.mkdir(parents=True, exist_ok=True)
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if "postgresql" in DATABASES["default"]["ENGINE"]:
    # No JIT compilation: the app's statements are short, and compiling the dashboards' plans cost 4.2 s
    # for a 0.5 s statement (docs/benchmarks.md). https://www.postgresql.org/docs/15/jit-decision.html
    _pg_options = DATABASES["default"].setdefault("OPTIONS", {})
    _pg_options["options"] = f"{_pg_options.get('options', '')} -c jit=off".strip()
    # Prepared statements for the few statements read through tracker.prepared (the task list's page): Django
    # turns them off by default (prepare_threshold=None) for poolers in transaction mode (pgbouncer), where a
    # prepared statement may not be on the next transaction's server connection: set this false behind one.
    # Django's own statements are bound on the client and never prepared either way.
    # https://www.psycopg.org/psycopg3/docs/advanced/prepare.html
    if env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
        _pg_options.setdefault("prepare_threshold", 5)

# --- Auth, i18n, time -----------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Logins: one throttle and lock-out policy for every way to log in (config/login_policy.py) ------
# django-axes hooks django.contrib.auth.authenticate(), which the API's token view, the admin's and the
# web app's login pages all call. Failures are counted in the shared cache (CACHES below; Redis in
# production) per client address and per username across addresses, each against its own limit; a
# limit reached locks that address or username for LOGIN_LOCKOUT_SECONDS, not extended by attempts
# made while locked, so nobody can be locked out for good. Successful logins are never counted.
# https://django-axes.readthedocs.io/en/latest/4_configuration.html
AUTHENTICATION_BACKENDS = [
    "config.login_policy.LoginPolicyBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_FAILURES_PER_USERNAME = env.int("LOGIN_FAILURES_PER_USERNAME", default=10)
LOGIN_FAILURES_PER_ADDRESS = env.int("LOGIN_FAILURES_PER_ADDRESS", default=30)
LOGIN_LOCKOUT_SECONDS = env.int("LOGIN_LOCKOUT_SECONDS", default=15 * 60)
# How many proxies of ours append to X-Forwarded-For. 0: the client address is REMOTE_ADDR and a client's
# own X-Forwarded-For is ignored (else it could reset its login counters at will).
NUM_PROXIES = env.int("DJANGO_NUM_PROXIES", default=0)
AXES_HANDLER = "config.login_policy.LoginPolicyHandler"
AXES_CLIENT_IP_CALLABLE = "config.login_policy.client_ip"
AXES_LOCKOUT_CALLABLE = "config.login_policy.lockout_response"
# The pages' lock-out answer (429, in the request's language, saying when to try again); the API answers JSON.
AXES_LOCKOUT_TEMPLATE = "web/lockout.html"
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_FAILURE_LIMIT = "config.login_policy.failure_limit"
AXES_COOLOFF_TIME = "config.login_policy.cool_off"
# An attempt refused while locked is not counted and does not extend the lock.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_ENABLE_ADMIN = False  # the counters live in the cache, not in axes' tables
AXES_VERBOSE = False
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

# --- API tokens (django-rest-knox): hashed at rest, several per user, expiring when idle -----------------
# A token dies after API_TOKEN_IDLE_MINUTES without use and API_TOKEN_MAX_DAYS after it was issued,
# whichever comes first; a password change or deactivation revokes every token of the user (api/tokens.py).
# https://jazzband.github.io/django-rest-knox/settings/
API_TOKEN_IDLE_MINUTES = env.int("API_TOKEN_IDLE_MINUTES", default=12 * 60)
API_TOKEN_MAX_DAYS = env.int("API_TOKEN_MAX_DAYS", default=30)
API_TOKENS_PER_USER = env.int("API_TOKENS_PER_USER", default=10)  # a new login drops the oldest beyond this
REST_KNOX = {
    "TOKEN_TTL": timedelta(minutes=API_TOKEN_IDLE_MINUTES),
    "AUTO_REFRESH": True,
    "AUTO_REFRESH_MAX_TTL": timedelta(days=API_TOKEN_MAX_DAYS),
    "MIN_REFRESH_INTERVAL": 60,
    "AUTH_HEADER_PREFIX": "Token",
}

# Chinese first, English too. LocaleMiddleware (after the session) picks the language from the
# set_language cookie, then Accept-Language, then LANGUAGE_CODE. Each app keeps its catalogue in its
# own locale/ folder, which Django finds without LOCALE_PATHS; the compiled .mo files are committed, so
# runtime needs no gettext. English is the msgid language: `en` needs no catalogue.
# https://docs.djangoproject.com/en/5.2/topics/i18n/translation/
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
TIME_ZONE = env("TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True
# The web app's pages (web/): Django's own login and logout views; "/" sends each role to its home.
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

# --- Files ----------------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))

# Evidence is stored here under random names and served only through the authorised download view.
MEDIA_ROOT = env("MEDIA_ROOT", default=str(VAR_DIR / "media"))
MEDIA_URL = None
EVIDENCE_MAX_BYTES = env.int("EVIDENCE_MAX_BYTES", default=20 * 1024 * 1024)
# Quotas: files per task (the next upload: 409 evidence_limit) and bytes per school (409
# school_storage_full), so one account cannot fill the disk that every school shares.
EVIDENCE_MAX_FILES_PER_TASK = env.int("EVIDENCE_MAX_FILES_PER_TASK", default=20)
EVIDENCE_MAX_BYTES_PER_SCHOOL = env.int("EVIDENCE_MAX_BYTES_PER_SCHOOL", default=2 * 1024**3)
EVIDENCE_ALLOWED_TYPES = env.list("EVIDENCE_ALLOWED_TYPES", default=["pdf", "png", "jpeg", "docx", "xlsx"])
# Uploads above this are streamed to a temporary file, never held in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 200
DATA_UPLOAD_MAX_NUMBER_FILES = 5

# --- E-mail ---------------------------------------------------------------------------------------
_email = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(_email)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="qinglian@localhost")

# --- REST framework -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.tokens.TokenAuthentication",  # knox's, one query per request (api/tokens.py)
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.Pagination",
    "DEFAULT_PARSER_CLASSES": [
        "api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "api.ordering.StrictOrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.exceptions.exception_handler",
    # Logins are throttled by the login policy above, not here. Verifying the event log reads every event.
    "DEFAULT_THROTTLE_RATES": {"events_verify": env("THROTTLE_EVENTS_VERIFY", default="6/min")},
    "NUM_PROXIES": NUM_PROXIES,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Qinglian API",
    "DESCRIPTION": "Responsibility tasks, evidence, review, reminders and dashboards for school districts.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several fields share a name ("status", "kind") over different choice sets: name each set once.
    "ENUM_NAME_OVERRIDES": {
        "CycleStatusEnum": "tracker.models.CycleStatus",
        "TaskStatusEnum": "tracker.models.TaskStatus",
        "UnitKindEnum": "tracker.models.UnitKind",
        "RoleEnum": "tracker.models.Role",
        "NotificationKindEnum": "tracker.models.NotificationKind",
        "FlagSeverityEnum": "tracker.models.FlagSeverity",
        "ListKindEnum": "tracker.models.ListKind",
        "RegisterStatusEnum": "tracker.models.RegisterStatus",
        "TaskKindEnum": "tracker.models.TaskKind",
        "CampaignKindEnum": "tracker.models.CampaignKind",
        "InspectionKindEnum": "tracker.inspections.models.InspectionKind",
        "TargetKindEnum": "tracker.inspections.models.TargetKind",
        "CaseTypeEnum": "tracker.inspections.models.CaseType",
        "CaseStatusEnum": "tracker.inspections.models.CaseStatus",
    },
    # Every operation documents its error answers too (api/schema.py), so clients and schema tests see them.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.add_error_responses",
    ],
}

# --- Celery ---------------------------------------------------------------------------------------
# Delivery safety: JSON only; a message is acknowledged after the task ran and is re-queued if
# the worker dies; one message prefetched at a time; the broker's visibility timeout is above the
# longest task's hard limit so a running task is never handed to a second worker.
# https://docs.celeryq.dev/en/stable/userguide/configuration.html
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://localhost/")
# The Redis transport's options (production; the fault tests give them to their own processes too).
REDIS_TRANSPORT_OPTIONS: dict = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    # A message whose worker died is re-queued by the next scan after its visibility timeout;
    # kombu scans every interval x throttle seconds (10 x 10 by default).
    "unacked_restore_interval": env.int("CELERY_UNACKED_RESTORE_INTERVAL", default=10),
    "unacked_restore_throttle": env.int("CELERY_UNACKED_RESTORE_THROTTLE", default=10),
    # Publishing fails fast when Redis is down (the event relay re-sends later) instead of
    # holding the user's request through kombu's default back-off of several seconds.
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 0.5,
    "socket_connect_timeout": 2,
}
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("out", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "out"),
        "data_folder_out": str(BROKER_DIR / "out"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "store_processed": False,
        "control_folder": str(BROKER_DIR / "control"),
        # kombu polls the folder; at its default (1 s) a worker takes about one message a second,
        # and the demo's first minutes (a seeded year of events) would queue the sweep behind them.
        "polling_interval": env.float("CELERY_FILESYSTEM_POLLING_INTERVAL", default=0.1),
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = REDIS_TRANSPORT_OPTIONS
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# A task running when Redis restarts finishes (its work commits once; a copy Redis kept is found done).
# Celery 6 flips the default to cancelling it, which would leave its work to the relay.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=1500)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=1800)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# How long publishing a message may block when the broker is down; the event relay re-sends later.
CELERY_BROKER_PUBLISH_TIMEOUT = env.float("CELERY_BROKER_PUBLISH_TIMEOUT", default=2.0)

# --- Tracker rules (CONTRACT section 2); thresholds may be overridden per cycle -------------------
TRACKER = {
    "WARNING_OVERDUE_TASKS": env.int("TRACKER_WARNING_OVERDUE_TASKS", default=1),
    "CRITICAL_OVERDUE_TASKS": env.int("TRACKER_CRITICAL_OVERDUE_TASKS", default=3),
    "CRITICAL_DAYS_OVERDUE": env.int("TRACKER_CRITICAL_DAYS_OVERDUE", default=7),
    "DUE_SOON_DAYS": env.list("TRACKER_DUE_SOON_DAYS", cast=int, default=[7, 1]),
    "OVERDUE_EVERY_DAYS": env.int("TRACKER_OVERDUE_EVERY_DAYS", default=3),
    "ESCALATION_DAYS": env.int("TRACKER_ESCALATION_DAYS", default=7),
    "URGE_SLA_DAYS": env.float("TRACKER_URGE_SLA_DAYS", default=2),
    "RESPONSE_SLA_DAYS": env.float("TRACKER_RESPONSE_SLA_DAYS", default=3),
    "SWEEP_BATCH_SIZE": env.int("TRACKER_SWEEP_BATCH_SIZE", default=5000),
    "SWEEP_EVERY_MINUTES": env.int("TRACKER_SWEEP_EVERY_MINUTES", default=15),
    # Beat's sweep is fanned out, one Celery task per shard of about this many schools (CONTRACT section 10;
    # tracker/monitoring/shards.py): K workers share it. `manage.py sweep` sweeps every school in one go.
    "SWEEP_SHARD_SCHOOLS": env.int("TRACKER_SWEEP_SHARD_SCHOOLS", default=1000),
    # The daily digest to supervisors and inspectors (django-celery-beat crontab, TIME_ZONE hours).
    "DIGEST_HOUR": env.int("TRACKER_DIGEST_HOUR", default=8),
    # An e-mail digest lists at most this many notifications, then counts the rest.
    "DIGEST_MAX_ITEMS": env.int("TRACKER_DIGEST_MAX_ITEMS", default=50),
    # Early warning (CONTRACT section 7): an open task due within EARLY_WARNING_DAYS is at risk when its
    # progress trails the expected progress by more than AT_RISK_MARGIN points, or when nothing has
    # happened to it for STAGNATION_DAYS. A school may appeal a score for APPEAL_WINDOW_DAYS after approval.
    "EARLY_WARNING_DAYS": env.int("TRACKER_EARLY_WARNING_DAYS", default=14),
    "AT_RISK_MARGIN": env.int("TRACKER_AT_RISK_MARGIN", default=30),
    "STAGNATION_DAYS": env.int("TRACKER_STAGNATION_DAYS", default=14),
    "APPEAL_WINDOW_DAYS": env.int("TRACKER_APPEAL_WINDOW_DAYS", default=7),
    # How long a daily-digest run holds its claims: a run that died leaves them to the next after this.
    "DIGEST_CLAIM_SECONDS": env.int("TRACKER_DIGEST_CLAIM_SECONDS", default=600),
}
WEBHOOK_ALLOW_PRIVATE_TARGETS = env.bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", default=False)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=8)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=5.0)
# Retries: exponential backoff from the base, full jitter, capped; failed after WEBHOOK_MAX_ATTEMPTS. The
# cap must stay below the broker's visibility timeout (CELERY_VISIBILITY_TIMEOUT): check qinglian.E001.
WEBHOOK_RETRY_BASE_SECONDS = env.float("WEBHOOK_RETRY_BASE_SECONDS", default=30.0)
WEBHOOK_RETRY_MAX_SECONDS = env.float("WEBHOOK_RETRY_MAX_SECONDS", default=1800.0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}

EVENT_RELAY_GRACE = timedelta(seconds=env.int("EVENT_RELAY_GRACE_SECONDS", default=60))
