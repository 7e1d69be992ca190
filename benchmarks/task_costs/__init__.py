"""Firestore reads and writes per task operation, from the emulator's cost counters."""
