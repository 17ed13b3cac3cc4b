"""Settings shared by every profile. Profiles import * from here and override."""

from pathlib import Path

from config.env import env

BASE_DIR = Path(__file__).resolve().parent.parent.parent

# ---------------------------------------------------------------- secrets
# Environment variables every server profile must be given: no value here, and no fallback in the
# services and production profiles (they refuse to start, naming the variable). The embedded
# profile (`make run`) falls back to committed development values and the test profile to
# test-only ones, each set in its own module. SECRET_KEY, PII_KEYS, PII_ACTIVE_KEY_ID,
# PII_HASH_KEY and CHAIN_WALLET_MASTER_KEY are read from these by each profile.
SECRET_ENV_VARS = ("DJANGO_SECRET_KEY", "PII_KEYS", "PII_ACTIVE_KEY_ID", "PII_HASH_KEY", "CHAIN_WALLET_MASTER_KEY")

# ---------------------------------------------------------------- core
DEBUG = env.bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_prometheus",
    "rest_framework",
    "django_filters",
    "django_ratelimit",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "core",
    "accounts",
    "notifications",
    "ledger",
    "marketplace",
    "verticals",
    "leads",
    "auctions",
    "escrow",
    "chain",
    "integrations",
    "analytics",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "core.middleware.CorrelationIdMiddleware",
    "core.middleware.ApiErrorMiddleware",
    "core.middleware.RejectNulBytesMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "core.middleware.ReadYourWritesMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = "config.wsgi.application"

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
                "notifications.context_processors.unread_notifications",
            ],
        },
    },
]

# ---------------------------------------------------------------- users
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"  # each role lands on its dashboard (analytics.views)
LOGOUT_REDIRECT_URL = "home"
# Sessions are read from the cache (Redis) and written through to the database: a signed-in page
# reads no session row from PostgreSQL; with the cache down Django reads the row (cached_db).
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# A password reset link works for a day (Django's default is three); a new password, or a log-in
# since the link was sent, spends it at once.
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24

# ---------------------------------------------------------------- i18n
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# ---------------------------------------------------------------- static
STATIC_URL = "/static/"
# Only production collects static files (whitenoise serves them); elsewhere whitenoise serves
# them straight from the finders.
STATIC_ROOT = env.str("DJANGO_STATIC_ROOT", "") or None
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# ---------------------------------------------------------------- database router
DATABASE_ROUTERS = ["config.db_router.PrimaryReplicaRouter"]
# Aliases that may serve stale-tolerant reads; empty means "read the primary".
DATABASE_READ_REPLICAS: list[str] = []
# After a client writes, its reads go to the primary for this many seconds.
DATABASE_PIN_SECONDS = env.int("DATABASE_PIN_SECONDS", 5)

