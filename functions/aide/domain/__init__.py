"""Pure domain: document and payload models, enums, rules. No I/O in this package."""
