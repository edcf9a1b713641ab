"""The project's web server (guidance pages, widget, console)."""
from .app import create_app, render_markdown

__all__ = ["create_app", "render_markdown"]
