"""OTLP/HTTP receiver: POST /v1/traces and POST /v1/logs (protobuf or JSON, gzip), plus /healthz,
/readyz, /metrics. Both paths are one handler, parameterised by the signal."""

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


class _Export:
    """POST /v1/traces or /v1/logs (`handle`): checks, body, export; every outcome counted, every
    error a status. One per signal; the body budget is shared by both."""

    def __init__(self, config: Config, pipeline: Pipeline, signal: otlp.Signal, budget: BodyBudget) -> None:
        self._config = config
        self._pipeline = pipeline
        self._signal = signal
        self._budget = budget

    async def handle(self, request: web.Request) -> web.Response:
        metrics = self._pipeline.metrics
        content_type = request.content_type.lower()
        reply_type = otlp.JSON if content_type == otlp.JSON else otlp.PROTOBUF
        outcome = "error"
        taken = [0]
        try:
            response, outcome = await self._handle(request, content_type, reply_type, taken)
            return response
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
            retry_after = str(self._config.server.retry_after_seconds)
            return _error(503, code_pb2.UNAVAILABLE, "internal error", reply_type, {"Retry-After": retry_after})
        finally:
            self._budget.give_back(taken[0])
            metrics.requests.labels(transport="http", outcome=outcome, signal=self._signal.name).inc()

    async def _handle(self, request: web.Request, content_type: str, reply_type: str, taken: list[int]) -> tuple[web.Response, str]:
        if content_type not in (otlp.PROTOBUF, otlp.JSON):
            message = "Content-Type must be application/x-protobuf or application/json"
            return _error(415, code_pb2.INVALID_ARGUMENT, message, reply_type), "unsupported_media_type"
        encoding = request.headers.get("Content-Encoding", "identity").strip().lower() or "identity"
        if encoding not in SUPPORTED_ENCODINGS:
            message = "Content-Encoding must be gzip or identity"
            return _error(415, code_pb2.INVALID_ARGUMENT, message, reply_type), "unsupported_media_type"
        # Admission is checked before the body is read (overload costs a 503, not memory), but
        # the slot is taken only once the body is in: a slow client holds no slot.
        self._pipeline.check_admission()
        wire = await _read_body(request, self._config.server, self._budget, taken)
        tenancy = self._config.tenancy
        headers = request.headers
        body = Body(wire, content_type, encoding, headers.get(tenancy.header), headers.get(tenancy.env_header), self._signal.name)
        async with self._pipeline.admit():
            result = await self._pipeline.export(body)
        response = web.Response(
            status=200,
            body=otlp.encode_response(result.rejected, result.error_message, reply_type, self._signal),
            content_type=reply_type,
        )
        return response, "partial" if result.rejected else "ok"


def make_app(
    config: Config, pipeline: Pipeline, is_ready: Callable[[], bool], is_alive: Callable[[], bool] = lambda: True
) -> web.Application:
    metrics = pipeline.metrics

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
    app = web.Application(client_max_size=config.server.max_body_bytes)
    budget = BodyBudget(config.server.max_buffered_body_bytes, config.server.retry_after_seconds)
    for signal in (otlp.TRACES, otlp.LOGS):
        app.router.add_post(signal.path, _Export(config, pipeline, signal, budget).handle)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_endpoint)
    return app
