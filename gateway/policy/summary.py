"""The header fields that summarise a verdict: the action and rules, and each document."""

from __future__ import annotations

from email.header import Header

from gateway.analysis.model import Analysis, Document
from gateway.analysis.serialise import document_json
from gateway.policy.verdict import Action, Mode, RuleHit

MAX_DOCUMENT_HEADERS = 20
_CONTROLS = dict.fromkeys([*range(32), 127], " ")


def encode(text: str) -> str:
    """`text` as an unstructured header value: RFC 2047 encoded-words when not ASCII."""
    if text.isascii():
        return " ".join(text.translate(_CONTROLS).split())
    return " ".join(Header(text, "utf-8").encode(linesep=" ").split())


def quoted_name(name: str) -> str:
    """A filename token: a quoted string when ASCII, else encoded-words."""
    if name.isascii():
        escaped = name.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{" ".join(escaped.translate(_CONTROLS).split())}"'
    return encode(name)


def result_value(action: Action, hits: tuple[RuleHit, ...], generation: str,
                 authentication: str | None = None) -> str:
    """`action=reject; rules=a, b; monitor=c; policy=<generation>`, then
    `; auth=spf=pass dkim=pass dmarc=pass arc=none` for mail from outside."""
    enforced = [hit.name for hit in hits if hit.mode is Mode.ENFORCE]
    monitored = [hit.name for hit in hits if hit.mode is Mode.MONITOR]
    parts = [f"action={action.value}", f"rules={', '.join(enforced) or 'none'}"]
    if monitored:
        parts.append(f"monitor={', '.join(monitored)}")
    parts.append(f"policy={generation}")
    if authentication:
        parts.append(f"auth={authentication}")
    return "; ".join(parts)


def document_value(document: Document) -> str:
    """`"name.pdf" giay_moi signature=valid` (with `classification=mat` when marked)."""
    fields = document_json(document)
    name = quoted_name(fields["filename"] or f"part {fields['path']}")
    value = f"{name} {fields['doc_type']} signature={fields['signature']['status']}"
    if fields["classification"] is not None:
        value += f" classification={fields['classification']}"
    if fields["uninspectable"] is not None:
        value += " uninspectable"
    return value


def document_headers(name: str, analysis: Analysis) -> list[tuple[str, str]]:
    """One field per document (at most MAX_DOCUMENT_HEADERS, then a count of the rest).

    Unnamed body parts of no particular type are left out: they are the mail's text.
    """
    documents = [d for d in analysis.documents if d.filename or d.doc_type != "other"]
    fields = [(name, document_value(d)) for d in documents[:MAX_DOCUMENT_HEADERS]]
    if len(documents) > MAX_DOCUMENT_HEADERS:
        fields.append((name, f"and {len(documents) - MAX_DOCUMENT_HEADERS} more documents"))
    return fields
