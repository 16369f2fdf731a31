"""HRIS webhooks: signed requests from HR systems that cannot write to Kafka, mapped to the
inbound contract and published like any departure."""
