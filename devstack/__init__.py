"""The local stack without Docker: a real Kafka broker, a MongoDB-compatible server, the services.

`./alumni up|down|status|test` drive it; the integration tests start it through the same code.
"""
