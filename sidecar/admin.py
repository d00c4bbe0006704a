"""The admin listener: audited payload reads over HTTP, on its own port (never the OTLP one).

    GET /v1/payloads/{trace_id}
    GET /v1/payloads/{trace_id}/{span_id}
    Authorization: Bearer <grant token>
    optional query: ?tenant=T&env=E

    GET /v1/references?ref=<tracevault:// reference, URL-encoded>
    Authorization: Bearer <grant token>

A reference answers 200 with the value it names, 403 with the rule when the grant does not cover
its tenant, env or trace, and one 404 answer for everything else (never stored, expired, erased,
out of the grant's window): a reference never says whether its content still exists.

Answers (JSON): 200 with the records; 400 for a malformed trace id, span id, tenant or env;
401 (``WWW-Authenticate: Bearer``) without a token or with one that is not a well-formed grant;
403 with ``{"rule": ...}`` when the grant is refused; 404 when nothing matches; 502 with rule
``payload_tampered`` when every payload asked for fails authentication (tampered, not expired);
503 when the store or key service fails. Every attempt that carries a token is audited
(access.service): in the tenant's chain when the token's signature verifies, otherwise in the
rate-limited security log, without any of the token's claims.

It is off by default (``access.admin_enabled``). When on, the sidecar process holds a *reader*
keyring, i.e. the power to decrypt payloads, which the ingest path deliberately lacks
(privacy invariant 6): enable it only where that is acceptable, and prefer running the admin
listener in a separate `tracevault serve` with ingest disabled, or `tracevault payload get`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web

from access.grants import GrantError
from access.service import AccessResult, AccessService
from policies.config import Config
from sidecar.metrics import Metrics
from vault.keyring import KeyUnavailable
from vault.store import StoreError

log = logging.getLogger("tracevault.admin")

ACCESS_KEY: web.AppKey[AccessService] = web.AppKey("access", AccessService)
MAX_HEADER_TOKEN = 16384


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps(body, ensure_ascii=False),
        content_type="application/json",
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or len(token) > MAX_HEADER_TOKEN:
        return None
    return token.strip()


def _unauthorized(message: str) -> web.Response:
    return _json(
        401,
        {"error": "unauthorized", "rule": "malformed_token", "message": message},
        {"WWW-Authenticate": 'Bearer realm="tracevault", error="invalid_token"'},
    )


def _answer(result: AccessResult) -> web.Response:
    if result.status == 401:
        return _unauthorized(result.body.get("message", "not a well-formed grant"))
    return _json(result.status, result.body)


async def _call(read: Callable[..., AccessResult], *args: Any, **kwargs: Any) -> web.Response:
    """One audited read, off the event loop, answered as JSON."""
    try:
        result = await asyncio.to_thread(read, *args, **kwargs)
    except GrantError as exc:
        return _json(400, {"error": "bad_request", "message": str(exc)})
    except (StoreError, KeyUnavailable) as exc:
        log.error("payload read failed: %s", type(exc).__name__)
        return _json(503, {"error": "unavailable", "message": "the store or the key service failed; try again"})
    return _answer(result)


def make_admin_app(access: AccessService) -> web.Application:
    app = web.Application(client_max_size=1024)
    app[ACCESS_KEY] = access

    async def payloads(request: web.Request) -> web.Response:
        token = _bearer(request)
        if token is None:
            return _unauthorized("an Authorization: Bearer <grant token> header is required")
        return await _call(
            access.get_payloads,
            token,
            request.match_info["trace_id"],
            request.match_info.get("span_id"),
            tenant=request.query.get("tenant"),
            env=request.query.get("env"),
        )

    async def reference(request: web.Request) -> web.Response:
        token = _bearer(request)
        if token is None:
            return _unauthorized("an Authorization: Bearer <grant token> header is required")
        return await _call(access.get_reference, token, request.query.get("ref", ""))

    app.router.add_get("/v1/references", reference)
    app.router.add_get("/v1/payloads/{trace_id}", payloads)
    app.router.add_get("/v1/payloads/{trace_id}/{span_id}", payloads)
    return app


async def start_admin(
    config: Config,
    master_secret: bytes | None = None,
    *,
    access: AccessService | None = None,
    host: str | None = None,
    port: int | None = None,
    metrics: Metrics | None = None,
) -> web.AppRunner:
    """Start the admin listener; returns its runner (``runner.addresses`` has the bound port).

    The caller owns the runner: ``await runner.cleanup()`` stops it. With ``metrics``, refusals of
    unverified tokens and tampered payloads are counted on the sidecar's /metrics.
    """
    host = host if host is not None else config.access.admin_host
    port = port if port is not None else config.access.admin_port
    otlp_ports = {config.server.http_port, config.server.grpc_port} - {0}
    if port in otlp_ports:
        raise ValueError("access.admin_port must differ from the OTLP ports")
    if access is None:
        if master_secret is None:
            raise ValueError("start_admin needs the master secret or an AccessService")
        access = AccessService.from_config(config, master_secret, events=metrics.access_events() if metrics else None)
    runner = web.AppRunner(make_admin_app(access), access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound = runner.addresses[0]
    log.warning(
        "admin listener on %s:%d serves audited payload reads: this process holds a reader keyring",
        bound[0], bound[1],
    )
    return runner
