"""The request pipeline: the layers every request goes through, in the order app.py lists them."""
