"""OTLP/HTTP receiver: POST /v1/traces (protobuf or JSON, gzip), plus /healthz, /readyz, /metrics."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from aiohttp import web
from google.protobuf import json_format
from google.rpc import code_pb2, status_pb2

from policies.config import Config
from sidecar import otlp
from sidecar.errors import InvalidRequest, Overloaded, PayloadTooLarge
from sidecar.limits import SUPPORTED_ENCODINGS, decode_body
from sidecar.pipeline import Pipeline

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


async def _read_limited(request: web.Request, limit: int) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"body exceeds {limit} bytes")
    body = bytearray()
    async for chunk in request.content.iter_chunked(64 * 1024):
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"body exceeds {limit} bytes")
    return bytes(body)


def make_app(
    config: Config, pipeline: Pipeline, is_ready: Callable[[], bool], is_alive: Callable[[], bool] = lambda: True
) -> web.Application:
    server = config.server
    metrics = pipeline.metrics

    async def traces(request: web.Request) -> web.Response:
        content_type = request.content_type.lower()
        reply_type = otlp.JSON if content_type == otlp.JSON else otlp.PROTOBUF
        outcome = "error"
        try:
            if content_type not in (otlp.PROTOBUF, otlp.JSON):
                outcome = "unsupported_media_type"
                return _error(415, code_pb2.INVALID_ARGUMENT, "Content-Type must be application/x-protobuf or application/json", reply_type)
            encoding = request.headers.get("Content-Encoding", "identity").strip().lower() or "identity"
            if encoding not in SUPPORTED_ENCODINGS:
                outcome = "unsupported_media_type"
                return _error(415, code_pb2.INVALID_ARGUMENT, "Content-Encoding must be gzip or identity", reply_type)
            # Admission before the body is read: overload costs a 503, not memory or CPU.
            async with pipeline.admit():
                wire = await _read_limited(request, server.max_body_bytes)
                body = decode_body(wire, encoding, server.max_decompressed_bytes)
                decoded = otlp.decode_json_request(body) if content_type == otlp.JSON else otlp.decode_protobuf_request(body)
                metrics.spans_received.inc(otlp.span_count(decoded))
                result = await pipeline.export(
                    decoded,
                    request.headers.get(config.tenancy.header),
                    request.headers.get(config.tenancy.env_header),
                )
            outcome = "partial" if result.rejected_spans else "ok"
            return web.Response(
                status=200,
                body=otlp.encode_response(result.rejected_spans, result.error_message, reply_type),
                content_type=reply_type,
            )
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