# ---------------------------------------------------------------- email (a backend setting)
EMAIL_BACKEND = env.str("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_TIMEOUT = env.int("DJANGO_EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", "Lead Engine <no-reply@leadengine.local>")
# The site's public address: links in emails (notifications, one-click unsubscribe) are absolute.
SITE_URL = env.str("DJANGO_SITE_URL", "http://localhost:8000")
# High-volume events (a seller's sales) are emailed as one digest per this many seconds.
NOTIFICATIONS_DIGEST_SECONDS = env.int("NOTIFICATIONS_DIGEST_SECONDS", 3600)

# ---------------------------------------------------------------- celery
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 3600
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis brokers redeliver an unacknowledged message to another worker after this many
# seconds (the worker that took it died). Keep it above the longest task.
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", 3600)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
# Base of the exponential backoff between retries, in seconds (1 → ~1 s, 2 s, 4 s with jitter).
PIPELINE_RETRY_BACKOFF = env.int("PIPELINE_RETRY_BACKOFF", 2)
PIPELINE_MAX_RETRIES = 3
# How often the analytics rollups catch up with the facts (the dashboards' freshness), seconds.
ANALYTICS_REFRESH_SECONDS = env.int("ANALYTICS_REFRESH_SECONDS", 10)
CELERY_BEAT_SCHEDULE: dict = {
    # The safety net behind each auction's scheduled close (auctions.close_auction, eta=deadline).
    "auctions-close-due": {"task": "auctions.close_due", "schedule": 5.0, "options": {"expires": 5.0}},
    # Buy-now listings past their 7 days (auctions.services.buynow.buy_now_expire_due; idempotent).
    "auctions-expire-buy-now": {"task": "auctions.expire_buy_now", "schedule": 60.0, "options": {"expires": 60.0}},
    # Confirmation tracking, stuck/dropped re-sends (chain/transactions.py; idempotent).
    "chain-poll-txs": {"task": "chain.poll_txs", "schedule": 5.0, "options": {"expires": 5.0}},
    # Settlement: advance states from confirmed transactions, flush mint batches, release due
    # deals (escrow/services/settlement.py; idempotent).
    "escrow-advance": {"task": "escrow.advance", "schedule": 2.0, "options": {"expires": 2.0}},
    # The books against the chain: escrow held, NFT owners (escrow/services/reconcile.py).
    "escrow-reconcile": {"task": "escrow.reconcile", "schedule": 60.0, "options": {"expires": 60.0}},
    # Deposits and withdrawals: confirmed vault logs into the ledger, withdrawals completed or
    # refunded (escrow/services/deposits.py, escrow/services/withdrawals.py; idempotent).
    "escrow-index-vault": {"task": "escrow.index_vault", "schedule": 2.0, "options": {"expires": 2.0}},
    # Seller reputation scores whose tenure grew with time alone (leads.seller_reputation; idempotent).
    "leads-refresh-seller-reputation": {
        "task": "leads.refresh_seller_reputation",
        "schedule": 86400.0,
        "options": {"expires": 3600.0},
    },
    # Deliveries whose retry is due, or whose worker died mid-send (integrations.services.deliveries).
    "integrations-deliver-due": {"task": "integrations.deliver_due", "schedule": 10.0, "options": {"expires": 10.0}},
    # Autobid rules tuned by outcomes, at most once a day each (auctions.services.autobid_tuning; idempotent).
    "auctions-autobid-tune": {"task": "auctions.autobid_tune", "schedule": 3600.0, "options": {"expires": 3600.0}},
    # Rollups: recompute the rows whose facts changed (analytics/rollups.py; idempotent).
    "analytics-refresh-rollups": {
        "task": "analytics.refresh_rollups",
        "schedule": float(ANALYTICS_REFRESH_SECONDS),
        "options": {"expires": float(ANALYTICS_REFRESH_SECONDS)},
    },
    # Digest emails of high-volume notifications (notifications.services.digest_send_due; idempotent).
    "notifications-digest": {
        "task": "notify.send_digests",
        "schedule": float(NOTIFICATIONS_DIGEST_SECONDS),
        "options": {"expires": float(NOTIFICATIONS_DIGEST_SECONDS)},
    },
}
# Worker processes keep their database connections between tasks. Celery's Django fix-up closes
# them (and, with the psycopg pool, the pool) before and after every task unless DB_REUSE_MAX is
# set: then it recycles them every that many tasks. Between tasks core.pipeline drops a connection
# that broke or outlived WORKER_CONN_MAX_AGE (the CONN_MAX_AGE of worker processes without a pool),
# and CONN_HEALTH_CHECKS re-checks a reused one before a task's first query.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", 1000)
WORKER_CONN_MAX_AGE = env.int("WORKER_CONN_MAX_AGE", 600)
# Workers log through Django's LOGGING (JSON lines with correlation ids), not Celery's format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_WORKER_SEND_TASK_EVENTS = False

# ---------------------------------------------------------------- rest framework
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["core.api.throttling.SlidingWindowThrottle"],
    # JSON only: every answer under /api/, errors included, is JSON (docs/api.md); the interactive
    # docs are /api/docs/.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Bodies are JSON only (forms and multipart are a 415): one way to send each value, null included.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "core.api.schema.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.CreatedCursorPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "core.api.exceptions.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Lead Engine API",
    "DESCRIPTION": "Integrator API for the Lead Engine marketplace. Authenticate with "
    "`Authorization: Api-Key <key>`; create keys on your account page.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # The ApiKeyAuth security scheme, and each operation's security, come from the views'
    # authentication classes (accounts.api.authentication.ApiKeyAuthenticationScheme).
    # Request bodies get their own components, so a required text field says minLength 1 there.
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI served from our own static files: /api/docs/ works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "LeadStatusEnum": "leads.choices.LeadStatus",
        "DestinationKindEnum": "integrations.choices.DestinationKind",
        "VerticalStatusEnum": "verticals.choices.VerticalStatus",
        "DeadLetterStatusEnum": "core.choices.DeadLetterStatus",
        "LedgerTransactionKindEnum": "ledger.choices.LedgerTransactionKind",
        "LedgerAccountKindEnum": "ledger.choices.LedgerAccountKind",
        "AuctionStatusEnum": "auctions.choices.AuctionStatus",
        "BuyNowStatusEnum": "auctions.choices.BuyNowStatus",
        # A settlement's state (purchases' escrow.state, pending earnings' settlement_state): one enum.
        "StateEnum": "escrow.models.Settlement.State",
        "UsStateEnum": "leads.validation.US_STATE_CODES",
        "DisputeReasonEnum": "escrow.choices.DisputeReason",
        "DisputeResponseEnum": "escrow.choices.DisputeResponse",
        "DisputePartyEnum": "escrow.choices.DisputeParty",
        "SellerReputationLevelEnum": "leads.choices.SellerReputationLevel",
        "DispositionStatusEnum": "auctions.choices.DispositionStatus",
        "DispositionChannelEnum": "auctions.choices.DispositionChannel",
    },
}

