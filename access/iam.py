"""IAM policies for teams that read one tenant's data straight from the bucket (outside grants)."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from policies.config import Config
from vault import layout


def iam_policy(config: Config, tenant: str, env: str | None = None) -> dict[str, Any]:
    """An IAM policy allowing only the tenant's (env's) prefixes of every env-partitioned table
    (metrics, log_metrics, payloads, evaluations: all but the audit log) in the configured S3
    bucket, and kms:Decrypt only under the tenant's encryption context."""
    parts = urlsplit(config.store_url())
    if parts.scheme != "s3" or not parts.netloc:
        raise ValueError("iam-policy needs an s3:// storage.url")
    bucket = parts.netloc
    base = unquote(parts.path).strip("/")
    prefixes = []
    for kind in layout.ENV_KINDS:
        prefix = f"{kind}/tenant={tenant}/" + (f"env={env}/" if env else "")
        prefixes.append(f"{base}/{prefix}" if base else prefix)
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ListTenantPrefixes",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": f"arn:aws:s3:::{bucket}",
            "Condition": {"StringLike": {"s3:prefix": [p + "*" for p in prefixes]}},
        },
        {
            "Sid": "ReadTenantObjects",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": [f"arn:aws:s3:::{bucket}/{p}*" for p in prefixes],
        },
    ]
    context: dict[str, str] = {"kms:EncryptionContext:tracevault:tenant": tenant}
    if env:
        context["kms:EncryptionContext:tracevault:env"] = env
    decrypt: dict[str, Any] = {
        "Sid": "DecryptTenantDataKeys",
        "Effect": "Allow",
        "Action": "kms:Decrypt",
        "Resource": "*",
        "Condition": {"StringEquals": context},
    }
    key_ref = config.keyring.kms_key_id.replace("{tenant}", tenant)
    if key_ref.startswith("arn:"):
        decrypt["Resource"] = key_ref
    elif key_ref.startswith("alias/"):
        decrypt["Condition"]["ForAnyValue:StringEquals"] = {"kms:ResourceAliases": key_ref}
    statements.append(decrypt)
    if config.storage.sse_kms_key_id:
        statements.append(
            {
                "Sid": "DecryptBucketSseForTenantObjects",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": config.storage.sse_kms_key_id,
                "Condition": {"StringLike": {"kms:EncryptionContext:aws:s3:arn": [f"arn:aws:s3:::{bucket}/{p}*" for p in prefixes]}},
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}
