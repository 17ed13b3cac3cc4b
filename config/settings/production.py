"""Production: the services profile with every security setting on.

`DJANGO_SETTINGS_MODULE=config.settings.production manage.py check --deploy` is clean.
"""

from .base import BASE_DIR, env
from .services import *  # noqa: F401,F403

# The secrets (base.SECRET_ENV_VARS) are required by the services profile imported above.
# Pinned whatever the environment says: no debug pages and no development faucet (test USDC).
DEBUG = False
LEDGER_FAUCET_ENABLED = False
# Meta leads come from Meta's Graph API, never from the development fake.
LEADS_META_GRAPH_URL = env.str("LEADS_META_GRAPH_URL", "https://graph.facebook.com/v21.0")
PROFILE = "production"

# No chain unless configured: settlement is off until CHAIN_RPC_URL names a node.
CHAIN_RPC_URL = env.str("CHAIN_RPC_URL", "")
CHAIN_CONFIRMATIONS = env.int("CHAIN_CONFIRMATIONS", 12)

# Lead delivery reaches only public https:// addresses (SSRF: no metadata service, no LAN).
INTEGRATIONS_ALLOW_PRIVATE_URLS = False
INTEGRATIONS_REQUIRE_HTTPS = True

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Production sits behind one proxy (the TLS terminator): take the client IP it appends to
# X-Forwarded-For, or every consumer shares the proxy's address in rate limits and consent.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", 1)
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

STATIC_ROOT = env.str("DJANGO_STATIC_ROOT", str(BASE_DIR / "staticfiles"))
WHITENOISE_USE_FINDERS = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# /metrics needs `Authorization: Bearer $METRICS_TOKEN` unless METRICS_PUBLIC=true.
METRICS_PUBLIC = env.bool("METRICS_PUBLIC", False)
EMAIL_BACKEND = env.str("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
