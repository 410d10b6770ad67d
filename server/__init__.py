"""apitwin: stateful, deterministic twins of the Ylem, Celery Director and Meiro APIs."""
