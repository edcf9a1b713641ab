"""Requests the guidance cannot meet, told from questions it answers by a small learned model.

"which accountant should our cic use", "heres my tupe letter, can you check it", "does canada have
employee ownership trusts" and "just make up a figure for our exit payment" share every word that
matters with the guidance, score high in retrieval and are near no topic of ``topics.yml``. The
patterns of ``_answer.py`` catch the shapes they were written for but not their variants: each
round of patterns gained about 6 points of must-not-answer declined on the next blind split, and
then missed the next split's new wordings (docs/answers.md).

So a logistic regression learns the difference from examples. ``knowledge/outside/requests.yml``
holds messages the guidance must decline, by shape (:data:`SHAPES`: a task, one's own case, a
particular organisation, a recommendation, a forecast or opinion, another country, an invented
answer or a new role, one's personal affairs), and general questions in the same shapes and words
that the pages do answer. They were written from the pages alone, by a helper that saw no
evaluation question. With them the model learns from the outside topics' phrasings (declined) and
the guidance's phrasings (answered). Its features are the message's words and word pairs (TF-IDF)
beside its embedding, so it sees both the shape ("which ... should our cic use", "make up") and
the topic; it is trained when the index is first used (under a second: every input is in the
index already).

A message whose probability of being such a request is at least :data:`REQUEST_THRESHOLD` is
declined before its answer is given. A second regression on the same features names its shape,
and the reply follows it:
another country's law gets the other-countries signpost, one's personal affairs the signpost of
the nearest outside topic, every other shape the reply for requests the guidance cannot meet.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np
import yaml

# The shapes of requests.yml's declined messages.
SHAPES = (
    "task",
    "own_case",
    "particular_body",
    "recommendation",
    "forecast_or_opinion",
    "other_country",
    "invented_or_role",
    "personal_affairs",
)
OUTSIDE_SHAPE = "outside_topic"  # an outside topic's phrasing (topics.yml), in the training set
# Chosen on the tune split (`mutuals eval retrieval --split tune --requests`, docs/answers.md): the
# lowest probability that, with every other rule, wrongly declines at most 3 % of its answerable
# questions.
REQUEST_THRESHOLD = 0.8
REGULARISATION = 4.0  # LogisticRegression's C: chosen with the threshold, on the tune split
EMBEDDING_WEIGHT = 1.0  # the embedding's columns beside the TF-IDF ones


@dataclasses.dataclass(frozen=True)
class RequestExamples:
    """requests.yml: messages the guidance must decline, with their shape, and ones it answers."""

    declined: Tuple[Tuple[str, str], ...] = ()  # (message, shape)
    answered: Tuple[str, ...] = ()

    @property
    def texts(self) -> List[str]:
        """Every message, the declined first: the rows of the index's request embeddings."""
        return [t for t, _ in self.declined] + list(self.answered)


def requests_path(pages_dir: Path) -> Path:
    return Path(pages_dir).parent / "outside" / "requests.yml"


def load_requests(pages_dir: Path) -> RequestExamples:
    """``knowledge/outside/requests.yml`` (empty when there is none)."""
    path = requests_path(pages_dir)
    if not path.exists():
        return RequestExamples()
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    declined: List[Tuple[str, str]] = []
    for shape, messages in (data.get("declined") or {}).items():
        if shape not in SHAPES:
            raise ValueError(f"{path.name}: unknown shape {shape!r} (the shapes are {', '.join(SHAPES)})")
        declined.extend((str(m).strip(), shape) for m in messages or [] if str(m).strip())
    answered = tuple(str(m).strip() for m in data.get("answered") or [] if str(m).strip())
    if bool(declined) != bool(answered):
        raise ValueError(f"{path.name}: needs both declined and answered messages")
    return RequestExamples(tuple(declined), answered)


def _normal(text: str) -> str:
    return " ".join(str(text).lower().replace("\u2019", "'").split())


