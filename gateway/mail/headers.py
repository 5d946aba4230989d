"""The email package's header registry (RFC 2047 encoded words, RFC 2231 parameters),
shared by everything that parses a header field: addresses on the ground floor, the
analysis's parser (`gateway.analysis.parsing`)."""

from __future__ import annotations

from email.headerregistry import HeaderRegistry


class OnceRegistry(HeaderRegistry):
    """The standard header registry, building the class of each kind of field only once."""

    def __init__(self) -> None:
        super().__init__()
        self._built: dict[type, type] = {}  # at most one per registered class: bounded

    def __getitem__(self, name: str) -> type:
        kind = self.registry.get(name.lower(), self.default_class)
        built = self._built.get(kind)
        if built is None:
            built = self._built[kind] = super().__getitem__(name)
        return built


HEADER_FACTORY = OnceRegistry()


class UnsignableHeader(ValueError):
    """A header section a DKIM signer cannot read (a line that is no field: no colon, or
    nothing or white space before it): the message cannot be signed as it stands."""
