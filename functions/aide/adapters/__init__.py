"""Adapters: everything that talks to Firestore, Pub/Sub and Cloud Storage (clients made lazily)."""