class RequestClassifier:
    """How likely a message is a request the guidance cannot meet, and which shape of request it is."""

    def __init__(
        self,
        declined: Sequence[Tuple[str, str]],
        declined_vectors: np.ndarray,
        answered: Sequence[str],
        answered_vectors: np.ndarray,
        regularisation: float = REGULARISATION,
        embedding_weight: float = EMBEDDING_WEIGHT,
    ):
        from scipy import sparse
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        if not len(declined) or not len(answered):
            raise ValueError("a request classifier needs declined and answered examples")
        self._sparse = sparse
        self.embedding_weight = embedding_weight
        texts = [_normal(t) for t, _ in declined] + [_normal(t) for t in answered]
        vectors = np.vstack([declined_vectors, answered_vectors]).astype(np.float32)
        labels = np.r_[np.ones(len(declined)), np.zeros(len(answered))]
        self._words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"(?u)\b\w[\w']*\b")
        features = self._features(self._words.fit_transform(texts), vectors)
        self._model = LogisticRegression(C=regularisation, class_weight="balanced", max_iter=5000)
        self._model.fit(features, labels)
        n_words = len(self._words.vocabulary_)
        self._word_weights = self._model.coef_[0][:n_words]
        self._vector_weights = self._model.coef_[0][n_words:]
        self._intercept = float(self._model.intercept_[0])
        shaped = [i for i, (_, shape) in enumerate(declined) if shape != OUTSIDE_SHAPE]
        self._shapes = LogisticRegression(C=regularisation, max_iter=5000)
        self._shapes.fit(features[shaped], [declined[i][1] for i in shaped])

    def _features(self, words, vectors: np.ndarray):
        dense = self._sparse.csr_matrix(np.atleast_2d(vectors) * self.embedding_weight)
        return self._sparse.hstack([words, dense]).tocsr()

    def probabilities(self, texts: Sequence[str], vectors: np.ndarray) -> np.ndarray:
        """For each message, the probability that it is a request the guidance cannot meet: the
        regression's own formula, worked out from its weights (predict_proba's answer, without
        building the sparse feature matrix, which cost 2 ms a message)."""
        words = self._words.transform([_normal(t) for t in texts])
        z = words @ self._word_weights + (np.atleast_2d(vectors) * self.embedding_weight) @ self._vector_weights
        return 1.0 / (1.0 + np.exp(-(np.asarray(z).ravel() + self._intercept)))

    def probability(self, text: str, vector: np.ndarray) -> float:
        return float(self.probabilities([text], np.atleast_2d(vector))[0])

    def shape(self, text: str, vector: np.ndarray) -> str:
        """The shape of a declined message: a second regression, on the same features, over
        requests.yml's declined examples (the outside topics' phrasings, which teach the first
        model too, have their own rule in ``_outside.py``)."""
        words = self._words.transform([_normal(text)])
        return str(self._shapes.predict(self._features(words, np.atleast_2d(vector)))[0])


def declined_shape(
    classifier: Optional[RequestClassifier],
    text: str,
    vector: Optional[np.ndarray],
    threshold: Optional[float] = REQUEST_THRESHOLD,
) -> Optional[str]:
    """The shape of the nearest declined example when ``text`` is a request the guidance cannot
    meet (probability at least ``threshold``), else None; None too without a classifier, a
    vector (BM25 alone) or a threshold (the rule switched off)."""
    if classifier is None or vector is None or threshold is None:
        return None
    if classifier.probability(text, vector) < threshold:
        return None
    return classifier.shape(text, vector)


def train_classifier(
    examples: RequestExamples,
    request_vectors: Optional[np.ndarray],
    phrasing_vectors: Optional[np.ndarray],
    phrasings: Sequence[str],
    outside_vectors: Optional[np.ndarray],
    outside_phrasings: Sequence[str],
    **numbers,
) -> Optional[RequestClassifier]:
    """The classifier of the index's inputs: requests.yml's messages, and the guidance's and the
    outside topics' phrasings (None without requests.yml)."""
    if not examples.declined or request_vectors is None or not len(request_vectors):
        return None
    n = len(examples.declined)
    declined = list(examples.declined) + [(t, OUTSIDE_SHAPE) for t in outside_phrasings]
    declined_vectors = [request_vectors[:n]] + ([outside_vectors] if outside_vectors is not None else [])
    answered = list(examples.answered) + list(phrasings)
    answered_vectors = [request_vectors[n:]] + ([phrasing_vectors] if phrasing_vectors is not None else [])
    return RequestClassifier(declined, np.vstack(declined_vectors), answered, np.vstack(answered_vectors), **numbers)
