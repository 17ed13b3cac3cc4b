"""The WSGI entry point serves the same site as the ASGI one (issue #12: HTTP may be served by
pre-forking WSGI workers while WebSockets stay on ASGI)."""

import json
import threading
import urllib.request
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica"])


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def wsgi_server():
    from config.wsgi import application

    server = make_server("127.0.0.1", 0, application, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_the_wsgi_application_serves_pages_health_and_the_api(wsgi_server):
    assert settings.WSGI_APPLICATION == "config.wsgi.application"
    with urllib.request.urlopen(f"{wsgi_server}/healthz") as response:
        assert response.status == 200 and json.loads(response.read())["ok"] is True
    with urllib.request.urlopen(f"{wsgi_server}/accounts/login/") as response:
        assert response.status == 200 and b"<form" in response.read()
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{wsgi_server}/api/v1/me/")
    assert refused.value.code == 401
    body = json.loads(refused.value.read())
    assert body["error"]["type"] and body["request_id"]
