"""Reading the API's one error envelope in tests (core/api/errors.py, docs/api.md "Errors")."""


def api_error(response) -> dict:
    """The `error` object of an error response, after checking the envelope's shape."""
    body = response.json()
    assert set(body) == {"error", "request_id"}, body
    assert body["request_id"] and body["request_id"] == response["X-Request-ID"], body
    error = body["error"]
    assert {"type", "code", "message", "param", "errors"} <= set(error), error
    return error


def error_params(response) -> dict:
    """{param: [messages]} of every input at fault (None for the request as a whole)."""
    params: dict = {}
    for item in api_error(response)["errors"]:
        params.setdefault(item["param"], []).append(item["message"])
    return params


def error_text(response) -> str:
    """The message and every field message, for `in` checks."""
    error = api_error(response)
    return " ".join([error["message"], *(item["message"] for item in error["errors"])])


def error_fields(response) -> set:
    """The top-level names of the inputs at fault ("states" for "states.1"); None for the request."""
    return {item["param"].split(".")[0] if item["param"] else None for item in api_error(response)["errors"]}
