"""Every Channels group name is built here."""

import re

_SAFE = re.compile(r"[^A-Za-z0-9._-]")


def vertical_group(slug: str) -> str:
    return "vertical." + _SAFE.sub("-", slug)[:90]


def user_group(user_id: int) -> str:
    return f"user.{user_id}"
