"""Synthetic Codesmith data at scale, as rows for the tables of the alembic migrations.

One benchmark user owns 100,000 conversations, 400,000 messages (one conversation has 200) and 300,000
snippets; other users fill the database up to 1,000,000 messages. Everything is deterministic (seeded),
and the generator hands rows over in batches, so memory stays flat however large the run.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "users": (
        "id", "email", "password_hash", "is_admin", "token_version", "openai_key_encrypted", "openai_key_hint",
        "requests_per_minute", "tokens_per_day", "created_at", "updated_at",
    ),
    "conversations": ("id", "user_id", "title", "model_id", "language", "preview", "created_at", "updated_at"),
    "messages": (
        "id", "conversation_id", "user_id", "parent_id", "role", "kind", "content", "status", "error_code",
        "error_detail", "model_id", "model_name", "prompt_tokens", "completion_tokens", "cost_usd",
        "usage_estimated", "created_at", "completed_at",
    ),
    "snippets": (
        "id", "user_id", "conversation_id", "message_id", "position", "language", "code", "title", "created_at",
    ),
    "usage_records": (
        "id", "user_id", "message_id", "conversation_id", "model_id", "model_name", "provider", "paid_by_server",
        "prompt_tokens", "completion_tokens", "cost_usd", "usage_estimated", "created_at",
    ),
}  # fmt: skip

# Bump when the generated data changes: bench.scale caches a loaded SQLite database under this version.
RECIPE_VERSION = 2  # 2: the usage ledger's records (one per answer)
BATCH_ROWS = 20_000
BIG_CONVERSATION_MESSAGES = 200
DAYS_OF_HISTORY = 365
OTHER_USERS = 19
PREVIEW_LINES = 6

# The search words: RARE_WORD is one topic of a hundred (about 1% of conversations), COMMON_WORD is in
# every request. CODE_WORD appears only inside code (snippets of about 1% of answers).
RARE_WORD = "tokenizer"
COMMON_WORD = "function"
CODE_WORD = "retry_budget"
ABSENT_WORD = "quasar_lattice"  # in no row

LANGUAGES = ["python"] * 8 + ["typescript"] * 3 + ["javascript"] * 2 + ["go", "rust", "sql", "bash"] * 2
TOPICS = [
    RARE_WORD, "parser", "scheduler", "cache", "linked list", "binary tree", "matrix", "graph", "queue", "stack",
    "heap", "trie", "bitset", "bloom filter", "rate limiter", "web crawler", "csv reader", "json encoder",
    "date formatter", "url router", "state machine", "event bus", "thread pool", "connection pool", "lexer",
    "interpreter", "compiler pass", "diff tool", "merge sort", "quick sort", "radix sort", "hash map", "ring buffer",
    "lru cache", "retry helper", "backoff timer", "file watcher", "log parser", "tail reader", "zip archiver",
    "image resizer", "thumbnail maker", "markdown renderer", "html sanitizer", "email validator", "slug maker",
    "password checker", "token bucket", "leaky bucket", "circuit breaker", "feature flag", "config loader",
    "env reader", "cli parser", "progress bar", "spinner", "table printer", "pager", "paginator", "cursor codec",
    "base64 codec", "hex dumper", "crc checker", "sha hasher", "uuid maker", "snowflake id", "geo distance",
    "unit converter", "currency formatter", "tax calculator", "invoice builder", "cart total", "discount rule",
    "inventory counter", "order matcher", "price ticker", "moving average", "histogram", "percentile",
    "median finder", "top k", "deduplicator", "normalizer", "tokenizer test", "stemmer", "spell checker",
    "word counter", "anagram finder", "palindrome check", "roman numerals", "fizzbuzz", "calendar", "cron parser",
    "timezone shifter", "sudoku solver", "maze solver", "game of life", "dijkstra",
]  # fmt: skip
VERBS = ["builds", "parses", "sorts", "merges", "validates", "counts", "reverses", "caches", "streams", "splits"]
FEEDBACK = [
    "Add type hints and handle empty input.",
    "Make it iterative instead of recursive.",
    "Add docstrings and a small usage example.",
    "Raise a clear error on invalid input.",
    "Make it faster for large inputs.",
]
MODELS = [("sys-openai-gpt-4o-mini", "gpt-4o-mini", 0.15, 0.60), ("sys-vllm-coder", "qwen2.5-coder-7b", None, None)]
PROVIDERS = {"sys-openai-gpt-4o-mini": "openai", "sys-vllm-coder": "vllm"}


@dataclass(frozen=True)
class Size:
    conversations: int = 100_000  # the benchmark user's
    messages: int = 400_000
    snippets: int = 300_000
    total_messages: int = 1_000_000  # every user's together

    def scaled(self, factor: float) -> Size:
        return Size(*(max(int(value * factor), 1) for value in (
            self.conversations, self.messages, self.snippets, self.total_messages)))  # fmt: skip


@dataclass
class Landmarks:
    """What the timed queries need to know about the data: ids, a cursor position, counts."""

    user_id: str = ""
    email: str = ""
    big_conversation_id: str = ""
    middle_conversation: tuple[datetime, str] | None = None
    counts: dict[str, int] = field(default_factory=dict)
    target_conversations: list[tuple[datetime, str]] = field(default_factory=list)


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _language_name(language: str) -> str:
    return {"python": "Python", "typescript": "TypeScript", "javascript": "JavaScript", "go": "Go", "rust": "Rust",
            "sql": "SQL", "bash": "Bash"}[language]  # fmt: skip


def _code(language: str, topic: str, number: int, with_code_word: bool) -> str:
    name = topic.replace(" ", "_") + f"_{number % 97}"
    helper = CODE_WORD if with_code_word else f"step_{number % 13}"
    if language == "python":
        return (
            f"def {name}(items: list[int]) -> list[int]:\n"
            f'    """{topic.capitalize()}: one pass over the items."""\n'
            f"    result: list[int] = []\n"
            f"    for item in items:\n"
            f"        if item % {number % 7 + 2} == 0:\n"
            f"            result.append({helper}(item))\n"
            f"    return sorted(result)\n"
        )
    if language in ("typescript", "javascript"):
        types = ": number[]" if language == "typescript" else ""
        return (
            f"export function {name}(items{types}){types} {{\n"
            f"  // {topic}: one pass over the items\n"
            f"  const result{types} = [];\n"
            f"  for (const item of items) {{\n"
            f"    if (item % {number % 7 + 2} === 0) result.push({helper}(item));\n"
            f"  }}\n"
            f"  return result.sort((a, b) => a - b);\n"
            f"}}\n"
        )
    if language == "go":
        return (
            f"func {name}(items []int) []int {{\n"
            f"\t// {topic}: one pass over the items\n"
            f"\tresult := []int{{}}\n"
            f"\tfor _, item := range items {{\n"
            f"\t\tif item%{number % 7 + 2} == 0 {{\n\t\t\tresult = append(result, {helper}(item))\n\t\t}}\n"
            f"\t}}\n\treturn result\n}}\n"
        )
    if language == "rust":
        return (
            f"pub fn {name}(items: &[i64]) -> Vec<i64> {{\n"
            f"    // {topic}: one pass over the items\n"
            f"    let mut result: Vec<i64> = items.iter().copied().filter(|i| i % {number % 7 + 2} == 0)"
            f".map({helper}).collect();\n"
            f"    result.sort();\n    result\n}}\n"
        )
    if language == "sql":
        return (
            f"-- {topic}\nSELECT id, {helper}(amount) AS value\nFROM items\n"
            f"WHERE amount % {number % 7 + 2} = 0\nORDER BY value;\n"
        )
    return (
        f"#!/usr/bin/env bash\n# {topic}\nset -euo pipefail\n"
        f'for item in "$@"; do\n  if (( item % {number % 7 + 2} == 0 )); then {helper} "$item"; fi\ndone\n'
    )


def _snippet_title(code: str) -> str:
    """The first line that is not a shebang, like the app's titles of signatures."""
    lines = [line for line in code.split("\n") if line and not line.startswith("#!")]
    return lines[0].rstrip(" {:")[:200]