# ---------------------------------------------------------------- rate limits (sliding window)
# "<count>/<seconds>s" — e.g. 1000 requests per 60 s per API key.
RATE_LIMITS = {
    "api": env.str("RATE_LIMIT_API", "1000/60s"),
    "api_anon": env.str("RATE_LIMIT_API_ANON", "60/60s"),
    "login": env.str("RATE_LIMIT_LOGIN", "10/60s"),
    "signup": env.str("RATE_LIMIT_SIGNUP", "10/3600s"),
    # Password reset requests per IP (each may send an email), and "send the confirmation link
    # again" per user.
    "password_reset": env.str("RATE_LIMIT_PASSWORD_RESET", "5/3600s"),
    "email_verify_resend": env.str("RATE_LIMIT_EMAIL_VERIFY_RESEND", "3/3600s"),
    "ingest": env.str("RATE_LIMIT_INGEST", "600/60s"),
    # Dispute writes through the API (opening, answers, evidence: each may carry files), per key.
    "disputes": env.str("RATE_LIMIT_DISPUTES", "60/3600s"),
    "form": env.str("RATE_LIMIT_FORM", "20/3600s"),
    "faucet": env.str("RATE_LIMIT_FAUCET", "1/3600s"),
    "healthz": env.str("RATE_LIMIT_HEALTHZ", "120/60s"),
    # Refused lead form webhook deliveries recorded per sender address (beyond it they are still
    # answered 4xx, only not stored: a flood of forged requests cannot fill the events table).
    "adhook_refused": env.str("RATE_LIMIT_ADHOOK_REFUSED", "120/60s"),
}
RATE_LIMIT_ENABLED = env.bool("RATE_LIMIT_ENABLED", True)

# ---------------------------------------------------------------- ASGI server process
# gc.set_threshold for ASGI processes after gc.freeze() (config/asgi.py); "0" keeps Python's defaults.
ASGI_GC_THRESHOLD = tuple(int(n) for n in env.str("ASGI_GC_THRESHOLD", "50000,50,100").split(",") if n.strip() != "0")
# The development faucet (test USDC) is on in DEBUG, or when this says so; the production profile
# pins it (and DEBUG) off whatever the environment says.
LEDGER_FAUCET_ENABLED = env.bool("LEDGER_FAUCET_ENABLED", False)
# Number of proxies in front of the app that append to X-Forwarded-For (0: use REMOTE_ADDR).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", 0)

# ---------------------------------------------------------------- PII vault
# PII_KEYS: keys for the lead PII vault, "kid:base64-32-bytes,kid2:..." (AES-256-GCM); the
# active one (PII_ACTIVE_KEY_ID) encrypts, every listed one decrypts (rotate with
# `manage.py pii_rotate_keys`). PII_HASH_KEY makes the keyed hashes used for dedupe. All three
# are secrets: see SECRET_ENV_VARS above.

# ---------------------------------------------------------------- leads
LEAD_MAX_BULK = 500
LEAD_MAX_BODY_BYTES = 2 * 1024 * 1024
LEAD_CONSENT_MAX_AGE_DAYS = 30
LEAD_CSV_MAX_BYTES = 20 * 1024 * 1024
LEAD_CSV_MAX_ROWS = 50000
DATA_UPLOAD_MAX_MEMORY_SIZE = LEAD_MAX_BODY_BYTES + 512 * 1024
# Ad-platform lead form webhooks (leads.adplatforms, docs/integrations.md): the largest body a
# hook reads, and how old a signed Meta delivery may be before it is refused as a replay.
LEADS_AD_HOOK_MAX_BYTES = env.int("LEADS_AD_HOOK_MAX_BYTES", 64 * 1024)
LEADS_AD_HOOK_MAX_AGE_SECONDS = env.int("LEADS_AD_HOOK_MAX_AGE_SECONDS", 300)
# Where Meta leads are fetched by leadgen_id: one HTTP client; development and the tests point it
# at the local fake Graph server (`manage.py fake_graph`), production at graph.facebook.com.
LEADS_META_GRAPH_BACKEND = env.str("LEADS_META_GRAPH_BACKEND", "leads.adplatforms.graph.HttpGraphClient")
LEADS_META_GRAPH_URL = env.str("LEADS_META_GRAPH_URL", "http://127.0.0.1:8790/v21.0")
LEADS_META_GRAPH_TIMEOUT = env.float("LEADS_META_GRAPH_TIMEOUT", 10.0)
# The demo seller (leads/demo.py) submits a lead every DEMO_LEADS_SECONDS through the real
# ingestion path, so `make run` always has live auctions. On in the embedded profile only.
DEMO_LEADS = env.bool("DEMO_LEADS", False)
DEMO_LEADS_SECONDS = env.int("DEMO_LEADS_SECONDS", 5)

