"""Guidance: the pages in knowledge/, the index that searches them, and the answers built from them."""

from ._answer import (
    ADVISER_PAYLOAD,
    DEFAULT_THRESHOLD,
    TELL_ME_MORE_PAYLOAD,
    Answer,
    Button,
    GuidanceDesk,
    SourceRef,
    assess_message,
    topic_payload,
)
from ._context import Context, follow_up_cue
from ._embedder import MODEL_NAME, Embedder, model_path, shared_embedder
from ._index import GuidanceIndex, knowledge_fingerprint
from ._pages import CATEGORIES, Guidance, PageError, Passage, Source, anchor_for, load_pages, parse_page
from ._search import MODES, BM25, Hit, tokens, top_pages

__all__ = [
    "ADVISER_PAYLOAD",
    "Answer",
    "BM25",
    "Button",
    "CATEGORIES",
    "Context",
    "DEFAULT_THRESHOLD",
    "Embedder",
    "Guidance",
    "GuidanceDesk",
    "GuidanceIndex",
    "Hit",
    "MODEL_NAME",
    "MODES",
    "PageError",
    "Passage",
    "Source",
    "SourceRef",
    "TELL_ME_MORE_PAYLOAD",
    "anchor_for",
    "assess_message",
    "follow_up_cue",
    "knowledge_fingerprint",
    "load_pages",
    "model_path",
    "parse_page",
    "shared_embedder",
    "tokens",
    "top_pages",
    "topic_payload",
]
