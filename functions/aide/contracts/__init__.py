"""Client contracts generated from the models: JSON Schemas, OpenAPI, constants (shared/).

Regenerate with `make contracts`; tests fail when the checked-in files drift from the models.
"""
