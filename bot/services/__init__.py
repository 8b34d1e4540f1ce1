"""Plain async services: the workshop's logic, with no Discord import."""
