"""Wire formats: pure functions from objects to bytes and back, no sockets."""
