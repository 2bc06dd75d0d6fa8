"""The inference gateway through the official `openai` package, pointed at a real vault-http
with a vault token: chat (streamed and not), completions, embeddings and models against the
zero-setup `mock-echo` model, and the package's own exceptions for the gateway's 401, 403, 404
and 429. Remote only (the gateway is the server's; the bindings' inference is not built yet).
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any, Callable

import openai
import pytest
from conftest import TOKEN, Server


def create_token(
    server: Server, rules: list[dict[str, Any]], llm: dict[str, int] | None = None
) -> str:
    """A token made over the service API (its LLM limits are set there at creation)."""
    body: dict[str, Any] = {"name": "chat-app", "rules": rules}
    if llm is not None:
        body["llm"] = llm
    req = urllib.request.Request(
        server.url + "/api/vault/tokens",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req) as r:
        reply: dict[str, Any] = json.load(r)
    assert reply.get("llm") == llm, reply
    token = reply["token"]
    assert isinstance(token, str)
    return token


def client(server: Server, token: str) -> openai.OpenAI:
    # No retries: a 429 must surface as RateLimitError at once (the gateway's Retry-After is
    # up to a minute).
    return openai.OpenAI(base_url=server.url + "/v1", api_key=token, max_retries=0)


INVOKE_ALL = [{"path": "llm/*", "capabilities": ["invoke"]}]


def test_chat_completions_embeddings_and_models(start_server: Callable[..., Server]) -> None:
    server = start_server()
    ai = client(server, create_token(server, INVOKE_ALL))
    messages: list[Any] = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hello brave new world"},
    ]

    done = ai.chat.completions.create(model="mock-echo", messages=messages)
    assert done.object == "chat.completion"
    assert done.model == "mock-echo"
    assert done.choices[0].message.content == "hello brave new world"
    assert done.choices[0].finish_reason == "stop"
    assert done.usage is not None and done.usage.completion_tokens > 0
    assert done.usage.total_tokens == done.usage.prompt_tokens + done.usage.completion_tokens

    stream = ai.chat.completions.create(
        model="mock-echo",
        messages=messages,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "hello brave new world"
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == done.usage.completion_tokens

    text_done = ai.completions.create(model="mock-echo", prompt="one two three")
    assert text_done.choices[0].text == "one two three"
    streamed = "".join(
        c.choices[0].text
        for c in ai.completions.create(model="mock-echo", prompt="four five", stream=True)
        if c.choices
    )
    assert streamed == "four five"

    # The package asks for base64 by default and decodes it; floats are asked for explicitly.
    emb = ai.embeddings.create(model="mock-echo", input=["alpha", "beta"])
    assert [d.index for d in emb.data] == [0, 1]
    assert all(len(d.embedding) == 8 for d in emb.data)
    floats = ai.embeddings.create(model="mock-echo", input="alpha", encoding_format="float")
    assert floats.data[0].embedding == pytest.approx(emb.data[0].embedding)
    assert emb.data[0].embedding != emb.data[1].embedding

    assert [m.id for m in ai.models.list()] == ["mock-echo"]
    assert ai.models.retrieve("mock-echo").id == "mock-echo"


def test_the_packages_own_errors(start_server: Callable[..., Server]) -> None:
    server = start_server()
    user = "hi"

    with pytest.raises(openai.AuthenticationError) as auth:
        client(server, "vault_sk_" + "x" * 48).models.list()
    assert auth.value.status_code == 401
    assert auth.value.code == "invalid_api_key"

    other = client(
        server, create_token(server, [{"path": "llm/gpt-4o", "capabilities": ["invoke"]}])
    )
    with pytest.raises(openai.PermissionDeniedError) as denied:
        other.chat.completions.create(
            model="mock-echo", messages=[{"role": "user", "content": user}]
        )
    assert denied.value.status_code == 403
    assert list(other.models.list()) == [], "no model it may use"

    ai = client(server, create_token(server, INVOKE_ALL, {"rpm": 2}))
    with pytest.raises(openai.NotFoundError) as missing:
        ai.chat.completions.create(
            model="no-such-model", messages=[{"role": "user", "content": user}]
        )
    assert missing.value.code == "model_not_found"
    with pytest.raises(openai.NotFoundError):
        ai.models.retrieve("no-such-model")
    with pytest.raises(openai.BadRequestError) as bad:
        ai.chat.completions.create(model="mock-echo", messages=[])
    assert bad.value.param == "messages"

    for _ in range(2):
        ai.chat.completions.create(model="mock-echo", messages=[{"role": "user", "content": user}])
    with pytest.raises(openai.RateLimitError) as limited:
        ai.chat.completions.create(model="mock-echo", messages=[{"role": "user", "content": user}])
    err = limited.value
    assert err.status_code == 429
    assert err.code == "rate_limit_rpm_exceeded"
    assert err.type == "rate_limit_exceeded"
    assert "limit 2" in err.message
    assert 1 <= int(err.response.headers["retry-after"]) <= 60
    assert err.response.headers["x-ratelimit-limit-requests"] == "2"
    assert err.response.headers["x-ratelimit-remaining-requests"] == "0"
