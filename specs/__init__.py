"""The OpenAPI documents, shipped as package data (`importlib.resources.files("apitwin.specs")`)."""
