"""`AnalysisSettings` from plain data (the parsed policy YAML), for tests and tools.

The live gateway gets its settings from the policy loader (gateway/policy/);
this reader accepts the same shapes as policies/document_types.yaml and
policies/classification.yaml, merged into one mapping, and refuses unknown keys.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

import yaml

from gateway.analysis.settings import (
    AnalysisLimits,
    AnalysisSettings,
    ClassificationSpec,
    DocumentTypeSpec,
)

_TOP_KEYS = frozenset({"document_types", "classification", "limits", "untyped_document_type"})
_TYPE_KEYS = frozenset({"id", "name", "abbreviations", "title_keywords", "designated"})
_CLASSIFICATION_KEYS = frozenset(f.name for f in fields(ClassificationSpec))
_LIMIT_KEYS = frozenset(f.name for f in fields(AnalysisLimits))


def analysis_settings_from_mapping(data: Mapping[str, Any]) -> AnalysisSettings:
    """Settings from `{"document_types": [...], "classification": {...}, "limits": {...}}`."""
    _known(data, _TOP_KEYS, "policy")
    types = tuple(_document_type(item) for item in data.get("document_types") or ())
    classification = _classification(data.get("classification") or {})
    limits_data = data.get("limits") or {}
    _known(limits_data, _LIMIT_KEYS, "limits")
    return AnalysisSettings(
        document_types=types,
        classification=classification,
        limits=AnalysisLimits(**limits_data),
        untyped_document_type=str(data.get("untyped_document_type", "cong_van")),
    )


def analysis_settings_from_files(paths: Iterable[Path]) -> AnalysisSettings:
    """Settings from policy YAML files (their top-level mappings merged)."""
    merged: dict[str, Any] = {}
    for path in paths:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(loaded, dict):
            raise ValueError(f"{path}: the top level must be a mapping")
        merged.update(loaded)
    return analysis_settings_from_mapping(merged)


def _document_type(item: Mapping[str, Any]) -> DocumentTypeSpec:
    _known(item, _TYPE_KEYS, "document type")
    return DocumentTypeSpec(
        id=str(item["id"]),
        name=str(item.get("name", item["id"])),
        abbreviations=tuple(str(a) for a in item.get("abbreviations") or ()),
        title_keywords=tuple(str(k) for k in item.get("title_keywords") or ()),
        designated=bool(item.get("designated", False)),
    )


def _classification(data: Mapping[str, Any]) -> ClassificationSpec:
    _known(data, _CLASSIFICATION_KEYS, "classification")
    default = ClassificationSpec()
    extra = data.get("extra_patterns") or {}
    return ClassificationSpec(
        headers=tuple(str(h) for h in data.get("headers", default.headers)),
        extra_patterns={str(k): tuple(str(p) for p in v or ()) for k, v in extra.items()},
        ignore_patterns=tuple(str(p) for p in data.get("ignore_patterns") or ()),
    )


def _known(data: Mapping[str, Any], allowed: frozenset[str], what: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValueError(f"{what}: unknown keys {', '.join(unknown)}")
