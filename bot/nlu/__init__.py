"""The project's own NLU step: :class:`bot.nlu.router.MessageRouter`, a Rasa graph component
after DIET and the FallbackClassifier (config.yml), applying the rules in :mod:`bot.nlu._rules`
(safety first, then questions never lost to small talk). This package imports no Rasa itself:
only ``bot.nlu.router`` does."""
