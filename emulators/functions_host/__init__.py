"""Local Cloud Functions host: discovery as `firebase deploy` runs it, one process serving every
function, triggers wired to the local emulators. See README.md."""
