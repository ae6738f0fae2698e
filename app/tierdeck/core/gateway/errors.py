"""Error bodies in the shape of the API the client spoke: Anthropic or OpenAI."""

from __future__ import annotations

import json

ANTHROPIC_TYPES = {
    400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
    404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
    500: "api_error", 502: "api_error", 503: "overloaded_error", 504: "api_error",
}
OPENAI_TYPES = {
    400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
    404: "not_found_error", 413: "invalid_request_error", 429: "rate_limit_error",
}


class GatewayError(Exception):
    """A request the gateway answers itself with an error in the client's API shape."""

    def __init__(self, status: int, message: str, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


def error_body(api: str, status: int, message: str, code: str | None = None) -> bytes:
    if api == "anthropic":
        typ = ANTHROPIC_TYPES.get(status, "api_error")
        doc = {"type": "error", "error": {"type": typ, "message": message}}
    else:
        typ = OPENAI_TYPES.get(status, "server_error")
        doc = {"error": {"message": message, "type": typ, "param": None,
                         "code": code or typ}}
    return json.dumps(doc).encode()


def sse_error(message: str, status: int = 500) -> bytes:
    """An Anthropic `error` event, for a stream whose 200 headers already went out."""
    body = error_body("anthropic", status, message).decode()
    return f"event: error\ndata: {body}\n\n".encode()
