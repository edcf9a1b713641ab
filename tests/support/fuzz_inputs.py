"""Hypothesis strategies for what a stranger may send: any JSON, wrong types, huge values,
control characters, invalid UTF-8 and deeply nested objects."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, settings, strategies as st

# how hard each fuzzing test tries: the same 60 examples every run, however slow the machine
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)

CONTROL = st.characters(min_codepoint=0, max_codepoint=0x1F) | st.sampled_from(["\u202e", "\ufeff", "\u2028", "\x7f"])
TEXT = st.one_of(
    st.text(max_size=60),
    st.text(CONTROL, max_size=20),
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "<script>alert(1)</script>",
            "/restart",
            "/request_human",
            "cancel",
            "How do I register a co-operative?",
            "😀" * 50,
            "x" * 2001,
            "x" * 100_000,
        ]
    ),
)
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), TEXT, st.just(10**400)
)  # a number no float holds
JSON = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4), max_leaves=12
)


# a message's own id (bot/channels/_message_ids.py): well-formed, malformed, repeated
MESSAGE_IDS = st.one_of(
    SCALARS,
    st.sampled_from(
        ["fuzz-message-0001", "fuzz-message-0001", "a" * 64, "a" * 65, "id with spaces", "short", "../../etc/passwd"]
    ),
    JSON,
)


def nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


def dumps(value) -> bytes:
    return json.dumps(value, allow_nan=True).encode("utf-8", "surrogatepass")


def rest_body(sender_strategy):
    message_like = st.fixed_dictionaries(
        {"sender": sender_strategy | SCALARS, "message": SCALARS | JSON},
        optional={"metadata": JSON, "message_id": MESSAGE_IDS},
    )
    return st.one_of(
        message_like.map(dumps),
        JSON.map(dumps),
        st.binary(max_size=300),  # mostly not UTF-8, not JSON
        st.builds(
            lambda s, junk: dumps({"sender": s, "message": "hi"}) + junk,
            sender_strategy,
            st.binary(min_size=1, max_size=5),
        ),
        st.sampled_from(
            [
                b"",
                b"null",
                b"[]",
                b'"a string"',
                b"\xff\xfe{}",
                nested(5000),
                nested(100),
                b'{"sender": "a", "message": "\xc3\x28"}',
                b'{"sender": "a", "message": "\\ud800"}',
            ]
        ),
    )
