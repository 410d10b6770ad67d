"""Running the twin as processes: worker processes of `serve --workers`, and TwinProcess."""
