"""Import the source's main.py once, as the SDK's serving.py does, and map each declared
function's entry point to the callable Cloud Functions would invoke."""

from __future__ import annotations

import importlib.util
import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

MODULE_NAME = "main"


def load_functions(source_dir: Path) -> dict[str, Callable[..., Any]]:
    main_py = source_dir / "main.py"
    if not main_py.is_file():
        raise FileNotFoundError(f"no main.py in {source_dir}")
    # The source dir goes first on sys.path so main.py's own package imports resolve there,
    # exactly as the deployed container's working directory does.
    sys.path.insert(0, str(source_dir))
    spec = importlib.util.spec_from_file_location(MODULE_NAME, main_py)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {main_py}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[MODULE_NAME] = module
    spec.loader.exec_module(module)
    functions: dict[str, Callable[..., Any]] = {}
    for _, member in inspect.getmembers(module, inspect.isfunction):
        endpoint = getattr(member, "__firebase_endpoint__", None)
        if endpoint is not None:
            functions[str(endpoint.entryPoint)] = member
    return functions
