"""Campaign Report's Dagster code location: landing files in, campaign marts out.

The definitions live in ``orchestration.definitions``; ``orchestration.cli`` runs the
same job in-process for people who do not want to start ``dagster dev``.
"""
