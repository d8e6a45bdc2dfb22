"""The scripted replies of the episodes that the export tests run on the fixture task."""

from __future__ import annotations

TASK = "fixture-threshold"

# a better threshold (dev accuracy 1.0 on the fixture data) before validating and submitting
IMPROVE = [
    "I look at the starter code.\n```\ncat predict.py\n```",
    "I raise the threshold.\n```\nsed -i 's/^THRESHOLD = .*/THRESHOLD = 53/' predict.py\n```",
    "I write the predictions.\n```\npython3 predict.py\n```",
    "I check the score.\n```\nvalidate\n```",
    "I hand it in.\n```\nsubmit\n```",
]
# the baseline as it is
BASELINE = [
    "I write the predictions.\n```\npython3 predict.py\n```",
    "I check the score.\n```\nvalidate\n```",
    "I hand it in.\n```\nsubmit\n```",
]
