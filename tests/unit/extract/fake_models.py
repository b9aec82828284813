"""An HTTP fake of the Anthropic Messages API and OpenAI chat completions.

It runs `http.server` on 127.0.0.1 in a thread, records every request, and
answers in the documented response formats, or misbehaves on demand
(`mode`): "ok", "500", "slow", "not_json", "bad_contract".
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeModelServer:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.mode = "ok"
        self.answer: dict[str, Any] = {}
        self.delay_s = 1.5
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body}
                )
                fake.respond(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeModelServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def model_text(self) -> str:
        if self.mode == "not_json":
            return "Sure! The follow-up is tomorrow."
        return json.dumps(self.answer)

    def respond(self, handler: BaseHTTPRequestHandler) -> None:
        if self.mode == "slow":
            time.sleep(self.delay_s)
        if self.mode == "500":
            self._send(
                handler, 500, {"type": "error", "error": {"type": "api_error", "message": "boom"}}
            )
            return
        if handler.path.endswith("/v1/messages"):
            payload = {
                "id": "msg_01FAKE",
                "type": "message",
                "role": "assistant",
                "content": [{"type": "text", "text": self.model_text()}],
                "model": "claude-haiku-4-5",
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": 120, "output_tokens": 40},
            }
        else:
            payload = {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": 1736935200,
                "model": "local-model",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": self.model_text()},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 120, "completion_tokens": 40, "total_tokens": 160},
            }
        self._send(handler, 200, payload)

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        try:
            handler.send_response(status)
            handler.send_header("content-type", "application/json")
            handler.send_header("content-length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            return
