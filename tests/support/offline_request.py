"""python-telegram-bot's own testing style: a request class that never touches the network.

``OfflineRequest`` answers the few Bot API methods the front end uses with what Telegram would
return, records every call, and fails loudly (AssertionError) on anything else, including any
attempt to reach a real host."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any, Dict, List, Optional, Tuple

from telegram.request import BaseRequest, RequestData

from tests.support.telegram_updates import bot_user, chat

OFFLINE_BASE_URL = "http://bot-api.offline.invalid/bot"


class OfflineRequest(BaseRequest):
    def __init__(self) -> None:
        self.calls: List[Tuple[str, Dict[str, Any]]] = []
        self._message_ids = itertools.count(90_000)

    @property
    def read_timeout(self) -> Optional[float]:
        return 1.0

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    def sent(self, method: str = "sendMessage") -> List[Dict[str, Any]]:
        return [params for name, params in self.calls if name == method]

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: Optional[RequestData] = None,
        read_timeout=None,
        write_timeout=None,
        connect_timeout=None,
        pool_timeout=None,
    ) -> Tuple[int, bytes]:
        if not url.startswith(OFFLINE_BASE_URL):
            raise AssertionError(f"a test tried to reach {url.split('/bot')[0]}: tests must stay offline")
        endpoint = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        self.calls.append((endpoint, params))
        if endpoint == "getMe":
            result: Any = bot_user()
        elif endpoint == "sendMessage":
            result = {
                "message_id": next(self._message_ids),
                "date": int(time.time()),
                "chat": chat(int(params["chat_id"])),
                "from": bot_user(),
                "text": params["text"],
            }
        elif endpoint in ("answerCallbackQuery", "sendChatAction", "setMyCommands", "deleteWebhook", "setWebhook"):
            result = True
        else:
            raise AssertionError(f"unexpected Bot API call {endpoint}({params}) in an offline test")
        return 200, json.dumps({"ok": True, "result": result}).encode()
