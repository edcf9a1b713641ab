"""Helpers the tests share, imported as ``tests.support.<module>`` (the repository's root is on
pytest's ``pythonpath``): the running stack and throwaway servers, the browser and its page
objects, the clients of the console and the widget, the Telegram stand-ins, fuzzing inputs.
Fixtures are not here but in the conftest.py of the folder whose tests use them."""
