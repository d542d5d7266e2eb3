"""The reference candidate service and the local servers (Redis, Memcached, Prometheus) it needs."""
