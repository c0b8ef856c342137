"""The models of the retrieval app, one module per sub-domain; importing them here registers
them under the app label `retrieval` (the tables and migrations are the app's, not the
modules')."""

from retrieval.models.alerts import (
    DISMISS_NEEDS_EVIDENCE,
    DISMISS_NEEDS_NOTE,
    Alert,
    AlertDecision,
    DismissReason,
)
from retrieval.models.cases import ClosureRequest, Escalation, PersuasionAttempt, RetrievalCase
from retrieval.models.common import Level
from retrieval.models.evidence import Evidence
from retrieval.models.feedback import FeedbackBatch, FeedbackItem
from retrieval.models.supervision import (
    RectificationOrder,
    SupervisionFinding,
    SupervisionSample,
    SupervisionVisit,
)
from retrieval.models.sweeps import SweepRun

__all__ = [
    "DISMISS_NEEDS_EVIDENCE", "DISMISS_NEEDS_NOTE", "Alert", "AlertDecision", "ClosureRequest",
    "DismissReason", "Escalation", "Evidence", "FeedbackBatch", "FeedbackItem", "Level",
    "PersuasionAttempt", "RectificationOrder", "RetrievalCase", "SupervisionFinding",
    "SupervisionSample", "SupervisionVisit", "SweepRun",
]
