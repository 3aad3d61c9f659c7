"""One thin module per resource: HTTP in, a domain service or flow called, a declared response model out.

Routes that answer with bytes rather than JSON (a version, a ZIP, a .p7s, a CSV) describe their body
with `file_body`, so `/openapi.json` documents every response body, JSON or not.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import File, Form, UploadFile

# The principal's own key for one paper (a destruction decision, the yearly list; flows/own_signing.py)
KeyFile = Annotated[UploadFile | None, File(description="The principal's .p12: the paper is signed with it")]
KeyPassword = Annotated[str | None, Form(description="The .p12's password")]
ConfirmCertificate = Annotated[
    str | None,
    Form(max_length=100, description="The SHA-256 fingerprint of the certificate, confirmed on its first use"),
]


def file_body(media_type: str, description: str, ranged: bool = False) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` of a route whose 200 body is a file; `ranged` adds the 206/416 of a `Range`."""
    binary = {media_type: {"schema": {"type": "string", "format": "binary"}}}
    responses: dict[int | str, dict[str, Any]] = {200: {"description": description, "content": binary}}
    if ranged:
        responses[206] = {"description": f"{description}: the requested range", "content": binary}
        responses[416] = {"description": "The range lies outside the file"}
    return responses
