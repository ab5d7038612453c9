"""Declarative IVR call flows: YAML files validated at start-up, run one per call against a channel."""
