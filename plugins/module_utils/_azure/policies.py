# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""azure-core pipeline policies that keep a run bounded, honest and paced.

``BoundedRetryPolicy``: azure-core's RetryPolicy sleeps for whatever ``Retry-After`` Azure sends
(a throttled subscription can be told to wait 20 minutes), up to ``retry_total`` times, with no
overall limit. This subclass gives every call a time budget (the task's ``wait_timeout``): a
retry whose wait would end past the budget is not made, so the 429 / 5xx reaches the caller as
``throttled`` / ``azure_service_error`` instead of a hang.

``FreshTokenChallengePolicy``: when ARM rejects a bearer token the client still believes valid
(401 after a clock skew, a revocation or a very long fleet run), azure-core asks the credential
again, which answers from its cache with the same token. This subclass asks once more with an
``nbf`` claims challenge, which makes azure-identity fetch a new token, and resends once.

``ResponseObserverPolicy``: hands every response's status and headers to a callback (the
engine's pacers learn ARM's remaining budgets there).

Imports with the standard library only (the import sanity test runs without the SDK).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import time

try:
    from azure.core.pipeline.policies import RetryPolicy, SansIOHTTPPolicy
    from azure.mgmt.core.policies import ARMChallengeAuthenticationPolicy
except ImportError:  # the SDK is optional at import time
    RetryPolicy = ARMChallengeAuthenticationPolicy = SansIOHTTPPolicy = object

_STARTED = "azops_retry_started"


class BoundedRetryPolicy(RetryPolicy):
    """RetryPolicy whose retries (and their Retry-After waits) end within ``budget_s`` per call."""

    def __init__(self, budget_s=None, **kwargs):
        if budget_s:
            # azure-core also stops retrying connection errors once this much time has passed.
            kwargs.setdefault("timeout", budget_s)
        super(BoundedRetryPolicy, self).__init__(**kwargs)
        self.budget_s = float(budget_s) if budget_s else None

    def configure_retries(self, options):
        settings = super(BoundedRetryPolicy, self).configure_retries(options)
        settings[_STARTED] = time.monotonic()
        return settings

    def is_retry(self, settings, response):
        if not super(BoundedRetryPolicy, self).is_retry(settings, response):
            return False
        if not self.budget_s:
            return True
        wait = self.get_retry_after(response)
        if wait is None:
            wait = self.get_backoff_time(settings)
        elapsed = time.monotonic() - settings.get(_STARTED, time.monotonic())
        # Past the budget the response goes back as it is: 429 -> throttled, 5xx -> azure_service_error.
        return elapsed + (wait or 0.0) <= self.budget_s


class FreshTokenChallengePolicy(ARMChallengeAuthenticationPolicy):
    """ARM's challenge policy, plus one retry with a fresh token when ARM rejects a cached one."""

    def on_challenge(self, request, response):
        if super(FreshTokenChallengePolicy, self).on_challenge(request, response):
            return True  # a CAE claims challenge, handled by azure-core
        if response.http_response.status_code != 401 or request.context.get("azops_fresh_token"):
            return False
        request.context["azops_fresh_token"] = True
        # An nbf claim newer than the cached token makes azure-identity (MSAL) fetch a new one.
        claims = json.dumps({"access_token": {"nbf": {"essential": True, "value": str(int(time.time()))}}})
        self.authorize_request(request, *self._scopes, claims=claims)
        return True


class ResponseObserverPolicy(SansIOHTTPPolicy):
    """Calls ``observe(method, status, headers)`` for every response, each retry attempt included."""

    def __init__(self, observe):
        super(ResponseObserverPolicy, self).__init__()
        self.observe = observe

    def on_response(self, request, response):
        http = response.http_response
        self.observe(request.http_request.method.upper(), http.status_code, http.headers)
