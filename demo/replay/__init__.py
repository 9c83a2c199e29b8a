"""Replay of recorded responses on loopback, at the real sites' paths (see `server.py`)."""
