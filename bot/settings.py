"""All of Mutuals Assistant's configuration, in one place.

Every setting has a default that works on one machine and can be overridden by an
environment variable of the same name in upper case with the ``MUTUALS_`` prefix
(``MUTUALS_RASA_PORT=5006``). Telegram's two settings keep Telegram's own names
(``TELEGRAM_BOT_TOKEN``, ``TELEGRAM_API_BASE_URL``).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple

ROOT = Path(__file__).resolve().parent.parent
# the start of every Redis key the project writes: Rasa's lock store (bot/locks.py), the channels' limits
REDIS_KEY_PREFIX = "mutuals"


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message names it."""


# settings that take one of a few words (any case; kept as written here)
CHOICES: Dict[str, Tuple[str, ...]] = {
    "embedding_model": ("tuned", "base"),
    "embedder": ("auto", "onnx", "torch"),
    "log_level": ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"),
}


@dataclasses.dataclass(frozen=True)
class Settings:
    # where things listen (loopback unless told otherwise)
    host: str = "127.0.0.1"
    rasa_port: int = 5005
    actions_port: int = 5055
    web_port: int = 8080
    # the address people use to reach the web server (links in answers point here)
    public_url: str = ""
    # web pages allowed to embed the widget (comma-separated origins, or * for any)
    allowed_origins: str = "*"
    # state
    var_dir: Path = ROOT / "var"
    models_dir: Path = ROOT / "models"
    knowledge_dir: Path = ROOT / "knowledge"
    tracker_store_url: str = ""  # any SQLAlchemy URL; default: SQLite under var/
    handoff_store_url: str = ""  # any SQLAlchemy URL; default: SQLite under var/
    # how long the Rasa server waits for the tracker store's database to answer before refusing to start
    db_wait_seconds: float = 10.0
    # the gap page writes approved phrasings into knowledge/; true: it exports them as a patch to review instead
    # (as it does when the folder cannot be written)
    knowledge_read_only: bool = False
    # scaling out (README "Scaling out"): several Rasa servers share these; empty means one machine
    lock_store_url: str = ""  # redis://host:6379/0: Rasa's lock store in Redis; empty: in memory (one Rasa server)
    socketio_queue_url: str = ""  # redis://host:6379/0: socket.io messages reach a widget on any Rasa server
    rasa_server_url: str = (
        ""  # where the web server and Telegram reach Rasa (a load balancer); default http://host:rasa_port
    )
    action_server_url: str = (
        ""  # where Rasa reaches the action servers (a load balancer); default http://host:actions_port
    )
    public_rasa_url: str = ""  # where browsers reach Rasa's socket.io (the public balancer); default: rasa_url
    # answers
    max_message_chars: int = 2000
    answer_threshold: float = 0.0  # 0 means "the threshold chosen by evaluation" (see bot.guidance)
    retrieval_mode: str = "hybrid"  # dense | bm25 | rrf | hybrid
    # the embedding model: tuned (all-MiniLM-L6-v2 fine-tuned on knowledge/ by `mutuals setup`; the base
    # model, with a logged warning, while it is missing) or base (the model as it ships)
    embedding_model: str = "tuned"
    embedder: str = "auto"  # auto (ONNX when exported, else torch) | onnx | torch
    onnx_dir: str = ""  # an ONNX export to embed with, whichever model it holds; empty: the one `mutuals setup` made
    # limits on the public channels (REST, socket.io; 0 means none; see bot/channels/_limits.py)
    messages_per_minute_per_conversation: int = 30
    messages_per_minute_per_address: int = 120
    socketio_connections_per_address: int = 20
    trust_proxy: int = 0  # reverse proxies of our own in front: >0 reads the client's address from X-Forwarded-For
    # where several Rasa servers share those counts: redis://host:6379/0; empty: the lock store's URL when that is
    # Redis, else in memory per process; in_memory: per process even with a Redis lock store
    limits_redis_url: str = ""
    # Rasa
    rasa_token: str = ""  # Rasa's HTTP API token; generated on first run if empty, kept in var/secrets/
    relay_token: str = ""  # what the Telegram front end shows the relay channel; generated likewise
    action_timeout_seconds: float = 5.0  # a custom action slower than this gets the "having trouble" reply
    # how long one turn may hold its conversation's lock; a Rasa server that dies mid-turn holds it that long, and
    # a message sent again meanwhile waits on another server (Rasa's TICKET_LOCK_LIFETIME)
    turn_lock_seconds: int = 20
    log_level: str = "INFO"  # the action server's log level: DEBUG | INFO | WARNING | ERROR | CRITICAL
    # Telegram
    telegram_bot_token: str = ""
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    telegram_webhook_url: str = ""
    telegram_webhook_secret: str = ""
    telegram_webhook_port: int = 8443  # where the webhook listens (on host); a reverse proxy forwards to it
    telegram_relay_timeout_seconds: float = 30.0  # how long a Telegram turn waits for the assistant
    # advisers
    adviser_hours: str = "Mon-Fri 09:00-17:00"
    adviser_timezone: str = "Europe/London"
    console_session_hours: float = 8.0
    # privacy
    conversation_retention_days: int = 30
    case_retention_days: int = 180
    # email to people (bot/handoff/_email.py): an adviser's reply the person has not seen in the chat
    # within email_after_seconds is emailed to the address they gave with consent. Off unless both the
    # server and the sender are set. smtp_url: smtps://user:password@host:465 (TLS from the start) or
    # smtp://user:password@host:587 (STARTTLS, required); smtp+plain://host:port (no TLS) only on loopback
    smtp_url: str = ""
    email_from: str = ""  # the sender, e.g. "Mutuals Assistant <advice@example.org>"
    email_reply_to: str = ""  # where the person's answer to the email goes (empty: no Reply-To)
    email_after_seconds: float = 300.0  # unseen this long after the adviser sent it: emailed
    email_link_days: float = 7.0  # how long the link back to the conversation works
    email_attempts: int = 5  # tries before a notice is marked failed (4xx, connection errors)
    email_retry_seconds: float = 30.0  # the first retry's wait; each next one waits twice as long
    email_poll_seconds: float = 5.0  # how often the web server's outbox worker looks for due email

    @property
    def email_enabled(self) -> bool:
        """Whether adviser replies may be emailed: a mail server and a sender are set."""
        return bool(self.smtp_url.strip() and self.email_from.strip())

    @property
    def rasa_url(self) -> str:
        return self.rasa_server_url.rstrip("/") or f"http://{self.host}:{self.rasa_port}"

    @property
    def widget_server_url(self) -> str:
        """What the widget connects to (its ``data-server``)."""
        return self.public_rasa_url.rstrip("/") or self.rasa_url

    @property
    def actions_url(self) -> str:
        return (self.action_server_url.rstrip("/") or f"http://{self.host}:{self.actions_port}") + "/webhook"

    @property
    def web_url(self) -> str:
        return self.public_url.rstrip("/") or f"http://{self.host}:{self.web_port}"

    @property
    def limits_redis(self) -> str:
        """The Redis URL the channels' limits are counted in, or "" for in memory (per process)."""
        url = (self.limits_redis_url or "").strip()
        if url == "in_memory":
            return ""
        if not url:  # the lock store's Redis, if it has one
            lock_store = (self.lock_store_url or "").strip()
            return lock_store if lock_store.startswith(("redis://", "rediss://")) else ""
        if not url.startswith(("redis://", "rediss://")):
            raise SettingsError(
                f"MUTUALS_LIMITS_REDIS_URL must be empty, in_memory or redis://host:port/db, not {url!r}"
            )
        return url

    @property
    def response_timeout_seconds(self) -> int:
        """How long a REST turn may take: a message sent again after a server died waits out that
        server's lock first, then has its turn."""
        return self.turn_lock_seconds + 40

    @property
    def tracker_store(self) -> str:
        return self.tracker_store_url or f"sqlite:///{self.var_dir / 'trackers.db'}"

    @property
    def handoff_store(self) -> str:
        return self.handoff_store_url or f"sqlite:///{self.var_dir / 'handoffs.db'}"

    @property
    def model_file(self) -> Path:
        return self.models_dir / "mutuals.tar.gz"

    @property
    def index_dir(self) -> Path:
        return self.var_dir / "index"

    def with_secrets(self) -> "Settings":
        """These settings with the tokens filled in: from the environment, else var/secrets/
        (made with a random value on first use, readable by this user only)."""
        import secrets as _secrets

        values: Dict[str, Any] = {}
        for name in ("rasa_token", "relay_token"):
            if getattr(self, name):
                continue
            path = self.var_dir / "secrets" / name
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                path.parent.chmod(0o700)
                path.write_text(_secrets.token_urlsafe(32))
                path.chmod(0o600)
            values[name] = path.read_text().strip()
        return dataclasses.replace(self, **values) if values else self

    def guidance_url(self, slug: str, anchor: str = "") -> str:
        return f"{self.web_url}/guidance/{slug}" + (f"#{anchor}" if anchor else "")

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None, **overrides) -> "Settings":
        """Read settings from the environment; ``overrides`` win over both."""
        env = os.environ if env is None else env
        values = {}
        for field in dataclasses.fields(cls):
            name = field.name
            key = name.upper() if name.startswith("telegram_") else f"MUTUALS_{name.upper()}"
            if name in overrides:
                values[name] = overrides[name]
                continue
            raw = env.get(key)
            if raw is None or raw == "":
                continue
            values[name] = _convert(key, raw, field.type)
            if name in CHOICES:
                values[name] = _choose(key, raw, CHOICES[name])
        return cls(**values)

    def as_env(self) -> dict:
        """The environment variables that reproduce these settings in a child process."""
        out = {}
        for field in dataclasses.fields(self):
            name = field.name
            key = name.upper() if name.startswith("telegram_") else f"MUTUALS_{name.upper()}"
            out[key] = str(getattr(self, name))
        return out


TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _choose(key: str, raw: str, choices: Tuple[str, ...]) -> str:
    for choice in choices:
        if raw.strip().lower() == choice.lower():
            return choice
    raise SettingsError(f"{key} must be {', '.join(choices[:-1])} or {choices[-1]}, not {raw!r}")


def _convert(key: str, raw: str, kind) -> object:
    kind = kind if isinstance(kind, str) else getattr(kind, "__name__", str(kind))
    if kind == "bool":
        if raw.strip().lower() in TRUE + FALSE:
            return raw.strip().lower() in TRUE
        raise SettingsError(f"{key}={raw!r} is not a valid bool: use {'/'.join(TRUE)} or {'/'.join(FALSE)}")
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "Path":
            return Path(raw).expanduser().resolve()
    except ValueError:
        raise SettingsError(f"{key}={raw!r} is not a valid {kind}") from None
    return raw
