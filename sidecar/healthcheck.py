"""The image's HEALTHCHECK: GET /healthz on the HTTP listener that the config names.

    python -m sidecar.healthcheck [--config FILE] [--timeout SECONDS]

It reads the same config as `serve`, so a config that moves the HTTP port moves the probe too.
A wildcard listen address (0.0.0.0, ::) is probed on loopback. Exit 0 on a 200, 1 otherwise,
with one line on stderr that names the URL and what went wrong (never a response body).
"""

from __future__ import annotations

import argparse
import http.client
import ipaddress
import sys

from policies.config import ConfigError, ServerConfig, load_config

IMAGE_CONFIG = "/etc/tracevault/tracevault.yaml"


def probe_address(server: ServerConfig) -> tuple[str, int]:
    """Where to probe the listener: its own address, or loopback for a wildcard one."""
    host = server.http_host
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host, server.http_port  # a host name
    if address.is_unspecified:
        return ("::1" if address.version == 6 else "127.0.0.1"), server.http_port
    return host, server.http_port


def check(server: ServerConfig, timeout: float) -> str | None:
    """None when /healthz answers 200; otherwise why not."""
    host, port = probe_address(server)
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", "/healthz")
        status = connection.getresponse().status
    except OSError as exc:
        return f"http://{host}:{port}/healthz: {type(exc).__name__}"
    finally:
        connection.close()
    return None if status == 200 else f"http://{host}:{port}/healthz: status {status}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sidecar.healthcheck", description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=IMAGE_CONFIG, help=f"the config `serve` runs with (default {IMAGE_CONFIG})")
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds to wait for the answer")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        sys.stderr.write(f"unhealthy: {exc}\n")
        return 1
    problem = check(config.server, args.timeout)
    if problem is not None:
        sys.stderr.write(f"unhealthy: {problem}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
