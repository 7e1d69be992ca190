"""Local fake servers speaking real third-party wire protocols (OpenAI, Gemini) for tests."""
