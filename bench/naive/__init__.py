"""Naive baselines: each pipeline written the way the seed articles write it (one invocation per record, no
batching, AWS clients and models created inside every call). The benchmarks zip these files, deploy them as extra
Lambda functions on the same local cloud through boto3 (never through the production Terraform) and push the same
inputs through them, so every figure in the report is a ratio measured in one run.

Each module is a standalone Lambda handler: no import from ``sluice`` or ``functions``.
"""
