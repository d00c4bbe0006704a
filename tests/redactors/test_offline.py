"""Nothing in the redaction path reaches the network: no model download, no public-suffix fetch."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import sys

    attempts = []

    def guard(event, args):
        # Any DNS lookup or socket connect is refused and recorded.
        if event in ("socket.getaddrinfo", "socket.connect", "socket.gethostbyname"):
            attempts.append(event)
            raise PermissionError("network access from the redaction path")

    sys.addaudithook(guard)

    from policies.config import Config
    from redactors.engine import Redactor

    redactor = Redactor.build(Config(), bytes(32))
    texts = [
        "write to maria.gonzalez@example.co.uk or ops@sub.example.com.au",
        "see https://docs.example.org/guide?user=jane and http://intranet.local/x",
        "Hi, my name is John Smith; call +1 415 555 0132",
    ]
    results = redactor.redact_texts(texts)
    assert "<EMAIL_ADDRESS>" in results[0].text, results[0].counts
    assert "maria.gonzalez" not in results[0].text
    assert not attempts, attempts
    print("offline-ok")
    """
)


def test_redaction_makes_no_network_calls() -> None:
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "offline-ok" in result.stdout
