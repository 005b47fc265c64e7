"""What lives as long as the server: its state and its routes."""
