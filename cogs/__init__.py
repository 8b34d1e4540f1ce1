"""Discord extensions, one per audience: each parses interactions and calls a service."""
