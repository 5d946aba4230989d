"""What the analysis needs to know, taken from the policy: passed in, never global."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class DocumentTypeSpec:
    """One Vietnamese administrative document type (Decree 30/2020/NĐ-CP).

    `abbreviations` are the type codes used in document numbers ("GM" in
    "Số: 12/GM-UBND"); `title_keywords` are the titles as printed ("GIẤY MỜI"),
    matched with and without diacritics.
    """

    id: str
    name: str
    abbreviations: tuple[str, ...] = ()
    title_keywords: tuple[str, ...] = ()
    designated: bool = False


@dataclass(frozen=True, slots=True)
class ClassificationSpec:
    """Where and how classification stamps are looked for.

    `headers` are the header fields whose whole value is a degree;
    `extra_patterns` maps a degree id (mat, toi_mat, tuyet_mat) to regular
    expressions that also mark it; `ignore_patterns` are regular expressions
    whose matches are blanked out before looking (known false alarms, such as
    a product name printed in capitals).
    """

    headers: tuple[str, ...] = ("X-Classification", "X-Do-Mat", "Security-Classification")
    extra_patterns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    ignore_patterns: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AnalysisLimits:
    max_depth: int = 10
    max_parts: int = 500
    max_archive_members: int = 200
    max_decompressed_bytes: int = 200 * 1024 * 1024
    max_compression_ratio: float = 100.0
    ratio_floor_bytes: int = 1024 * 1024
    text_pages: int = 3
    ocr_pages: int = 1  # pages without a text layer read by OCR (Tesseract), from the first
    ocr_message_pages: int = 20  # pages OCR reads in one message, over all its documents
    ocr_message_seconds: float = 30.0  # seconds OCR may take in one message, in all
    text_chars: int = 20000
    document_seconds: float = 10.0


@dataclass(frozen=True, slots=True)
class AnalysisSettings:
    document_types: tuple[DocumentTypeSpec, ...] = ()
    classification: ClassificationSpec = field(default_factory=ClassificationSpec)
    limits: AnalysisLimits = field(default_factory=AnalysisLimits)
    untyped_document_type: str = "cong_van"
