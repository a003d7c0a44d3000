"""The "hello" baseline for ``bench.api``: the cheapest FastAPI endpoint uvicorn can serve.

``uvicorn bench.hello_app:app`` with the flags ``leadrelay serve`` uses. The endpoint takes the
same POST the lead benchmark sends and ignores its body, so both runs move the same bytes and
differ only in what the handler does.
"""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI()


@app.post("/hello")
async def hello() -> dict[str, str]:
    return {"hello": "world"}


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}
