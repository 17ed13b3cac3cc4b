"""Settlement pipeline (work in progress)."""


def settlement_advance() -> dict:
    return {}
