#!/bin/sh
# The Procfile's `ws` process: uvicorn with WS_WORKERS processes sharing one port (WS_PORT), after
# raising the open-file limit to WS_NOFILE (every socket is a file descriptor; docs/operations.md
# "Live updates"). Raising the hard limit needs root or the service manager (systemd
# LimitNOFILE=); otherwise the soft limit goes as high as the hard one allows.
set -e
want=${WS_NOFILE:-65536}
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt "$want" ]; then
    ulimit -Hn "$want" 2>/dev/null || want=$hard
fi
ulimit -Sn "$want"
exec uvicorn config.asgi:application --host "${WS_HOST:-0.0.0.0}" --port "${WS_PORT:-8001}" --ws websockets \
    --no-proxy-headers --lifespan off --workers "${WS_WORKERS:-4}"
