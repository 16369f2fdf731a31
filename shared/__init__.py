"""Plumbing every service imports: settings, topics, Kafka, MongoDB, telemetry, service bootstrap."""
