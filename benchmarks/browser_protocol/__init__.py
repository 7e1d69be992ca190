"""The Firestore emulator's browser protocol (WebChannel): listener latency and many sessions."""
