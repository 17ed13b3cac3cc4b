"""The site has an icon: linked from every page's head, and at /favicon.ico for pages that link none."""

import pytest
from django.contrib.staticfiles import finders
from django.templatetags.static import static

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url", ["/", "/accounts/login/", "/verticals/"])
def test_pages_link_the_favicon(client, url):
    html = client.get(url).content.decode()
    assert f'<link rel="icon" href="{static("favicon.svg")}" type="image/svg+xml">' in html


def test_the_favicon_is_a_static_svg_and_favicon_ico_points_to_it(client):
    path = finders.find("favicon.svg")
    assert path and open(path).read().startswith("<svg")
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"] == static("favicon.svg")
