"""The policy-wide settings (the `settings:` section), as compiled values."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_DIRECTIVE_VI = "Chỉ thị 77/2014/CT-UBND của UBND tỉnh Thừa Thiên Huế"
DEFAULT_DIRECTIVE_EN = "Directive 77/2014/CT-UBND of the Thua Thien Hue People's Committee"


@dataclass(frozen=True, slots=True)
class PolicySettings:
    """Which named lists play which role, and the texts and routes rules refer to.

    `local_domains` names the list whose domains are "inside" for the
    direction (the official list unless said otherwise). `agency_organizations`
    maps an agency's domain (canonical) to the organisation names its signing
    certificates carry: taken from `signatures.agency_organisations`, the one
    place it is written. `redirect_to` is the default route of the `redirect`
    action: addresses, and at most one `smtp:HOST[:PORT]` or `maildir:DIR`.
    `unanalysable` is the action (quarantine, tempfail, reject) for a message whose
    analysis cannot finish within the limits.
    """

    official_list: str = "official_domains"
    freemail_list: str = "freemail_domains"
    lookalike_exempt_list: str | None = None
    local_domains: str = "official_domains"
    internal_networks: str = "internal_networks"
    security_officer: str | None = None
    directive_vi: str = DEFAULT_DIRECTIVE_VI
    directive_en: str = DEFAULT_DIRECTIVE_EN
    agency_name_patterns: tuple[re.Pattern[str], ...] = ()
    agency_organizations: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    result_header: str = "X-TTH-Policy"
    documents_header: str = "X-TTH-Documents"
    redirect_to: tuple[str, ...] = ()
    unanalysable: str = "quarantine"
