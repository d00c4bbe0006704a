"""The retention policy as S3 lifecycle rules, so that S3 does the bulk expiry at any scale.

One rule per (tenant, env, kind) prefix for every env-partitioned kind of the layout
(`vault.layout.ENV_KINDS`: metrics, log_metrics, payloads, evaluations), one per tenant for
audit, and one for the security log (``access/security-log/``, by the default tenant's
``audit_days``, as the sweep does). Windows are the sweep's (`retention.sweep.WINDOW_FIELDS`:
log_metrics and evaluations are kept as long as metrics). The other ``access/`` objects (grant
registry, revocations, audit heads) are state, not time-partitioned records: no rule expires
them.

    {"ID": "tracevault/payloads/tenant=acme/env=prod",
     "Filter": {"Prefix": "<storage prefix>/payloads/tenant=acme/env=prod/"},
     "Status": "Enabled",
     "Expiration": {"Days": payload_days + 1},
     "NoncurrentVersionExpiration": {"NoncurrentDays": 1}}

- ``Days`` is the window plus one: S3 counts from each object's creation time and rounds to the
  next midnight UTC, while the sweep counts whole partition days; one more day means S3 never
  expires an object that the sweep would still keep.
- ``NoncurrentVersionExpiration``: on a versioned bucket, an expired, erased or rewritten
  object's old versions are removed a day later instead of living on forever.
- Tenants and envs covered: the configured ones (with the default env) plus those found in the
  store. A tenant or env that first appears after the rules were applied has no rule until the
  next ``lifecycle --apply``; the cron sweep covers it meanwhile.
- Applying merges: rules whose ID does not start with ``tracevault/`` (the bucket's other rules)
  are kept; ours are replaced as a whole. S3 allows at most 1000 rules per bucket.
"""

from __future__ import annotations

from typing import Any

from policies.config import Config
from policies.resolve import PolicySet
from policies.tenants import is_valid_id
from retention.sweep import Windows
from vault import layout
from vault import securitylog as security_log
from vault.store import ObjectStore, S3Store, StoreError

RULE_ID_PREFIX = "tracevault/"
#: The env-partitioned kinds that get a rule: every one of the layout (a new table is covered
#: by itself; its window must be in retention.sweep.WINDOW_FIELDS).
LIFECYCLE_KINDS = layout.ENV_KINDS
MAX_RULES = 1000


class LifecycleError(Exception):
    """Rules cannot be rendered or applied; the message says why and what to do."""


def known_tenants(store: ObjectStore | None, config: Config) -> dict[str, set[str]]:
    """tenant -> envs: configured ones, the default tenant and env, and what the store holds."""
    default_env = config.tenancy.default_env
    found: dict[str, set[str]] = {config.tenancy.default_tenant: {default_env}}
    for tenant, spec in config.tenants.items():
        found.setdefault(tenant, set()).update({default_env, *spec.environments})
    if store is not None:
        for tenant, env in _stored_partitions(store):
            found.setdefault(tenant, set())
            if env is not None:
                found[tenant].add(env)
    return found


def _stored_partitions(store: ObjectStore) -> set[tuple[str, str | None]]:
    """(tenant, env) pairs that hold objects. On S3, walked with delimiters (a few requests per
    tenant, not one per object); elsewhere, from the full listing."""
    pairs: set[tuple[str, str | None]] = set()
    if isinstance(store, S3Store):
        for kind in layout.KINDS:
            for tenant_prefix in store.common_prefixes(f"{kind}/"):
                tenant = _part_value(tenant_prefix, "tenant")
                if tenant is None:
                    continue
                if kind == "audit":
                    pairs.add((tenant, None))
                    continue
                for env_prefix in store.common_prefixes(f"{kind}/tenant={tenant}/"):
                    env = _part_value(env_prefix, "env")
                    if env is not None:
                        pairs.add((tenant, env))
        return pairs
    for kind in layout.KINDS:
        for info in store.list(kind + "/"):
            parsed = layout.parse_key(info.key)
            if parsed is not None:
                pairs.add((parsed[0].tenant, parsed[0].env))
    return pairs


def _part_value(prefix: str, name: str) -> str | None:
    part = prefix.rstrip("/").rsplit("/", 1)[-1]
    head = name + "="
    if not part.startswith(head):
        return None
    value = part[len(head) :]
    return value if is_valid_id(value) else None


def render_rules(config: Config, tenants: dict[str, set[str]], storage_prefix: str = "", policies: PolicySet | None = None) -> list[dict[str, Any]]:
    """The lifecycle rules for ``tenants`` (tenant -> envs): per tenant, its envs' kinds then
    its audit; the security log's rule last."""
    windows = Windows(config, policies)
    base = storage_prefix.strip("/")
    base = base + "/" if base else ""
    rules: list[dict[str, Any]] = []
    for tenant in sorted(tenants):
        for env in sorted(tenants[tenant]):
            for kind in LIFECYCLE_KINDS:
                rules.append(_rule(base, layout.partition_prefix(kind, tenant, env), windows.days(kind, tenant, env)))
        rules.append(_rule(base, layout.partition_prefix("audit", tenant), windows.days("audit", tenant, None)))
    rules.append(_rule(base, security_log.PREFIX, windows.days("audit", config.tenancy.default_tenant, None)))
    return rules


def _rule(base: str, prefix: str, days: int) -> dict[str, Any]:
    return {
        "ID": RULE_ID_PREFIX + prefix.rstrip("/"),
        "Filter": {"Prefix": base + prefix},
        "Status": "Enabled",
        "Expiration": {"Days": days + 1},
        "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
    }


def check_rule_count(count: int) -> None:
    if count > MAX_RULES:
        raise LifecycleError(
            f"{count} lifecycle rules are needed but S3 allows at most {MAX_RULES} per bucket: "
            "give large tenants their own bucket or prefix, or rely on `tracevault retention run` "
            "alone for this bucket"
        )


def apply_rules(store: ObjectStore, rules: list[dict[str, Any]]) -> dict[str, Any]:
    """Put ``rules`` on the store's bucket, keeping the bucket's rules that are not ours.
    Returns the configuration that was put."""
    if not isinstance(store, S3Store):
        raise LifecycleError(
            f"lifecycle rules need an S3 store; {store.describe()} is not one. "
            "`tracevault retention run` enforces retention on this store (run it from cron)"
        )
    try:
        current = store.lifecycle_rules()
        foreign = [rule for rule in current if not str(rule.get("ID", "")).startswith(RULE_ID_PREFIX)]
        merged = foreign + rules
        check_rule_count(len(merged))
        store.put_lifecycle_rules(merged)
    except StoreError as exc:  # names the operation and the AWS error code only
        raise LifecycleError(f"s3://{store.bucket}: lifecycle configuration failed: {exc}") from None
    return {"Rules": merged}
