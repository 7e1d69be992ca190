"""Services: one module per use case; dependencies (Firestore client, publisher) are arguments."""