# ---------------------------------------------------------------- disputes
# Evidence files: kept through Django's storage API (STORAGES["default"]; local files under
# MEDIA_ROOT unless configured), served only to the dispute's parties and staff, never publicly.
MEDIA_ROOT = env.str("DJANGO_MEDIA_ROOT", str(BASE_DIR / "media"))
MEDIA_URL = "/media/"
DISPUTE_EVIDENCE_MAX_BYTES = env.int("DISPUTE_EVIDENCE_MAX_BYTES", 5 * 1024 * 1024)
DISPUTE_EVIDENCE_MAX_FILES = 5

# ---------------------------------------------------------------- auctions
# A bid in the last SOFT_CLOSE seconds extends the deadline by EXTENSION seconds, at most
# MAX_EXTENSIONS times.
AUCTION_SOFT_CLOSE_SECONDS = env.int("AUCTION_SOFT_CLOSE_SECONDS", 10)
AUCTION_SOFT_CLOSE_EXTENSION = env.int("AUCTION_SOFT_CLOSE_EXTENSION", 10)
AUCTION_MAX_EXTENSIONS = env.int("AUCTION_MAX_EXTENSIONS", 5)

# ---------------------------------------------------------------- chain (chain/client.py)
# JSON-RPC URL of the EVM node; empty disables the chain (production may run without one
# until settlement ships). Development and tests use anvil on 127.0.0.1:8545 (`make run`/`make test`).
CHAIN_RPC_URL = env.str("CHAIN_RPC_URL", "http://127.0.0.1:8545")
# The chain id the node must report (0: accept whatever it reports).
CHAIN_ID = env.int("CHAIN_ID", 0)
CHAIN_RPC_TIMEOUT = env.int("CHAIN_RPC_TIMEOUT", 10)
# Confirmations before a transaction counts as final; the block holding it is the first
# (1: final once mined).
CHAIN_CONFIRMATIONS = env.int("CHAIN_CONFIRMATIONS", 1)
# Hex private key that deploys the contracts (`manage.py chain_deploy`). Empty: anvil's first
# dev account, and only on chain id 31337 outside production.
CHAIN_DEPLOYER_KEY = env.str("CHAIN_DEPLOYER_KEY", "")
# Report the node in /healthz (informational: a down node does not fail readiness).
CHAIN_HEALTHCHECK = env.bool("CHAIN_HEALTHCHECK", True)
# Hot signer wallets (chain/transactions.py): comma-separated hex private keys, never logged.
# Empty: anvil's dev accounts 1..5, and only on chain id 31337 outside production.
CHAIN_SIGNER_KEYS = env.str("CHAIN_SIGNER_KEYS", "")
# EIP-1559 policy: max fee = base fee x CHAIN_BASE_FEE_MULTIPLIER + tip, capped at CHAIN_MAX_FEE_GWEI.
CHAIN_BASE_FEE_MULTIPLIER = env.int("CHAIN_BASE_FEE_MULTIPLIER", 2)
CHAIN_PRIORITY_FEE_WEI = env.int("CHAIN_PRIORITY_FEE_WEI", 1_000_000_000)
CHAIN_MAX_FEE_GWEI = env.int("CHAIN_MAX_FEE_GWEI", 500)
# A sent transaction not mined after this many seconds is re-sent with the same nonce and
# fees bumped by 12.5 %; after CHAIN_TX_MAX_ATTEMPTS broadcasts it is marked failed for staff.
CHAIN_STUCK_SECONDS = env.int("CHAIN_STUCK_SECONDS", 30)
CHAIN_TX_MAX_ATTEMPTS = env.int("CHAIN_TX_MAX_ATTEMPTS", 5)
# CHAIN_WALLET_MASTER_KEY: AES-256-GCM key (base64 of 32 bytes) sealing custodial wallet keys
# (chain/wallets.py); a secret (SECRET_ENV_VARS).

