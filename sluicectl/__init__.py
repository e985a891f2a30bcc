"""sluicectl: the operator/developer CLI of sluice (terraform wrapper, demo, DLQ tools, status).

``sluicectl.samples`` generates the deterministic sample orders the demo and the e2e tests upload.
"""
