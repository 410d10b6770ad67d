"""The conformance suite: checks that a deployment of Ylem, Celery Director or Meiro keeps its spec.

Schemathesis generates the requests and runs the checks; this package is the glue a team needs
around it: per-API credentials, the twin as a default target, safe mode, known deviations, and
reports (terminal summary, JSON, JUnit XML).
"""
