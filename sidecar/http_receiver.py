"""OTLP/HTTP receiver: POST /v1/traces (protobuf or JSON, gzip), plus /healthz, /readyz, /metrics."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable

from aiohttp import web
from google.protobuf import json_format
from google.rpc import code_pb2, status_pb2

from policies.config import Config, ServerConfig
from sidecar import otlp
from sidecar.errors import InvalidRequest, Overloaded, PayloadTooLarge
from sidecar.limits import SUPPORTED_ENCODINGS
from sidecar.pipeline import Pipeline
from sidecar.prepare import Body

log = logging.getLogger("tracevault.http")


def _status_body(code: int, message: str, content_type: str) -> bytes:
    status = status_pb2.Status(code=code, message=message)
    if content_type == otlp.JSON:
        return json.dumps(json_format.MessageToDict(status)).encode()
    return status.SerializeToString()


def _error(http_status: int, grpc_code: int, message: str, content_type: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=http_status,
        body=_status_body(grpc_code, message, content_type),
        content_type=content_type,
        headers=headers,
    )


class BodyTimeout(Exception):
    """A request body stopped arriving, or arrives slower than the minimum rate: HTTP 408."""


class BodyBudget:
    """Bytes of request bodies held at once, across all requests (read, not yet answered)."""

    def __init__(self, limit: int, retry_after_seconds: int) -> None:
        self._limit = limit
        self._retry_after = retry_after_seconds
        self.held = 0

    def take(self, size: int) -> None:
        if self.held + size > self._limit:
            raise Overloaded("too many request bodies are being received", self._retry_after)
        self.held += size

    def give_back(self, size: int) -> None:
        self.held -= size


async def _read_body(request: web.Request, server: ServerConfig, budget: BodyBudget, taken: list[int]) -> bytes:
    """Read a body under the wire limit, the idle timeout, the minimum rate and the budget.

    `taken` gets the bytes taken from the budget, so the caller can give them back.
    """
    limit = server.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"body exceeds {limit} bytes")
    loop = asyncio.get_running_loop()
    started = loop.time()
    body = bytearray()
    while True:
        try:
            chunk = await asyncio.wait_for(request.content.readany(), server.body_idle_timeout_seconds)
        except TimeoutError:
            raise BodyTimeout(f"no body bytes for {server.body_idle_timeout_seconds:g} s") from None
        if not chunk:
            return bytes(body)
        budget.take(len(chunk))
        taken[0] += len(chunk)
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"body exceeds {limit} bytes")
        elapsed = loop.time() - started
        if elapsed > server.body_idle_timeout_seconds and len(body) < server.min_body_bytes_per_second * elapsed:
            raise BodyTimeout(f"body arrives slower than {server.min_body_bytes_per_second} bytes/s")


def make_app(
    config: Config, pipeline: Pipeline, is_ready: Callable[[], bool], is_alive: Callable[[], bool] = lambda: True
) -> web.Application:
    server = config.server
    metrics = pipeline.metrics
    budget = BodyBudget(server.max_buffered_body_bytes, server.retry_after_seconds)

    async def traces(request: web.Request) -> web.Response:
        content_type = request.content_type.lower()
        reply_type = otlp.JSON if content_type == otlp.JSON else otlp.PROTOBUF
        outcome = "error"
        taken = [0]
        try:
            if content_type not in (otlp.PROTOBUF, otlp.JSON):
                outcome = "unsupported_media_type"
                return _error(415, code_pb2.INVALID_ARGUMENT, "Content-Type must be application/x-protobuf or application/json", reply_type)
            encoding = request.headers.get("Content-Encoding", "identity").strip().lower() or "identity"
            if encoding not in SUPPORTED_ENCODINGS:
                outcome = "unsupported_media_type"
                return _error(415, code_pb2.INVALID_ARGUMENT, "Content-Encoding must be gzip or identity", reply_type)
            # Admission is checked before the body is read (overload costs a 503, not memory),
            # but the slot is taken only once the body is in: a slow client holds no slot.
            pipeline.check_admission()
            wire = await _read_body(request, server, budget, taken)
            async with pipeline.admit():
                result = await pipeline.export(
                    Body(
                        wire,
                        content_type,
                        encoding,
                        request.headers.get(config.tenancy.header),
                        request.headers.get(config.tenancy.env_header),
                    )
                )
            outcome = "partial" if result.rejected_spans else "ok"
            return web.Response(
                status=200,
                body=otlp.encode_response(result.rejected_spans, result.error_message, reply_type),
                content_type=reply_type,
            )
        except BodyTimeout as exc:
            outcome = "body_timeout"
            metrics.body_timeouts.inc()
            return _error(408, code_pb2.DEADLINE_EXCEEDED, str(exc), reply_type, {"Connection": "close"})
        except PayloadTooLarge as exc:
            outcome = "too_large"
            return _error(413, code_pb2.RESOURCE_EXHAUSTED, str(exc), reply_type)
        except InvalidRequest as exc:
            outcome = "invalid"
            return _error(400, code_pb2.INVALID_ARGUMENT, str(exc), reply_type)
        except Overloaded as exc:
            outcome = "overloaded"
            return _error(503, code_pb2.UNAVAILABLE, str(exc), reply_type, {"Retry-After": str(exc.retry_after_seconds)})
        except Exception as exc:  # noqa: BLE001 (fail closed: nothing stored, the client retries)
            # Unexpected: answer retryable, log the type only (an exception text may quote content).
            log.error("unexpected %s while handling an export request", type(exc).__name__)
            return _error(503, code_pb2.UNAVAILABLE, "internal error", reply_type, {"Retry-After": str(server.retry_after_seconds)})
        finally:
            budget.give_back(taken[0])
            metrics.requests.labels(transport="http", outcome=outcome).inc()

    async def healthz(_: web.Request) -> web.Response:
        if is_alive():
            return web.json_response({"status": "alive"})
        return web.json_response({"status": "unhealthy"}, status=503)

    async def readyz(_: web.Request) -> web.Response:
        if is_ready():
            return web.json_response({"status": "ready"})
        return web.json_response({"status": "not ready"}, status=503)

    async def metrics_endpoint(_: web.Request) -> web.Response:
        return web.Response(body=metrics.render(), content_type="text/plain", charset="utf-8")

    # client_max_size bounds what aiohttp itself would buffer; our own reader enforces the limit.
    app = web.Application(client_max_size=server.max_body_bytes)
    app.router.add_post("/v1/traces", traces)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_endpoint)
    return app
