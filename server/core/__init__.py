"""The core every request acts on: the twin and its worlds, sessions, store, clock, errors."""
