"""The whole local platform as one launcher (`python -m emulators.stack`, `make dev`) and one
class (`LocalStack`, used by the test fixtures). See README.md."""
