"""apitwin's performance benchmark (see the README's "Performance" section)."""
