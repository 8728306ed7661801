# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading ARM response headers: one lookup and one Retry-After parser for every caller."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import email.utils
import time

WRITES_BUDGET = "x-ms-ratelimit-remaining-subscription-writes"
READS_BUDGET = "x-ms-ratelimit-remaining-subscription-reads"


def header(headers, name):
    """The value of header ``name`` (any case) as a string, or None."""
    if headers is None:
        return None
    try:
        value = headers.get(name)
        if value is None:
            # Not every mapping is case-insensitive (plain dicts, test doubles).
            lowered = name.lower()
            value = next((headers[key] for key in headers if str(key).lower() == lowered), None)
    except Exception:  # pylint: disable=broad-except  # a broken mapping has no header
        return None
    return str(value) if value is not None else None


def _number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def retry_after_s(headers, now=None):
    """Seconds Azure asks to wait: ``retry-after-ms`` / ``x-ms-retry-after-ms``, else ``Retry-After``
    in seconds or as an HTTP date. None when the response gives no hint."""
    for name in ("retry-after-ms", "x-ms-retry-after-ms"):
        millis = _number(header(headers, name))
        if millis is not None:
            return max(0.0, millis / 1000.0)
    value = header(headers, "retry-after")
    if not value:
        return None
    seconds = _number(value)
    if seconds is not None:
        return max(0.0, seconds)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None:
        return None
    return max(0.0, moment.timestamp() - (now if now is not None else time.time()))


def remaining_budget(headers, name):
    """ARM's remaining request count from a ``x-ms-ratelimit-remaining-*`` header, or None."""
    value = _number(header(headers, name))
    return int(value) if value is not None else None
