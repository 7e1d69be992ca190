"""Firestore Security Rules (``rules_version = '2'``) for the emulator: load, evaluate, enforce.

    ruleset = Ruleset.load(text)            # RulesSyntaxError names the line of a problem
    ruleset.allows("get", path, request, resource, reader)

``enforcement.RulesPolicy`` applies the rules configured per project to client requests of the
gRPC service; ``auth`` tells admin callers (``Bearer owner``) from clients with ID tokens.
"""

from __future__ import annotations

from emulators.firestore.rules.errors import EvaluationError, RulesSyntaxError
from emulators.firestore.rules.ruleset import Ruleset
from emulators.firestore.rules.values import RulesPath

__all__ = ["EvaluationError", "RulesPath", "RulesSyntaxError", "Ruleset"]
