"""Insights for the people running the service: what the assistant could not answer, and how it is doing."""
