"""What the gateway tells operators: the HTTP endpoints, build identity, logging."""