# ---------------------------------------------------------------- settlement (escrow/services/settlement.py)
# Settle every sale on chain (escrow, LeadNFT, release) once the contracts are deployed on the
# node's chain (`manage.py chain_deploy`); off, sales stay in the ledger only.
CHAIN_SETTLEMENT = env.bool("CHAIN_SETTLEMENT", True)
# Stage chain.mint: a batch is sent at CHAIN_MINT_BATCH funded sales or once the oldest has
# waited CHAIN_MINT_FLUSH_SECONDS, whichever comes first.
CHAIN_MINT_BATCH = env.int("CHAIN_MINT_BATCH", 50)
CHAIN_MINT_FLUSH_SECONDS = env.int("CHAIN_MINT_FLUSH_SECONDS", 3)
# The release split, in basis points of the price: platform fee, and the vertical owner's
# royalty where the vertical has an owner address. The seller gets the rest.
PLATFORM_FEE_BPS = env.int("PLATFORM_FEE_BPS", 500)
VERTICAL_ROYALTY_BPS = env.int("VERTICAL_ROYALTY_BPS", 200)
# Address credited with the platform fee in the vault. Empty: the deployer's address.
CHAIN_PLATFORM_ADDRESS = env.str("CHAIN_PLATFORM_ADDRESS", "")
# The USDC token contract. Empty: MockUSDC, deployed by `manage.py chain_deploy` (dev chains only).
CHAIN_USDC_ADDRESS = env.str("CHAIN_USDC_ADDRESS", "")
# EscrowVault's exit hatch: seconds between an account announcing an exit on chain and taking its
# funds out alone (fixed at deployment, at most 30 days). It must exceed the longest auction plus
# the time settlement needs to fund a won sale (docs/settlement.md, "Trust model").
CHAIN_VAULT_EXIT_DELAY_SECONDS = env.int("CHAIN_VAULT_EXIT_DELAY_SECONDS", 72 * 3600)

# ---------------------------------------------------------------- lead delivery (integrations/)
# Outbound requests to buyers' webhooks and CRMs. Private, loopback, link-local and other
# non-global addresses are refused (after DNS resolution, at send time) unless this is on: only the
# embedded and test profiles turn it on by default; production pins it off.
INTEGRATIONS_ALLOW_PRIVATE_URLS = env.bool("INTEGRATIONS_ALLOW_PRIVATE_URLS", False)
# Production accepts https:// destinations only.
INTEGRATIONS_REQUIRE_HTTPS = env.bool("INTEGRATIONS_REQUIRE_HTTPS", False)
INTEGRATIONS_CONNECT_TIMEOUT = env.float("INTEGRATIONS_CONNECT_TIMEOUT", 5.0)
# Per read, and for the whole answer: a receiver that trickles its response is cut off too.
INTEGRATIONS_READ_TIMEOUT = env.float("INTEGRATIONS_READ_TIMEOUT", 10.0)
# Seconds to wait before each retry after a failed attempt; after the last, the delivery is
# dead-lettered (the defaults add up to 23 h 12 min: up to 24 h of trying, 8 attempts).
INTEGRATIONS_RETRY_SCHEDULE = env.list(
    "INTEGRATIONS_RETRY_SCHEDULE", cast=float, default=[30, 120, 600, 3600, 14400, 28800, 36000]
)
# A send in flight is presumed lost (its worker died) this long after both timeouts ran out.
INTEGRATIONS_LEASE_MARGIN = env.float("INTEGRATIONS_LEASE_MARGIN", 30)
# Retries due within this many seconds are queued with a countdown; later ones are picked up by
# the integrations.deliver_due sweep (a broker holding hour-long ETAs would redeliver them early).
INTEGRATIONS_COUNTDOWN_MAX = env.float("INTEGRATIONS_COUNTDOWN_MAX", 600)
# Where test-send and buyers' docs say deliveries come from.
INTEGRATIONS_USER_AGENT = "LeadEngine-Delivery/1"

# ---------------------------------------------------------------- metrics
# Bearer token that /metrics requires when METRICS_PUBLIC is false (production).
METRICS_TOKEN = env.str("METRICS_TOKEN", "")
METRICS_PUBLIC = env.bool("METRICS_PUBLIC", True)
PROMETHEUS_EXPORT_MIGRATIONS = False

# ---------------------------------------------------------------- logging (JSON lines)
LOG_LEVEL = env.str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"correlation": {"()": "core.logging.CorrelationIdFilter"}},
    "formatters": {"json": {"()": "core.logging.JsonFormatter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["correlation"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "celery": {"level": LOG_LEVEL},
    },
}
