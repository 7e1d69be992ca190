"""Cold-start import cost of functions/main.py against the firebase_functions floor."""
