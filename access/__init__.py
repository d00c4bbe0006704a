"""Access to stored payloads: signed grants and their keys, the authorised and audited read,
and IAM policies for direct bucket reads. Sits above the vault; the sidecar's CLI and admin
listener use it."""
