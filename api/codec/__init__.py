"""The codec server: the Temporal Web UI and CLI send it payloads to decode, for staff only."""

from fastapi import FastAPI

from api.codec.cors import CodecCors
from api.codec.routes import CODEC_PREFIX, router
from settings import Settings


def install_codec_server(app: FastAPI, settings: Settings) -> None:
    """`POST /codec/encode` and `/codec/decode`, with CORS for the Temporal UI's origin."""
    app.include_router(router)
    app.add_middleware(CodecCors, origin=settings.ui_origin, prefix=f"{CODEC_PREFIX}/")
