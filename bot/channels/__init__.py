"""Rasa input channels of our own, named in credentials.yml."""
from .rest import CheckedRestInput, RelayInput
from .socketio import WidgetInput, WidgetOutput, bot_message

__all__ = ["CheckedRestInput", "RelayInput", "WidgetInput", "WidgetOutput", "bot_message"]
