"""The embedded profile's stand-in for celery beat: a daemon thread that runs the close sweep,
the buy-now expiry sweep and whatever other ticks the process gives it (config/asgi.py adds the
settlement beat, escrow/clock.py, and the demo seller's ticker, leads/demo.py).

In the embedded profile tasks run eagerly, so a close queued with eta=deadline runs at once
(and does nothing, the deadline not being reached). This thread closes auctions when they
are due. Start it once per process: config/asgi.py does when CELERY_TASK_ALWAYS_EAGER.
"""

import logging
import threading

from django.db import close_old_connections, connection

from auctions.services.auctions import auction_close_due
from auctions.services.buynow import buy_now_expire_due

logger = logging.getLogger(__name__)

_started = threading.Lock()
_thread: threading.Thread | None = None


def _run(interval: float, stop: threading.Event, ticks: tuple) -> None:
    while not stop.wait(interval):
        close_old_connections()
        try:
            auction_close_due()
            buy_now_expire_due()
        except Exception:  # keep sweeping; the next round retries what failed
            logger.exception("embedded auction sweep failed")
        for tick in ticks:
            try:
                tick()
            except Exception:  # another app's work must never stop the auctions' clock
                logger.exception("embedded sweep %s failed", getattr(tick, "__name__", tick))
    connection.close()


def start_embedded_sweeper(*, interval: float = 1.0, ticks: tuple = ()) -> threading.Event:
    """Start the sweeper thread (idempotent); returns the event that stops it. `ticks`: more
    callables run on every round after the auctions' sweeps (config/asgi.py passes escrow's)."""
    global _thread
    with _started:
        if _thread is not None and _thread.is_alive():
            return _thread.stop_event  # type: ignore[attr-defined]
        stop = threading.Event()
        _thread = threading.Thread(
            target=_run, args=(interval, stop, tuple(ticks)), name="auction-sweeper", daemon=True
        )
        _thread.stop_event = stop  # type: ignore[attr-defined]
        _thread.start()
        return stop
