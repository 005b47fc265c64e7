"""Integration tests: servers over HTTP/WebSocket, storage, and real SDK clients against fakes."""
