"""The moto fixtures (moto_endpoint, aws_env, s3_bucket, kms_client) live in tests/conftest.py."""
