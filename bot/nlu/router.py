"""``MessageRouter``: the last NLU step (config.yml, after DIETClassifier and FallbackClassifier).

It applies :func:`bot.nlu._rules.route` to each message: a risk to someone's safety becomes
``crisis`` whatever DIET guessed, an attempt to change the assistant's role ``out_of_scope``, a
message that had personal details removed by its channel ``share_personal_details`` (or
``ask_question`` with the entity ``personal_details_removed`` when the rest is a question), "what
can you do?" ``ask_capabilities``, and a question DIET took for small talk ``ask_question``.
When it changes the intent it puts the new one first in the intent ranking and leaves a
``routed`` note in the parse data (``{"from": <DIET's intent>, "reason": ...}``), which the tracker
keeps, so every decision can be explained afterwards.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Text, Type

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    EXTRACTOR,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from bot.safety import KIND_OF
from bot.safety._identifiers import PLACEHOLDER

from ._rules import PERSONAL_ENTITY, route

logger = logging.getLogger(__name__)
ROUTED = "routed"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class MessageRouter(GraphComponent, IntentClassifier):
    """Safety and routing rules applied after the intent classifiers (see :mod:`bot.nlu._rules`)."""

    @classmethod
    def required_components(cls) -> List[Type]:
        return [IntentClassifier]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.component_config = config

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "MessageRouter":
        return cls(config)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self.route(message)
        return messages

    def route(self, message: Message) -> Message:
        text = message.get(TEXT) or ""
        before = (message.get(INTENT) or {}).get(INTENT_NAME_KEY) or ""
        ranked = [r.get(INTENT_NAME_KEY) for r in (message.get(INTENT_RANKING_KEY) or [])]
        runner_up = next((name for name in ranked if name and name not in (before, "nlu_fallback")), "")
        decided = route(text, before, runner_up)
        entities = self.placeholder_entities(text) if decided.intent == "ask_question" else []
        if entities:
            message.set(ENTITIES, list(message.get(ENTITIES) or []) + entities, add_to_output=True)
        if not decided.changed:
            return message
        new = {INTENT_NAME_KEY: decided.intent, PREDICTED_CONFIDENCE_KEY: 1.0}
        ranking = [r for r in (message.get(INTENT_RANKING_KEY) or []) if r.get(INTENT_NAME_KEY) != decided.intent]
        message.set(INTENT, new, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [new] + ranking, add_to_output=True)
        message.set(ROUTED, {"from": before, "reason": decided.reason}, add_to_output=True)
        logger.debug("router: %s -> %s (%s)", before, decided.intent, decided.reason)
        return message

    @staticmethod
    def placeholder_entities(text: str) -> List[Dict[str, Any]]:
        m = next(PLACEHOLDER.finditer(text), None)
        if m is None:
            return []
        return [
            {
                ENTITY_ATTRIBUTE_TYPE: PERSONAL_ENTITY,
                ENTITY_ATTRIBUTE_VALUE: KIND_OF[m.group(0)],
                ENTITY_ATTRIBUTE_START: m.start(),
                ENTITY_ATTRIBUTE_END: m.end(),
                EXTRACTOR: "MessageRouter",
            }
        ]
