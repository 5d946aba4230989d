"""Settings from the shipped policy files, and a helper to analyse messages."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

import pytest

from gateway.analysis.analyse import analyse
from gateway.analysis.loader import analysis_settings_from_files
from gateway.analysis.model import Analysis, Direction, Envelope
from gateway.analysis.ports import SignatureChecking
from gateway.analysis.settings import AnalysisSettings
from tests.fixtures.documents import to_bytes

POLICIES = Path(__file__).resolve().parents[3] / "policies"
ENVELOPE = Envelope("van.a@thuathienhue.gov.vn", ("phong.b@hue.gov.vn",), client_ip="10.0.0.5")

Analyser = Callable[..., Analysis]


@pytest.fixture(scope="session")
def settings() -> AnalysisSettings:
    return analysis_settings_from_files(
        [POLICIES / "document_types.yaml", POLICIES / "classification.yaml"]
    )


@pytest.fixture
def analysed(settings: AnalysisSettings) -> Analyser:
    """analysed(message or bytes, settings=..., signatures=...) -> Analysis."""

    def run(
        message: EmailMessage | bytes,
        *,
        with_settings: AnalysisSettings | None = None,
        signatures: SignatureChecking | None = None,
    ) -> Analysis:
        data = message if isinstance(message, bytes) else to_bytes(message)
        return analyse(data, ENVELOPE, Direction.OUTBOUND, with_settings or settings, signatures)

    return run
