"""Cloud Functions entry points. Kept thin: parse, authenticate, call a service, render."""
