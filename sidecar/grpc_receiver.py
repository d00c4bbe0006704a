"""OTLP/gRPC receiver: TraceService/Export and LogsService/Export on one port, with the status
codes the OTLP spec gives. Both services are one class, parameterised by the signal.

Bad data is INVALID_ARGUMENT; an oversized message is RESOURCE_EXHAUSTED (enforced by gRPC on
the decompressed size); backpressure is UNAVAILABLE with a RetryInfo detail.
"""

from __future__ import annotations

import logging

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2

from policies.config import Config
from sidecar import otlp
from sidecar.errors import InvalidRequest, Overloaded, PayloadTooLarge
from sidecar.pipeline import Pipeline
from sidecar.prepare import Body

log = logging.getLogger("tracevault.grpc")


def _retry_info_trailer(code: int, message: str, seconds: int) -> tuple[tuple[str, bytes], ...]:
    detail = any_pb2.Any()
    detail.Pack(error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=seconds)))
    status = status_pb2.Status(code=code, message=message, details=[detail])
    return (("grpc-status-details-bin", status.SerializeToString()),)


class ExportService:
    """`Export` of one signal's service: our own decoding, in a worker, so that a corrupt message
    is INVALID_ARGUMENT (bad data), not the UNKNOWN that gRPC answers when its generated
    deserializer raises."""

    def __init__(self, config: Config, pipeline: Pipeline, signal: otlp.Signal = otlp.TRACES) -> None:
        self._config = config
        self._pipeline = pipeline
        self._signal = signal
        self._tenant_key = config.tenancy.header.lower()
        self._env_key = config.tenancy.env_header.lower()

    async def export_serialized(self, body: bytes, context: grpc.aio.ServicerContext) -> Message:
        return await self._handle(body, context)

    async def _handle(self, body: bytes, context: grpc.aio.ServicerContext) -> Message:
        metrics = self._pipeline.metrics
        metadata = {key.lower(): value for key, value in (context.invocation_metadata() or ()) if isinstance(value, str)}
        outcome = "error"
        try:
            # Admission before decoding, as on HTTP: overload costs a status, not CPU. gRPC
            # hands over whole messages, so no slot waits on a slow client.
            async with self._pipeline.admit():
                tenant, env = metadata.get(self._tenant_key), metadata.get(self._env_key)
                result = await self._pipeline.export(Body(body, otlp.PROTOBUF, "identity", tenant, env, self._signal.name))
            outcome = "partial" if result.rejected else "ok"
            response = self._signal.response_type()
            if result.rejected:
                setattr(response.partial_success, self._signal.rejected_field, result.rejected)
                response.partial_success.error_message = result.error_message
            return response
        except InvalidRequest as exc:
            outcome = "invalid"
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        except PayloadTooLarge as exc:
            outcome = "too_large"
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, str(exc))
        except Overloaded as exc:
            outcome = "overloaded"
            await context.abort(
                grpc.StatusCode.UNAVAILABLE,
                str(exc),
                trailing_metadata=_retry_info_trailer(code_pb2.UNAVAILABLE, str(exc), exc.retry_after_seconds),
            )
        except grpc.aio.AbortError:
            raise
        except Exception as exc:  # noqa: BLE001 (fail closed: nothing stored, the client retries)
            log.error("unexpected %s while handling an export request", type(exc).__name__)
            seconds = self._config.server.retry_after_seconds
            await context.abort(
                grpc.StatusCode.UNAVAILABLE,
                "internal error",
                trailing_metadata=_retry_info_trailer(code_pb2.UNAVAILABLE, "internal error", seconds),
            )
        finally:
            metrics.requests.labels(transport="grpc", outcome=outcome, signal=self._signal.name).inc()
        raise AssertionError("unreachable")


def make_grpc_server(config: Config, pipeline: Pipeline) -> tuple[grpc.aio.Server, int]:
    limit = config.server.max_decompressed_bytes
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", limit),
            ("grpc.max_send_message_length", 4 * 1024 * 1024),
        ],
        # No maximum_concurrent_rpcs: gRPC would answer RESOURCE_EXHAUSTED without RetryInfo,
        # which clients do not retry. The pipeline pushes back with UNAVAILABLE + RetryInfo.
    )
    handlers = []
    for signal in (otlp.TRACES, otlp.LOGS):
        handler = grpc.unary_unary_rpc_method_handler(
            ExportService(config, pipeline, signal).export_serialized,
            request_deserializer=None,  # raw bytes: decoded in a worker
            response_serializer=signal.response_type.SerializeToString,
        )
        handlers.append(grpc.method_handlers_generic_handler(signal.grpc_service, {"Export": handler}))
    server.add_generic_rpc_handlers(tuple(handlers))
    try:
        port = server.add_insecure_port(f"{config.server.grpc_host}:{config.server.grpc_port}")
    except RuntimeError:  # grpcio >= 1.5x raises instead of returning 0
        port = 0
    if port == 0:
        raise OSError(f"cannot bind gRPC on {config.server.grpc_host}:{config.server.grpc_port}")
    return server, port
