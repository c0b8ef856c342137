"""Reads of the feedback lists (反馈名单核查)."""

from __future__ import annotations

from retrieval.models import FeedbackItem
from retrieval.workflow import STAFF_ROLES, level_of
from students.models import User


def can_answer_feedback(user: User, item: FeedbackItem) -> bool:
    return level_of(user) in STAFF_ROLES
