"""Lambda authorizer (REQUEST, payload format 2.0, simple responses) of the HTTP APIs.

The key store is read with Powertools' parameters utility (decrypted, JSON, cached for ``API_KEYS_MAX_AGE``
seconds per warm environment), so a rotated or revoked key takes effect within that time without a redeploy,
and the warm path makes no SSM call. API Gateway also caches each decision per Authorization header
(``result_ttl_seconds``).

Terraform handler string: ``api_authorizer.handler.handler``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.typing import LambdaContext
from sluice.observability import count, logger, metrics
from sluice.settings import env, load_settings, positive_int

from . import logic


@dataclass(frozen=True, kw_only=True)
class AuthorizerSettings:
    # Not BaseSettings: the authorizer records no failures (a denial is its answer), so it gets no FAILURES_TABLE.
    api_keys_parameter: str = env("API_KEYS_PARAMETER")
    api_keys_max_age: int = env("API_KEYS_MAX_AGE", default=60, parse=positive_int)


def key_store() -> dict[str, str]:
    settings = load_settings(AuthorizerSettings)
    raw = parameters.get_parameter(
        settings.api_keys_parameter, decrypt=True, transform="json", max_age=settings.api_keys_max_age
    )
    return logic.check_store(raw)


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Fail closed: an unreadable or malformed key store denies (and is logged), it never lets a request through.
    try:
        store = key_store()
    except Exception:
        logger.exception("key store unreadable: denying")
        count("AuthorizerErrors")
        return logic.Decision(False).response()
    decision = logic.authorize(event.get("headers") or {}, store)
    if decision.authorized:
        count("RequestsAuthorized")
        logger.append_keys(client=decision.client)
    else:
        count("RequestsDenied")
        logger.info("request denied", extra={"reason": decision.reason, "route": event.get("routeKey")})
    return decision.response()
