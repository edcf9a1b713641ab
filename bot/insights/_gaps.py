"""Knowledge gaps: missed questions grouped by meaning, and kept in their groups as more arrive.

Each miss is embedded once with the assistant's own embedder (and its nearest guidance section
found with the assistant's own search) by :func:`embed_pending`, in the action server, which holds
the model. :func:`assign_groups` then puts each new miss in a group: the open group whose centroid
(the normalised mean of its questions) is nearest, when the cosine is at least ``JOIN_SIMILARITY``;
the misses left over are clustered among themselves with scikit-learn's agglomerative clustering
(average linkage on cosine distance, cut at the same similarity) and each cluster starts a group.
A question is never moved by a later run, so groups stay stable; a supervisor can move one
(:func:`move`). :func:`gap_summaries` lists the groups, largest and fastest-growing first.
"""

from __future__ import annotations

import collections
import time
from typing import Dict, List, Optional, Sequence

import numpy as np
import sqlalchemy as sa

from ._misses import MissStore, from_blob, groups_table, misses_table, to_blob

JOIN_SIMILARITY = 0.55  # cosine between a question and a group's centroid to join it
CHUNK = 1000  # misses grouped at a time (agglomerative clustering is quadratic in memory)
DAY = 86400.0


def _normalised(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def embed_pending(store: MissStore, desk, batch: int = 256) -> int:
    """Embed the misses not embedded yet and find each one's nearest section; how many were done."""
    done = 0
    while True:
        pending = store.misses(misses_table.c.vector.is_(None), limit=batch)
        if not pending:
            return done
        vectors = _normalised(np.asarray(desk.index.embedder.encode([m.question for m in pending]), dtype=np.float32))
        rows = []
        for miss, vector in zip(pending, vectors):
            hits = desk.index.search(miss.question, mode=desk.mode, k=1, vector=vector)
            rows.append((miss.id, vector, hits[0].passage.id if hits else "", hits[0].score if hits else 0.0))
        store.set_embeddings(rows)
        done += len(rows)


def _centroids(store: MissStore, db, group_ids: Optional[Sequence[int]] = None) -> Dict[int, np.ndarray]:
    c = misses_table.c
    query = sa.select(c.group_id, c.vector).where(c.group_id.is_not(None), c.vector.is_not(None))
    if group_ids is not None:
        query = query.where(c.group_id.in_(list(group_ids)))
    sums: Dict[int, np.ndarray] = {}
    for row in db.execute(query):
        vector = from_blob(row.vector)
        sums[row.group_id] = sums[row.group_id] + vector if row.group_id in sums else vector.copy()
    return {g: _normalised(v) for g, v in sums.items()}


def _save_centroids(db, centroids: Dict[int, np.ndarray]) -> None:
    for group_id, centroid in centroids.items():
        db.execute(groups_table.update().where(groups_table.c.id == group_id).values(centroid=to_blob(centroid)))


def assign_groups(store: MissStore, similarity: float = JOIN_SIMILARITY) -> dict:
    """Put every embedded miss without a group into one; ``{"joined", "new_groups"}``."""
    from sklearn.cluster import AgglomerativeClustering

    joined = new_groups = 0
    c, g = misses_table.c, groups_table.c
    while True:
        with store.engine.begin() as db:
            rows = db.execute(
                sa.select(c.id, c.vector).where(c.group_id.is_(None), c.vector.is_not(None)).order_by(c.id).limit(CHUNK)
            ).all()
            if not rows:
                return {"joined": joined, "new_groups": new_groups}
            ids = [r.id for r in rows]
            vectors = np.stack([from_blob(r.vector) for r in rows])
            groups = db.execute(sa.select(g.id, g.centroid).where(g.centroid.is_not(None))).all()
            left = np.ones(len(ids), dtype=bool)
            touched = set()
            if groups:
                centroids = np.stack([from_blob(r.centroid) for r in groups])
                sims = vectors @ centroids.T
                best = sims.argmax(axis=1)
                joining: Dict[int, List[int]] = collections.defaultdict(list)
                for i, (j, score) in enumerate(zip(best, sims[np.arange(len(ids)), best])):
                    if score >= similarity:
                        joining[groups[j].id].append(ids[i])
                        left[i] = False
                for gid, members in joining.items():
                    db.execute(misses_table.update().where(c.id.in_(members)).values(group_id=gid))
                    touched.add(gid)
                    joined += len(members)
            rest = np.flatnonzero(left)
            if len(rest) == 1:
                labels = np.zeros(1, dtype=int)
            elif len(rest) > 1:
                labels = AgglomerativeClustering(
                    n_clusters=None, affinity="cosine", linkage="average", distance_threshold=1.0 - similarity
                ).fit_predict(vectors[rest])
            else:
                labels = np.zeros(0, dtype=int)
            now = store.clock()
            for label in sorted(set(labels.tolist())):
                members = [ids[i] for i in rest[labels == label]]
                gid = db.execute(
                    groups_table.insert().values(status="open", decision="", created_at=now)
                ).inserted_primary_key[0]
                db.execute(misses_table.update().where(c.id.in_(members)).values(group_id=gid))
                touched.add(gid)
                new_groups += 1
            _save_centroids(db, _centroids(store, db, sorted(touched)))


def move(store: MissStore, miss_id: int, to_group: Optional[int]) -> int:
    """Move a question to another group, or (``None``) to a group of its own; the group it is in now."""
    c, g = misses_table.c, groups_table.c
    with store.engine.begin() as db:
        row = db.execute(sa.select(c.group_id, c.vector).where(c.id == miss_id)).first()
        if row is None:
            raise LookupError("there is no such question")
        if to_group is None:
            to_group = db.execute(
                groups_table.insert().values(status="open", decision="", created_at=store.clock())
            ).inserted_primary_key[0]
        elif db.execute(sa.select(g.id).where(g.id == to_group)).first() is None:
            raise LookupError("there is no such group")
        db.execute(misses_table.update().where(c.id == miss_id).values(group_id=to_group))
        touched = [x for x in (row.group_id, to_group) if x is not None]
        centroids = _centroids(store, db, touched)
        _save_centroids(db, centroids)
        for gid in touched:  # a group left empty has no centroid: nothing more joins it
            if gid not in centroids:
                db.execute(groups_table.update().where(g.id == gid).values(centroid=None))
    return to_group


def decide(store: MissStore, group_id: int, status: str, decision: str, by: Optional[int]) -> None:
    with store.engine.begin() as db:
        changed = db.execute(
            groups_table.update()
            .where(groups_table.c.id == group_id)
            .values(status=status, decision=decision[:2000], decided_by=by, decided_at=store.clock())
        ).rowcount
    if not changed:
        raise LookupError("there is no such group")


def _distinct(values, limit: int) -> List[str]:
    out: List[str] = []
    for value in values:
        if value and value.lower() not in {o.lower() for o in out}:
            out.append(value)
        if len(out) == limit:
            break
    return out


def gap_summaries(
    store: MissStore, now: Optional[float] = None, sort: str = "size", include_decided: bool = False, examples: int = 3
) -> List[dict]:
    """The groups with their figures: largest first (``sort="growth"``: fastest-growing first)."""
    now = store.clock() if now is None else now
    c = misses_table.c
    columns = [
        c.id,
        c.conversation_id,
        c.kind,
        c.question,
        c.answer,
        c.source,
        c.at,
        c.adviser_reply,
        c.outcome,
        c.nearest,
        c.nearest_score,
        c.group_id,
        c.threshold,
    ]
    with store.engine.connect() as db:
        groups = {r.id: r for r in db.execute(sa.select(groups_table))}
        members: Dict[int, list] = collections.defaultdict(list)
        for row in db.execute(sa.select(*columns).where(c.group_id.is_not(None)).order_by(c.at.desc())):
            members[row.group_id].append(row)
    out = []
    for gid, rows in members.items():
        group = groups.get(gid)
        if group is None:
            continue
        new_since = [r for r in rows if group.decided_at and r.at > group.decided_at]
        if group.status != "open" and not include_decided and not new_since:
            continue
        recent = sum(1 for r in rows if r.at >= now - 7 * DAY)
        before = sum(1 for r in rows if now - 14 * DAY <= r.at < now - 7 * DAY)
        nearest = collections.Counter(r.nearest for r in rows if r.nearest).most_common(1)
        nearest_id = nearest[0][0] if nearest else ""
        scores = [r.nearest_score for r in rows if r.nearest == nearest_id and r.nearest_score is not None]
        out.append(
            {
                "id": gid,
                "status": group.status,
                "decision": group.decision,
                "size": len(rows),
                "conversations": len({r.conversation_id for r in rows}),
                "last_7_days": recent,
                "previous_7_days": before,
                "growth": recent - before,
                "new_since_decision": len(new_since),
                "kinds": dict(collections.Counter(r.kind for r in rows)),
                "examples": _distinct((r.question for r in rows), examples),
                "questions": [{"id": r.id, "question": r.question, "kind": r.kind, "at": r.at} for r in rows[:50]],
                "nearest": nearest_id,
                "nearest_score": round(float(np.mean(scores)), 3) if scores else None,
                "threshold": next((round(float(r.threshold), 3) for r in rows if r.threshold), None),
                "assistant_said": _distinct((r.answer for r in rows), 2),
                "advisers_replied": _distinct((r.adviser_reply for r in rows), 2),
                "outcomes": dict(collections.Counter(r.outcome for r in rows if r.outcome)),
            }
        )
    key = (
        (lambda s: (-s["growth"], -s["size"], s["id"]))
        if sort == "growth"
        else (lambda s: (-s["size"], -s["growth"], s["id"]))
    )
    return sorted(out, key=key)


def refresh(store: MissStore, desk, similarity: float = JOIN_SIMILARITY) -> dict:
    """Embed what is new and group it (the action server's ``POST /insights/refresh``)."""
    started = time.perf_counter()
    embedded = embed_pending(store, desk)
    grouped = assign_groups(store, similarity)
    return {"embedded": embedded, **grouped, "seconds": round(time.perf_counter() - started, 3)}


__all__ = ["JOIN_SIMILARITY", "assign_groups", "decide", "embed_pending", "gap_summaries", "move", "refresh"]
