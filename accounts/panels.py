"""Panels other apps put on the account page. accounts may not import them (the layers point
down), so each registers a function in its AppConfig.ready that renders its panel for a request
(HTML, or "" for none): marketplace's first-run checklist is one."""

from collections.abc import Callable

from django.http import HttpRequest

_PANELS: dict[str, Callable[[HttpRequest], str]] = {}


def account_panel_register(*, name: str, render: Callable[[HttpRequest], str]) -> None:
    """Add (or replace) the panel called `name`; panels show in the order they were first added."""
    _PANELS[name] = render


def account_panels_render(request: HttpRequest) -> list[str]:
    return [html for render in _PANELS.values() if (html := render(request))]
