"""The headers a pipeline task carries between its tries (core.pipeline) and into a replay of its
dead letter (core.services)."""

FIRST_FAILED_HEADER = "le_first_failed_at"
DEAD_LETTER_HEADER = "le_dead_letter_id"
