"""Side-by-side benchmark of our Firestore emulator and the npm peer ``@firestore-emulator/server``.

Run ``python -m benchmarks.firestore_emulator`` from the repository root; results go to
``benchmarks/results/firestore_emulator.{json,md}``.
"""
