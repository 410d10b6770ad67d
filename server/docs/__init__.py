"""The docs: landing page, Swagger UI and Redoc pages, their assets, and `apitwin docs`."""
