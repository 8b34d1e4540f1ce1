"""Shared Discord rendering: formatting helpers, embeds, views."""
