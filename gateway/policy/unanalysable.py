"""The verdict for a message the analysis could not finish (time, memory, a crashed
worker): the policy's `unanalysable` setting decides, never an endless 4xx."""

from __future__ import annotations

from gateway.analysis.model import Analysis
from gateway.policy.settings import PolicySettings
from gateway.policy.verdict import Action, RuleHit, Verdict

RULE = "unanalysable"
_CAUSES_VI = {
    "timeout": "quá thời gian phân tích cho phép",
    "memory": "vượt giới hạn bộ nhớ khi phân tích",
    "crash": "làm dừng tiến trình phân tích",
}
_ACTIONS = {"quarantine": Action.QUARANTINE, "tempfail": Action.TEMPFAIL, "reject": Action.REJECT}
_STATUS = {Action.TEMPFAIL: (451, "4.3.0"), Action.REJECT: (554, "5.6.0")}


def unanalysed(size: int, reason: str) -> Analysis:
    """What is known of a message whose analysis did not finish: the whole is uninspectable."""
    return Analysis(size=size, uninspectable=(reason,), problems=(reason,))


def unanalysable_verdict(settings: PolicySettings, cause: str, reason: str) -> Verdict:
    """`settings.unanalysable` (quarantine, tempfail or reject) with the reason in both
    languages; a held message's sender is told, and the policy's security officer."""
    action = _ACTIONS[settings.unanalysable]
    code, enhanced = _STATUS.get(action, (None, None))
    what_vi = _CAUSES_VI.get(cause, "không phân tích được")
    done_vi, done_en = {
        Action.QUARANTINE: ("đã bị giữ lại để cán bộ kiểm tra", "was held for a person to review"),
        Action.TEMPFAIL: ("chưa được nhận, đề nghị gửi lại sau", "was not accepted, try later"),
        Action.REJECT: ("bị từ chối", "was refused"),
    }[action]
    hit = RuleHit(
        name=RULE, action=action, reason=reason, status_code=code, enhanced_status=enhanced,
        message_vi=f"Thư không phân tích được ({what_vi}) và {done_vi}.",
        message_en=f"The message could not be analysed ({reason}) and {done_en}.",
        notify=_held_notify(settings) if action is Action.QUARANTINE else (),
    )
    return Verdict(action=action, rules=(hit,), deciding_rule=hit)


def _held_notify(settings: PolicySettings) -> tuple[str, ...]:
    """Whom a hold of an unanalysable message is told: its sender and, when the policy
    names one, the security officer (the notices resolve the word, as for any rule)."""
    return ("sender", "security_officer") if settings.security_officer else ("sender",)


def busy_verdict(reason: str) -> Verdict:
    """No analysis worker was free in time: 451 4.3.2, the sender tries again later
    (the gateway is loaded; the message is not at fault and is not remembered)."""
    hit = RuleHit(
        name="analysis-busy", action=Action.TEMPFAIL, reason=reason, status_code=451,
        enhanced_status="4.3.2",
        message_vi="Hệ thống đang bận phân tích thư khác, đề nghị gửi lại sau.",
        message_en=f"The gateway is busy ({reason}), please try again later.",
    )
    return Verdict(action=Action.TEMPFAIL, rules=(hit,), deciding_rule=hit)
