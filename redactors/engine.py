"""The redaction engine: one object per process that redacts requests and texts per policy.

Built once at start-up (model loaded, policies compiled, secret rules compiled); the per-request
path only walks, batches and masks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from opentelemetry.proto.logs.v1.logs_pb2 import ResourceLogs
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans

from policies.config import Config
from policies.resolve import CompiledPolicy, PolicySet
from redactors import regexcache
from redactors.detectors import SecretsDetector, build_detectors
from redactors.identifiers import Pseudonymizer
from redactors.known_secrets import KnownSecrets
from redactors.pii import PiiAnalyzer, load_spacy_model
from redactors.signals import SignalMeter
from redactors.textredact import RedactedText, TextRedactor
from redactors.walker import Resources, fail_closed, redact_resources


class Redactor:
    def __init__(
        self,
        policies: PolicySet,
        text: TextRedactor,
        pseudonymizer: Pseudonymizer,
        secrets: SecretsDetector,
        signals: SignalMeter | None = None,
    ) -> None:
        self.policies = policies
        self._text = text
        self._pseudonymizer = pseudonymizer
        self._secrets = secrets  # also classifies attribute keys for the walker
        # Content-derived numbers (lengths, language, refusal), measured before masking.
        self._signals = signals or SignalMeter()

    @classmethod
    def build(
        cls, config: Config, master_secret: bytes, analyzer: PiiAnalyzer | None = None, signals: SignalMeter | None = None
    ) -> Redactor:
        """Validate the policies and load the model; raises on any bad rule (refuse to start).

        ``signals`` replaces the content-derived signal meter (the benchmark's baseline measures none)."""
        policies = PolicySet(config)
        if analyzer is None:
            analyzer = PiiAnalyzer(
                load_spacy_model(config.nlp.model),
                batch_size=config.nlp.batch_size,
                max_text_chars=config.nlp.max_text_chars,
                phone_regions=config.nlp.phone_regions,
            )

        def known_secrets(policy: CompiledPolicy) -> KnownSecrets:
            return KnownSecrets.load(Path(policy.known_secrets_file), master_secret, policy.tenant)

        secrets = SecretsDetector(known_secrets=known_secrets)
        redactor = cls(policies, TextRedactor(build_detectors(secrets, analyzer)), Pseudonymizer(master_secret), secrets, signals)
        # Compile every policy's secret rules now, so a bad secret key name or a bad
        # known-secrets file fails start-up.
        for policy in policies.compiled():
            secrets.rules(policy)
        regexcache.save()  # the module-level patterns' code, for the next start-up (if any was new)
        return redactor

    @property
    def cache(self):  # noqa: ANN201 (RedactionCache; kept loose to avoid an import cycle in typing)
        return self._text.cache

    def redact_resource_spans(self, items: list[ResourceSpans], tenant: str, env: str) -> Counter[str]:
        policy = self.policies.resolve(tenant, env)
        pseudo = self._pseudonymizer.for_tenant(tenant)
        measured = self._signals.measure(items)  # on the original text: the only place it is seen
        counts = redact_resources(items, policy, pseudo, self._secrets.rules(policy), self._text)
        self._signals.attach(items, measured)  # numbers and labels only, after the walk
        return counts

    def redact_resource_logs(self, items: list[ResourceLogs], tenant: str, env: str) -> Counter[str]:
        """Log records by the same walker and rules as spans (no content-derived signals: those
        are span attributes)."""
        policy = self.policies.resolve(tenant, env)
        pseudo = self._pseudonymizer.for_tenant(tenant)
        return redact_resources(items, policy, pseudo, self._secrets.rules(policy), self._text)

    def fail_closed(self, items: Resources, tenant: str, env: str) -> Counter[str]:
        """Mask every string value (redaction did not finish in time), in place; spans or logs."""
        return fail_closed(items, self.policies.resolve(tenant, env), self._pseudonymizer.for_tenant(tenant))

    def strip_secrets(self, items: Resources, tenant: str, env: str) -> Counter[str]:
        """Escrow copy (payload mode `original`): PII kept, secrets stripped, in place; spans or logs."""
        policy = self.policies.resolve(tenant, env)
        pseudo = self._pseudonymizer.for_tenant(tenant)
        return redact_resources(items, policy, pseudo, self._secrets.rules(policy), self._text, secrets_only=True)

    def redact_texts(self, texts: Sequence[str], tenant: str = "default", env: str = "default") -> list[RedactedText]:
        policy = self.policies.resolve(tenant, env)
        return self._text.redact_many(texts, policy, self._pseudonymizer.for_tenant(tenant))

    def redact_text(self, text: str, tenant: str = "default", env: str = "default") -> RedactedText:
        return self.redact_texts([text], tenant, env)[0]
