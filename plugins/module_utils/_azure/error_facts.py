# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What can safely be learnt from an exception azure-core or azure-identity raised: HTTP status,
error codes (also nested ones), Azure's message cleaned to one bounded line, request ids and
Retry-After. ``classify`` turns these facts into reason codes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.headers import header, retry_after_s
from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import scrub

MAX_AZURE_MESSAGE = 600  # Azure's in-guest messages can carry whole .NET stack traces


_CODE_KEYS = ("code", "internalerrorcode", "errorcode")
_MAX_BODY_CHARS = 1000000


class AzureFacts:
    """What we can safely learn from an azure-core exception: status, codes, message, ids."""

    def __init__(self, exc):
        self.status = _status_code(exc)
        error = getattr(exc, "error", None)
        self.code = getattr(error, "code", None) or ""
        # Scrubbed before it is quoted, so nothing Azure echoed can run into our own text.
        self.azure_message = sentence(scrub(clean_message(
            getattr(error, "message", None) or exception_message(exc))))
        self.codes = set()
        self.texts = []
        _collect_from_odata(error, self.codes, self.texts)
        _collect_from_body(_response_text(exc), self.codes, self.texts)
        self.texts.append(exception_message(exc))
        self.text = "\n".join(t for t in self.texts if t).lower()
        headers = _headers(exc)
        self.request_id = header(headers, "x-ms-request-id")
        self.correlation_id = header(headers, "x-ms-correlation-request-id")
        wait = retry_after_s(headers)
        self.retry_after = int(round(wait)) if wait is not None else None
        if not self.code and self.codes:
            self.code = sorted(self.codes)[0]

    def has_code(self, *codes):
        return any(code.lower() in self.codes for code in codes)

    def says(self, *phrases):
        return any(phrase in self.text for phrase in phrases)

    def details(self):
        return {
            "status_code": self.status,
            "azure_error_code": self.code or None,
            "request_id": self.request_id,
            "correlation_id": self.correlation_id,
            "retry_after": self.retry_after,
        }


def _status_code(exc):
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


def exception_message(exc):
    message = getattr(exc, "message", None)
    if isinstance(message, str):
        return message
    return str(exc.args[0]) if getattr(exc, "args", None) else ""


def _collect_from_odata(error, codes, texts, depth=0):
    if error is None or depth > 10:
        return
    code = getattr(error, "code", None)
    if isinstance(code, str) and code:
        codes.add(code.lower())
    message = getattr(error, "message", None)
    if isinstance(message, str):
        texts.append(message)
    for detail in getattr(error, "details", None) or ():
        _collect_from_odata(detail, codes, texts, depth + 1)
    _collect_from_json(getattr(error, "innererror", None), codes, texts)


def _collect_from_body(body, codes, texts):
    if not body or len(body) > _MAX_BODY_CHARS:
        return
    try:
        document = json.loads(body)
    except ValueError:
        return
    _collect_from_json(document, codes, texts)


def _collect_from_json(node, codes, texts, depth=0):
    """Walk a JSON document for error codes (also ARM's innerError/internalErrorCode) and messages."""
    if depth > 20:
        return
    if isinstance(node, dict):
        for key, value in node.items():
            lowered = str(key).lower()
            if lowered in _CODE_KEYS and isinstance(value, str) and value:
                codes.add(value.lower())
            elif lowered == "message" and isinstance(value, str):
                texts.append(value)
            else:
                _collect_from_json(value, codes, texts, depth + 1)
    elif isinstance(node, list):
        for item in node:
            _collect_from_json(item, codes, texts, depth + 1)


def _response_text(exc):
    response = getattr(exc, "response", None)
    if response is None:
        return ""
    try:
        text = response.text()
    except Exception:  # pylint: disable=broad-except  # a consumed or closed stream is not an error here
        return ""
    return text if isinstance(text, str) else ""


def _headers(exc):
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    return headers if headers is not None else {}


def sentence(text):
    """Text that ends like a sentence, so the advice after it reads as a new one."""
    text = (text or "").rstrip()
    if text and not text.rstrip("'\")").endswith((".", "!", "?")):
        text += "."
    return text


_STACK_FRAME = re.compile(r"\s+at [A-Za-z_][\w.`<>]*\(")


def clean_message(text, limit=MAX_AZURE_MESSAGE):
    """One line of Azure's message: no .NET stack frames, collapsed whitespace, bounded length."""
    if not text:
        return ""
    text = str(text)
    frame = _STACK_FRAME.search(text)
    if frame:
        text = text[:frame.start()]
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[:limit - 3].rstrip() + "..."
    return text


def first_line(text):
    return clean_message((text or "").strip().splitlines()[0] if (text or "").strip() else "", 300)


def first_sentence(text):
    """Azure AD messages run on with trace ids and timestamps; the first sentence says it all."""
    line = first_line(text)
    line = re.sub(r"^Authentication failed:\s*", "", line)
    match = re.search(r"^(.*?AADSTS\d+:.*?[.!?])(\s|$)", line) or re.search(r"^(.*?[.!?])(\s|$)", line)
    found = match.group(1) if match else line
    return found if found.endswith((".", "!", "?")) else found + "."
