"""Tokens of the Firestore Security Rules language."""

from __future__ import annotations

from dataclasses import dataclass

from emulators.firestore.rules.errors import RulesSyntaxError


@dataclass(frozen=True)
class Token:
    kind: str  # "ident", "int", "float", "string", "punct" or "end"
    text: str
    value: object
    line: int
    column: int


# Longest first, so "==" wins over "=" and "**" over "*".
_PUNCTUATION = (
    "&&", "||", "==", "!=", "<=", ">=", "**",
    "{", "}", "(", ")", "[", "]", ",", ";", ":", ".", "?", "=", "<", ">", "!",
    "+", "-", "*", "/", "%", "$",
)  # fmt: skip
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "0": "\0"}


def tokenize(source: str) -> list[Token]:
    tokens: list[Token] = []
    index, line, line_start = 0, 1, 0
    length = len(source)
    while index < length:
        char = source[index]
        column = index - line_start + 1
        if char == "\n":
            index += 1
            line += 1
            line_start = index
            continue
        if char in " \t\r":
            index += 1
            continue
        if source.startswith("//", index):
            end = source.find("\n", index)
            index = length if end < 0 else end
            continue
        if source.startswith("/*", index):
            end = source.find("*/", index + 2)
            if end < 0:
                raise RulesSyntaxError("unterminated comment", line, column)
            line += source.count("\n", index, end)
            last_newline = source.rfind("\n", index, end)
            if last_newline >= 0:
                line_start = last_newline + 1
            index = end + 2
            continue
        if char.isalpha() or char == "_":
            end = index + 1
            while end < length and (source[end].isalnum() or source[end] == "_"):
                end += 1
            text = source[index:end]
            tokens.append(Token("ident", text, text, line, column))
            index = end
            continue
        if char.isdigit():
            end = index
            while end < length and source[end].isdigit():
                end += 1
            is_float = False
            if end + 1 < length and source[end] == "." and source[end + 1].isdigit():
                is_float = True
                end += 1
                while end < length and source[end].isdigit():
                    end += 1
            if end < length and source[end] in "eE":
                probe = end + 1
                if probe < length and source[probe] in "+-":
                    probe += 1
                if probe < length and source[probe].isdigit():
                    is_float = True
                    end = probe
                    while end < length and source[end].isdigit():
                        end += 1
            text = source[index:end]
            value: object = float(text) if is_float else int(text)
            tokens.append(Token("float" if is_float else "int", text, value, line, column))
            index = end
            continue
        if char in "'\"":
            end = index + 1
            chars: list[str] = []
            while True:
                if end >= length or source[end] == "\n":
                    raise RulesSyntaxError("unterminated string", line, column)
                current = source[end]
                if current == char:
                    break
                if current == "\\":
                    if end + 1 >= length:
                        raise RulesSyntaxError("unterminated string", line, column)
                    escaped = source[end + 1]
                    if escaped == "u" and end + 5 < length:
                        chars.append(chr(int(source[end + 2 : end + 6], 16)))
                        end += 6
                        continue
                    # Unknown escapes keep their backslash: regexes use "\\." and "\d".
                    chars.append(_ESCAPES.get(escaped, "\\" + escaped))
                    end += 2
                    continue
                chars.append(current)
                end += 1
            tokens.append(Token("string", source[index : end + 1], "".join(chars), line, column))
            index = end + 1
            continue
        for punct in _PUNCTUATION:
            if source.startswith(punct, index):
                tokens.append(Token("punct", punct, punct, line, column))
                index += len(punct)
                break
        else:
            raise RulesSyntaxError(f"unexpected character {char!r}", line, column)
    tokens.append(Token("end", "", None, line, index - line_start + 1))
    return tokens
