"""The baseline: a nameko service that only echoes, to measure what RPC itself costs here."""

from typing import Any

from nameko.rpc import rpc


class EchoService:
    name = "echo"

    @rpc
    def echo(self, value: Any) -> Any:
        return value
