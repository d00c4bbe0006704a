"""An instrumented GenAI app, run as its own process by test_genai_instrumentation.py.

The official openai-v2 instrumentation (on opentelemetry-util-genai) wraps the real `openai`
client, which calls a fake OpenAI endpoint on loopback. Spans and log records leave through the
OTel SDK's OTLP/HTTP exporters to a running tracevault. Content capture and the semantic
conventions come from the environment the test sets (OTEL_SEMCONV_STABILITY_OPT_IN,
OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT), read by the util as in any app.

    python genai_app.py OPENAI_BASE_URL TRACEVAULT_BASE_URL TENANT PROMPT_JSON

Prints one JSON line: the completion's text and the trace id of the call.
"""

from __future__ import annotations

import json
import sys

import openai
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor


def main(openai_url: str, tracevault_url: str, tenant: str, prompt: str) -> None:
    resource = Resource.create({"service.name": "support-bot"})
    headers = {"X-Tenant-Id": tenant}
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{tracevault_url}/v1/traces", headers=headers, timeout=30)))
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(OTLPLogExporter(endpoint=f"{tracevault_url}/v1/logs", headers=headers, timeout=30)))
    OpenAIInstrumentor().instrument(tracer_provider=tracer_provider, logger_provider=logger_provider)
    client = openai.OpenAI(base_url=openai_url, api_key="sk-test-not-a-real-key", max_retries=0)
    tracer = tracer_provider.get_tracer("support-bot")
    with tracer.start_as_current_span("handle_ticket") as parent:
        messages = json.loads(prompt)
        response = client.chat.completions.create(model="gpt-4o-mini", messages=messages)
        trace_id = format(parent.get_span_context().trace_id, "032x")
    tracer_provider.shutdown()
    logger_provider.shutdown()
    print(json.dumps({"completion": response.choices[0].message.content, "trace_id": trace_id}))


if __name__ == "__main__":
    main(*sys.argv[1:5])
