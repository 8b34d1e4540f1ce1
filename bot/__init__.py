"""workshop-bot: an async Discord bot that runs a scientific workshop's server on the day."""

__version__ = "0.1.0"