class Generator:
    """Yields (table, rows) batches: users first, then each user's conversations, messages, snippets."""

    def __init__(self, size: Size, password_hash: str, seed: int = 7) -> None:
        self.size = size
        self.password_hash = password_hash
        self.rng = random.Random(seed)
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.landmarks = Landmarks()
        self._buffers: dict[str, list[tuple[object, ...]]] = {table: [] for table in TABLE_COLUMNS}
        self._number = 0

    # -- the plan --------------------------------------------------------------------------------
    def batches(self) -> Iterator[tuple[str, list[tuple[object, ...]]]]:
        size = self.size
        users = [self._user(0)] + [self._user(i + 1) for i in range(OTHER_USERS)]
        yield "users", users
        target = users[0]
        self.landmarks.user_id, self.landmarks.email = str(target[0]), str(target[1])
        yield from self._user_history(str(target[0]), size.conversations, size.messages, size.snippets, big=True)
        others = max(size.total_messages - size.messages, 0)
        per_user = others // OTHER_USERS
        for user in users[1:]:
            conversations = max(per_user // 4, 1)
            yield from self._user_history(str(user[0]), conversations, per_user, conversations * 2, big=False)
        yield from self._flush_all()
        newest_first = sorted(self.landmarks.target_conversations, reverse=True)
        self.landmarks.middle_conversation = newest_first[len(newest_first) // 2]
        self.landmarks.target_conversations = []

    def _user(self, index: int) -> tuple[object, ...]:
        created = self.now - timedelta(days=DAYS_OF_HISTORY + 1)
        email = "scale-user@example.com" if index == 0 else f"scale-other{index}@example.com"
        return (_uuid(self.rng), email, self.password_hash, 0, 0, None, None, None, None, created, created)

    def _user_history(
        self, user_id: str, conversations: int, messages: int, snippets: int, *, big: bool
    ) -> Iterator[tuple[str, list[tuple[object, ...]]]]:
        """`conversations` of 4 messages (request, answer, feedback, answer) or 2, one of 200 if `big`."""
        rest_messages = messages - (BIG_CONVERSATION_MESSAGES if big else 0)
        rest_conversations = conversations - (1 if big else 0)
        fours = max(min((rest_messages - 2 * rest_conversations) // 2, rest_conversations), 0)
        sizes = [4] * fours + [2] * (rest_conversations - fours)
        if big:
            sizes.insert(len(sizes) // 3, BIG_CONVERSATION_MESSAGES)
        answers = sum(count // 2 for count in sizes)
        doubles = max(min(snippets - answers, answers), 0)  # answers with two code blocks
        self._doubles_left = doubles
        for count in sizes:
            self._conversation(user_id, count, is_target=big, big=count == BIG_CONVERSATION_MESSAGES)
            yield from self._flush_full()

    # -- one conversation ----------------------------------------------------------------------------
    def _conversation(self, user_id: str, count: int, *, is_target: bool, big: bool) -> None:
        rng = self.rng
        self._number += 1
        number = self._number
        topic = rng.choice(TOPICS)
        language = rng.choice(LANGUAGES)
        started = self.now - timedelta(seconds=rng.uniform(60, DAYS_OF_HISTORY * 86400))
        prompt = f"Write a {_language_name(language)} {COMMON_WORD} that {rng.choice(VERBS)} a {topic}, case {number}"
        conversation_id = _uuid(rng)
        model_id, model_name, input_cost, output_cost = rng.choice(MODELS)
        at = started
        parent: str | None = None
        preview: str | None = None
        for index in range(count):
            message_id = _uuid(rng)
            if index % 2 == 0:
                content = prompt if index == 0 else rng.choice(FEEDBACK)
                kind = "request" if index == 0 else "feedback"
                self._message(message_id, conversation_id, user_id, parent, "user", kind, content, at, at, None)
            else:
                finished = at + timedelta(seconds=rng.uniform(2, 20))
                blocks = 2 if self._take_double() else 1
                codes = [_code(language, topic, number + b, rng.random() < 0.01) for b in range(blocks)]
                content = "Here is the code:\n\n" + "\n".join(f"```{language}\n{code}```\n" for code in codes)
                content += f"\nIt handles the {topic} in one pass."
                prompt_tokens = rng.randint(200, 1500)
                completion_tokens = rng.randint(100, 600)
                cost = None
                if input_cost is not None and output_cost is not None:
                    cost = (prompt_tokens * input_cost + completion_tokens * output_cost) / 1_000_000
                usage = (model_id, model_name, prompt_tokens, completion_tokens, cost)
                self._message(
                    message_id, conversation_id, user_id, parent, "assistant", "generation", content, at, finished,
                    usage,
                )  # fmt: skip
                for position, code in enumerate(codes):
                    stamp = finished + timedelta(microseconds=len(codes) - 1 - position)
                    self._buffers["snippets"].append(
                        (_uuid(rng), user_id, conversation_id, message_id, position, language, code,
                         _snippet_title(code), stamp)
                    )  # fmt: skip
                if preview is None:
                    preview = "\n".join(codes[0].split("\n")[:PREVIEW_LINES])
                at = finished
            parent = message_id
            at += timedelta(seconds=rng.uniform(5, 120) if index % 2 else 0.001)
        title = prompt[:80]
        self._buffers["conversations"].append((conversation_id, user_id, title, model_id, None, preview, started, at))
        counts = self.landmarks.counts
        if is_target:
            counts["conversations"] = counts.get("conversations", 0) + 1
            counts["messages"] = counts.get("messages", 0) + count
            self.landmarks.target_conversations.append((started, conversation_id))
            if big:
                self.landmarks.big_conversation_id = conversation_id
            if topic == RARE_WORD:
                counts["rare_word_conversations"] = counts.get("rare_word_conversations", 0) + 1

    def _take_double(self) -> bool:
        if self._doubles_left > 0:
            self._doubles_left -= 1
            return True
        return False

    def _message(
        self,
        message_id: str,
        conversation_id: str,
        user_id: str,
        parent: str | None,
        role: str,
        kind: str,
        content: str,
        created: datetime,
        completed: datetime,
        usage: tuple[str, str, int, int, float | None] | None,
    ) -> None:
        model_id, model_name, prompt_tokens, completion_tokens, cost = usage or (None, None, None, None, None)
        self._buffers["messages"].append(
            (message_id, conversation_id, user_id, parent, role, kind, content, "complete", None, None, model_id,
             model_name, prompt_tokens, completion_tokens, cost, 0, created, completed)
        )  # fmt: skip
        if usage is not None:  # the generation's record in the usage ledger, as its final write adds it
            self._buffers["usage_records"].append(
                (message_id, user_id, message_id, conversation_id, model_id, model_name, PROVIDERS[str(model_id)],
                 cost is not None, prompt_tokens, completion_tokens, cost, 0, created)
            )  # fmt: skip

    # -- batching ------------------------------------------------------------------------------------
    def _flush_full(self) -> Iterator[tuple[str, list[tuple[object, ...]]]]:
        # Parents before children: conversations, then messages, then snippets (and the ledger's records).
        if any(len(rows) >= BATCH_ROWS for rows in self._buffers.values()):
            yield from self._flush_all()

    def _flush_all(self) -> Iterator[tuple[str, list[tuple[object, ...]]]]:
        for table in ("conversations", "messages", "snippets", "usage_records"):
            rows, self._buffers[table] = self._buffers[table], []
            if rows:
                yield table, rows
