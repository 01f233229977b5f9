"""One module per vendor: what the app knows about it without loading its service."""
