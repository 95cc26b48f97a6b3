"""Texts of notifications in the recipient's language (Membership.language, else LANGUAGE_CODE)."""

from __future__ import annotations

import functools
import re
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from .models import NotificationKind

K = NotificationKind

_DOUBLE_SPACE = re.compile(r" {2,}")
SUPPORTED = {code for code, _name in settings.LANGUAGES}

KIND_LABELS = {
    K.DUE_SOON: gettext_noop("due soon"),
    K.OVERDUE: gettext_noop("overdue"),
    K.ESCALATION: gettext_noop("escalation"),
    K.FLAG_OPENED: gettext_noop("flag opened"),
    K.FLAG_CRITICAL: gettext_noop("flag critical"),
    K.URGE: gettext_noop("urge"),
    K.URGE_OVERDUE: gettext_noop("urge answer overdue"),
    K.URGE_ANSWERED: gettext_noop("urge answered"),
    K.URGE_UNANSWERED: gettext_noop("urge unanswered"),
    K.RETURNED: gettext_noop("returned"),
    K.APPROVED: gettext_noop("approved"),
    K.AT_RISK: gettext_noop("at risk"),
    K.EXTENSION_REQUESTED: gettext_noop("extension requested"),
    K.EXTENSION_APPROVED: gettext_noop("extension approved"),
    K.EXTENSION_REJECTED: gettext_noop("extension rejected"),
    K.APPEAL_DECIDED: gettext_noop("appeal decided"),
    K.NOTICE_PUBLISHED: gettext_noop("notice published"),
}

# Context values that are words of ours (not data people entered): shown in the recipient's language.
OUTCOMES = {"upheld": gettext_noop("upheld"), "amended": gettext_noop("amended")}


def language_of(code: str | None) -> str:
    """A language we have texts for: the recipient's where known, else the site's."""
    code = (code or "").lower()
    if code in SUPPORTED:
        return code
    if code.split("-")[0] == "zh":
        return "zh-hans"
    if code.split("-")[0] == "en":
        return "en"
    return settings.LANGUAGE_CODE


def _when(value: datetime | None) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


# (title, body) of each kind, with %(name)s placeholders filled from the notification's context.
TEMPLATES: dict[str, tuple[str, str]] = {
    K.DUE_SOON: (gettext_noop("%(code)s %(criterion)s: due within %(days)s day(s), by %(due_at)s"), ""),
    K.OVERDUE: (gettext_noop("%(code)s %(criterion)s: %(days)s day(s) overdue (due %(due_at)s)"), ""),
    K.ESCALATION: (
        gettext_noop("%(school)s: %(code)s %(criterion)s is %(days)s day(s) overdue"),
        gettext_noop("Please follow up with the school."),
    ),
    K.FLAG_OPENED: (gettext_noop("%(school)s has fallen behind: %(count)s overdue task(s)"), ""),
    K.FLAG_CRITICAL: (
        gettext_noop("%(school)s is critically behind: %(count)s overdue task(s), the oldest %(days)s day(s) overdue"),
        "",
    ),
    K.URGE: (gettext_noop("Urge from %(authority)s: please answer by %(respond_by)s"), "%(message)s"),
    K.URGE_OVERDUE: (
        gettext_noop("Your answer to the urge of %(created_at)s is overdue (due %(respond_by)s)"),
        "%(message)s",
    ),
    K.URGE_ANSWERED: (gettext_noop("%(school)s answered the urge of %(created_at)s"), "%(response)s"),
    K.URGE_UNANSWERED: (
        gettext_noop("%(school)s has not answered the urge of %(created_at)s (due %(respond_by)s)"),
        "%(message)s",
    ),
    K.RETURNED: (gettext_noop("%(code)s %(criterion)s: returned for rework"), "%(reason)s"),
    K.APPROVED: (gettext_noop("%(code)s %(criterion)s: approved with a score of %(score)s"), "%(comment)s"),
    K.AT_RISK: (
        gettext_noop("%(code)s %(criterion)s is at risk of missing its deadline (due %(due_at)s)"),
        gettext_noop("Progress so far: %(progress)s%%. Please catch up, or ask for more time in good time."),
    ),
    K.EXTENSION_REQUESTED: (
        gettext_noop("%(school)s asks to extend %(code)s %(criterion)s to %(requested_due_at)s"),
        "%(reason)s",
    ),
    K.EXTENSION_APPROVED: (
        gettext_noop("%(code)s %(criterion)s: extension approved, now due %(due_at)s"),
        "%(comment)s",
    ),
    K.EXTENSION_REJECTED: (
        gettext_noop("%(code)s %(criterion)s: extension request rejected, still due %(due_at)s"),
        "%(comment)s",
    ),
    K.APPEAL_DECIDED: (
        gettext_noop("%(code)s %(criterion)s: appeal %(outcome)s, score %(score_before)s -> %(score_after)s"),
        "%(comment)s",
    ),
}


# A school's self-inspection checklist (tracker.integrity) reminded on its campaign's deadline: the same
# kinds as a task's, about the checklist (ctx has "campaign" and "open", the checks still to record).
CHECKLIST_TEMPLATES: dict[str, tuple[str, str]] = {
    K.DUE_SOON: (
        gettext_noop(
            "Self-inspection %(campaign)s: %(open)s item(s) still to check, due within %(days)s day(s), by %(due_at)s"
        ),
        "",
    ),
    K.OVERDUE: (
        gettext_noop(
            "Self-inspection %(campaign)s: %(open)s item(s) unchecked, %(days)s day(s) overdue (due %(due_at)s)"
        ),
        "",
    ),
    K.ESCALATION: (
        gettext_noop("%(school)s: self-inspection %(campaign)s is %(days)s day(s) overdue, %(open)s item(s) unchecked"),
        gettext_noop("Please follow up with the school."),
    ),
}


# A rectification (an integrity finding's or a case's task) carries no score: approving closes it.
RECTIFICATION_TEMPLATES: dict[str, tuple[str, str]] = {
    **TEMPLATES,
    K.APPROVED: (gettext_noop("%(code)s %(criterion)s: rectification approved"), "%(comment)s"),
}


def _templates(ctx: dict[str, Any]) -> dict[str, tuple[str, str]]:
    if "campaign" in ctx:
        return CHECKLIST_TEMPLATES
    return RECTIFICATION_TEMPLATES if ctx.get("rectification") else TEMPLATES


@functools.lru_cache(maxsize=256)
def translated(msgid: str, language: str) -> str:
    """One translation lookup per text and language, not per notification (a sweep renders 10^5)."""
    if not msgid:
        return ""
    with translation.override(language):
        return _(msgid)


def render(kind: str, ctx: dict[str, Any], language: str | None) -> tuple[str, str]:
    """(title, body) of a notification in the given language."""
    templates = _templates(ctx)
    if kind not in templates:
        return kind, ""
    language = language_of(language)
    c = dict(ctx)
    for key in ("due_at", "respond_by", "created_at", "requested_due_at"):
        if key in c:
            c[key] = _when(c[key])
    if c.get("outcome") in OUTCOMES:
        c["outcome"] = translated(OUTCOMES[c["outcome"]], language)
    title, body = templates[kind]
    # A rectification task has no criterion code: no gap where the code would be.
    return _DOUBLE_SPACE.sub(" ", translated(title, language) % c).strip(), translated(body, language) % c
