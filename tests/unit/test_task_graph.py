"""Group validation, run-time dependency decisions and group counters."""

import itertools
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from aide.domain.task_graph import (
    MAX_GROUP_TASKS,
    CascadeCancellation,
    DependencyState,
    GroupCounts,
    GroupStatus,
    TaskGraphError,
    TaskGraphErrorCode,
    TaskSpec,
    cancellation_cascade,
    evaluate_dependencies,
    validate_task_graph,
)
from aide.domain.task_lifecycle import LEGAL_TRANSITIONS, TaskStatus, TransitionReason

S = TaskStatus
R = TransitionReason
E = TaskGraphErrorCode


def spec(ref: str, *deps: str) -> dict[str, object]:
    return {"ref": ref, "dependencies": list(deps)}


def error_of(specs: list[dict[str, object]], **kwargs: int) -> TaskGraphError:
    with pytest.raises(TaskGraphError) as caught:
        validate_task_graph(specs, **kwargs)
    return caught.value


# --- validation: examples ------------------------------------------------------------------


def test_a_three_level_group_has_its_order_levels_and_first_wave() -> None:
    graph = validate_task_graph(
        [spec("report", "code", "research"), spec("research"), spec("code", "research")]
    )
    assert graph.refs == ("report", "research", "code")
    assert graph.order == ("research", "code", "report")
    assert graph.levels == (("research",), ("code",), ("report",))
    assert graph.depth == {"research": 0, "code": 1, "report": 2}
    assert graph.initially_ready == ("research",)
    assert graph.dependencies["report"] == ("code", "research")
    assert graph.dependents == {"research": ("report", "code"), "code": ("report",), "report": ()}


def test_ties_are_broken_by_input_order_not_by_name_or_dependency_order() -> None:
    graph = validate_task_graph(
        [spec("z"), spec("b", "m"), spec("m", "z"), spec("a"), spec("y", "a", "z")]
    )
    # z and a are ready at once, z was given first; placing z readies m, given before a;
    # placing m readies b, given before a too. Deeper does not mean later.
    assert graph.order == ("z", "m", "b", "a", "y")
    assert graph.levels == (("z", "a"), ("m", "y"), ("b",))
    assert graph.initially_ready == ("z", "a")


def test_accepts_mappings_dataclasses_and_any_object_with_ref_and_dependencies() -> None:
    @dataclass
    class Item:  # stands in for the API's pydantic model
        ref: str
        dependencies: list[str]

    graph = validate_task_graph(
        [
            {"ref": "a"},
            TaskSpec("b", ("a",)),
            Item("c", ["a", "b"]),
            {"ref": "d", "dependencies": None},
        ]
    )
    assert graph.order == ("a", "b", "c", "d")
    assert graph.dependencies["a"] == ()
    assert graph.dependencies["d"] == ()


def test_a_single_task_group() -> None:
    graph = validate_task_graph([spec("only")])
    assert graph.order == ("only",)
    assert graph.levels == (("only",),)
    assert graph.initially_ready == ("only",)


def test_empty_group() -> None:
    error = error_of([])
    assert (error.code, error.message) == (E.EMPTY_GROUP, "a task group needs at least one task")
    assert error.details == {"field": "tasks", "count": 0}
    assert isinstance(error, ValueError)


def test_at_most_a_thousand_tasks() -> None:
    assert MAX_GROUP_TASKS == 1000
    validate_task_graph([spec(f"t{i}") for i in range(1000)])
    error = error_of([spec(f"t{i}") for i in range(1001)])
    assert error.code is E.TOO_MANY_TASKS
    assert error.message == "a task group holds at most 1000 tasks, got 1001"
    assert error.details == {"field": "tasks", "count": 1001, "limit": 1000}


def test_duplicate_refs_name_every_occurrence() -> None:
    error = error_of([spec("a"), spec("b"), spec("a"), spec("b"), spec("a")])
    assert error.code is E.DUPLICATE_REF
    assert (
        error.message
        == "duplicate task ref: 'a' (tasks[0], tasks[2], tasks[4]); 'b' (tasks[1], tasks[3])"
    )
    assert error.details == {
        "duplicates": [
            {"ref": "a", "fields": ["tasks[0].ref", "tasks[2].ref", "tasks[4].ref"]},
            {"ref": "b", "fields": ["tasks[1].ref", "tasks[3].ref"]},
        ]
    }


def test_self_dependency() -> None:
    error = error_of([spec("a"), spec("b", "a", "b")])
    assert error.code is E.SELF_DEPENDENCY
    assert error.message == "task 'b' depends on itself"
    assert error.details == {
        "selfDependencies": [{"ref": "b", "field": "tasks[1].dependencies[1]"}]
    }


def test_unknown_refs_say_which_task_names_which_missing_ref() -> None:
    error = error_of([spec("a", "x"), spec("b", "a", "y", "x")])
    assert error.code is E.UNKNOWN_REF
    assert error.message == (
        "task 'a' depends on unknown ref 'x'; task 'b' depends on unknown ref 'y'; "
        "task 'b' depends on unknown ref 'x'"
    )
    assert error.details == {
        "unknown": [
            {"ref": "a", "dependency": "x", "field": "tasks[0].dependencies[0]"},
            {"ref": "b", "dependency": "y", "field": "tasks[1].dependencies[1]"},
            {"ref": "b", "dependency": "x", "field": "tasks[1].dependencies[2]"},
        ]
    }


def test_a_dependency_listed_twice() -> None:
    error = error_of([spec("a"), spec("b", "a", "a")])
    assert error.code is E.DUPLICATE_DEPENDENCY
    assert error.message == "task 'b' lists dependency 'a' more than once"
    assert error.details == {
        "duplicates": [{"ref": "b", "dependency": "a", "field": "tasks[1].dependencies[1]"}]
    }


def test_long_lists_of_offenders_are_cut_in_the_message_but_complete_in_details() -> None:
    error = error_of([spec(f"t{i}", f"missing{i}") for i in range(8)])
    assert error.message.endswith("task 't4' depends on unknown ref 'missing4'; and 3 more")
    assert len(error.details["unknown"]) == 8


def test_problems_are_reported_in_a_fixed_precedence() -> None:
    everything_wrong = [spec("a", "a"), spec("a", "x"), spec("b", "c"), spec("c", "b")]
    assert error_of(everything_wrong).code is E.DUPLICATE_REF
    assert error_of(everything_wrong[:1] + everything_wrong[2:] + [spec("d", "x")]).code is (
        E.SELF_DEPENDENCY
    )
    assert error_of([spec("b", "c", "c"), spec("c", "x")]).code is E.UNKNOWN_REF
    assert error_of([spec("b", "c", "c"), spec("c", "b")]).code is E.DUPLICATE_DEPENDENCY
    too_many = [spec("a", "a")] * 3
    assert error_of(too_many, max_tasks=2).code is E.TOO_MANY_TASKS


def test_two_task_cycle() -> None:
    error = error_of([spec("a", "b"), spec("b", "a")])
    assert error.code is E.DEPENDENCY_CYCLE
    assert error.message == "dependency cycle: a -> b -> a (each task depends on the next)"
    assert error.details == {"cycle": ["a", "b", "a"]}


def test_the_cycle_is_reported_itself_even_when_reached_from_outside_it() -> None:
    # "entry" is stuck behind the cycle but not part of it; the cycle starts at its
    # earliest-given member ("b"), whatever task the search happened to enter it by.
    specs = [
        spec("ok"),
        spec("entry", "ok", "d"),
        spec("b", "c"),
        spec("c", "ok", "d"),
        spec("d", "b"),
        spec("after", "entry"),
    ]
    error = error_of(specs)
    assert error.code is E.DEPENDENCY_CYCLE
    assert error.details == {"cycle": ["b", "c", "d", "b"]}
    assert error.message == "dependency cycle: b -> c -> d -> b (each task depends on the next)"


def test_a_thousand_deep_chain_validates_quickly_without_recursion() -> None:
    chain = [spec("t0")] + [spec(f"t{i}", f"t{i - 1}") for i in range(1, 1000)]
    random.Random(7).shuffle(chain)
    started = time.perf_counter()
    graph = validate_task_graph(chain)
    assert time.perf_counter() - started < 2.0
    assert graph.order == tuple(f"t{i}" for i in range(1000))
    assert graph.depth["t999"] == 999
    cyclic = list(chain)
    cyclic[[s["ref"] for s in cyclic].index("t0")] = spec("t0", "t999")
    error = error_of(cyclic)
    assert error.code is E.DEPENDENCY_CYCLE
    cycle = error.details["cycle"]
    assert len(cycle) == 1001
    assert cycle[0] == cycle[-1] == cyclic[0]["ref"]


# --- validation: properties ----------------------------------------------------------------


@st.composite
def dags(draw: st.DrawFn) -> list[dict[str, object]]:
    """A random DAG: tasks in a random input order, each depending only on tasks that come
    earlier in a hidden random ranking."""
    size = draw(st.integers(min_value=1, max_value=40))
    rank = draw(st.permutations(range(size)))
    specs = []
    for i in range(size):
        earlier = [f"n{j}" for j in range(size) if rank[j] < rank[i]]
        deps = draw(st.lists(st.sampled_from(earlier), unique=True)) if earlier else []
        specs.append(spec(f"n{i}", *deps))
    return specs


def reference_order(specs: list[dict[str, object]]) -> list[str]:
    """Brute force: repeatedly take the earliest-given task whose dependencies are all placed."""
    placed: list[str] = []
    remaining = list(specs)
    while remaining:
        ready = next(s for s in remaining if set(s["dependencies"]) <= set(placed))  # type: ignore[arg-type]
        placed.append(ready["ref"])  # type: ignore[arg-type]
        remaining.remove(ready)
    return placed


@settings(max_examples=200, deadline=None)
@given(dags())
def test_random_dags_validate_in_a_stable_order_that_respects_every_edge(
    specs: list[dict[str, object]],
) -> None:
    graph = validate_task_graph(specs)
    position = {ref: i for i, ref in enumerate(graph.order)}
    assert sorted(graph.order) == sorted(s["ref"] for s in specs)  # type: ignore[type-var]
    for s in specs:
        for dep in s["dependencies"]:  # type: ignore[attr-defined]
            assert position[dep] < position[s["ref"]]
            assert graph.depth[s["ref"]] > graph.depth[dep]  # type: ignore[index]
            assert s["ref"] in graph.dependents[dep]
    assert list(graph.order) == reference_order(specs)
    for ref in graph.refs:
        deps = graph.dependencies[ref]
        assert graph.depth[ref] == (1 + max(graph.depth[d] for d in deps) if deps else 0)
    assert [ref for level in graph.levels for ref in level] == sorted(
        graph.refs, key=lambda ref: (graph.depth[ref], graph.refs.index(ref))
    )
    assert graph.initially_ready == graph.levels[0]


@settings(max_examples=200, deadline=None)
@given(dags(), st.data())
def test_a_back_edge_yields_a_cycle_error_naming_a_real_cycle(
    specs: list[dict[str, object]], data: st.DataObject
) -> None:
    graph = validate_task_graph(specs)
    # Pick a dependency path source -> ... -> target (target is a transitive dependency of
    # source), then make target depend on source.
    with_deps = [ref for ref in graph.refs if graph.dependencies[ref]]
    assume(with_deps)
    source = data.draw(st.sampled_from(with_deps))
    reachable, frontier = set(), [source]
    while frontier:
        for dep in graph.dependencies[frontier.pop()]:
            if dep not in reachable:
                reachable.add(dep)
                frontier.append(dep)
    target = data.draw(st.sampled_from(sorted(reachable)))
    for s in specs:
        if s["ref"] == target:
            s["dependencies"] = [*s["dependencies"], source]  # type: ignore[misc]

    error = error_of(specs)
    assert error.code is E.DEPENDENCY_CYCLE
    cycle = error.details["cycle"]
    assert cycle[0] == cycle[-1]
    assert len(set(cycle[:-1])) == len(cycle) - 1 >= 2
    edges = {(s["ref"], d) for s in specs for d in s["dependencies"]}  # type: ignore[attr-defined]
    for here, there in itertools.pairwise(cycle):
        assert (here, there) in edges, f"{here} does not depend on {there}"
    index = {s["ref"]: i for i, s in enumerate(specs)}
    assert cycle[0] == min(cycle, key=index.__getitem__)
    assert (
        error.message == f"dependency cycle: {' -> '.join(cycle)} (each task depends on the next)"
    )


# --- run time: dependencies of one task ----------------------------------------------------


def test_no_dependencies_or_all_completed_is_ready() -> None:
    assert evaluate_dependencies({}).is_ready
    verdict = evaluate_dependencies({"x": S.COMPLETED, "y": S.COMPLETED})
    assert verdict.state is DependencyState.READY
    assert verdict.blocking_dependency is None
    assert verdict.cancel_reason is None
    assert verdict.message is None


@pytest.mark.parametrize("unfinished", [S.PENDING, S.QUEUED, S.IN_PROGRESS])
def test_an_unfinished_dependency_means_waiting(unfinished: S) -> None:
    verdict = evaluate_dependencies({"x": S.COMPLETED, "y": unfinished})
    assert verdict.state is DependencyState.WAITING
    assert not verdict.is_ready
    assert verdict.cancel_reason is None


def test_a_failed_dependency_blocks_even_while_others_still_run() -> None:
    verdict = evaluate_dependencies({"x": S.IN_PROGRESS, "y": S.FAILED, "z": S.CANCELLED})
    assert verdict.state is DependencyState.BLOCKED
    assert (verdict.blocking_dependency, verdict.blocking_status) == ("y", S.FAILED)
    assert verdict.cancel_reason is R.DEPENDENCY_FAILED
    assert verdict.message == "dependency 'y' failed"
    cancelled = evaluate_dependencies({"z": "cancelled", "y": "failed"})  # type: ignore[dict-item]
    assert cancelled.cancel_reason is R.DEPENDENCY_CANCELLED
    assert cancelled.message == "dependency 'z' was cancelled"


# --- run time: cancel cascade --------------------------------------------------------------


class CountingGraph:
    """Dependents and statuses served on demand, counting every lookup."""

    def __init__(self, dependents: dict[str, list[str]], statuses: dict[str, S]) -> None:
        self.dependents = dependents
        self.statuses = statuses
        self.expanded: list[str] = []
        self.looked_up: list[str] = []

    def dependents_of(self, task_id: str) -> Iterable[str]:
        self.expanded.append(task_id)
        return self.dependents.get(task_id, [])

    def status_of(self, task_id: str) -> S | None:
        self.looked_up.append(task_id)
        return self.statuses.get(task_id)


def test_a_failed_task_cancels_its_dependents_transitively_with_reasons() -> None:
    # a <- b <- d, a <- c <- d (diamond), d <- e
    dependents = {"a": ["b", "c"], "b": ["d"], "c": ["d"], "d": ["e"]}
    statuses = dict.fromkeys("bcde", S.PENDING)
    cascade = cancellation_cascade(
        "a", root_status=S.FAILED, dependents_of=dependents, status_of=statuses
    )
    assert cascade == (
        CascadeCancellation("b", "a", R.DEPENDENCY_FAILED),
        CascadeCancellation("c", "a", R.DEPENDENCY_FAILED),
        CascadeCancellation("d", "b", R.DEPENDENCY_CANCELLED),
        CascadeCancellation("e", "d", R.DEPENDENCY_CANCELLED),
    )
    assert [c.message for c in cascade] == [
        "dependency 'a' failed",
        "dependency 'a' failed",
        "dependency 'b' was cancelled",
        "dependency 'd' was cancelled",
    ]


def test_the_cascade_neither_cancels_nor_looks_past_finished_tasks() -> None:
    graph = CountingGraph(
        dependents={
            "root": ["done", "gone", "live"],
            "done": ["behind-done"],
            "gone": ["behind-gone"],
            "live": ["next"],
        },
        statuses={
            "done": S.COMPLETED,
            "gone": S.CANCELLED,
            "behind-done": S.PENDING,
            "behind-gone": S.PENDING,
            "live": S.QUEUED,
            "next": S.PENDING,
        },
    )
    cascade = cancellation_cascade(
        "root",
        root_status=S.CANCELLED,
        dependents_of=graph.dependents_of,
        status_of=graph.status_of,
    )
    assert [c.task_id for c in cascade] == ["live", "next"]
    assert cascade[0].reason is R.DEPENDENCY_CANCELLED
    assert graph.expanded == ["root", "live", "next"]
    assert sorted(graph.looked_up) == ["done", "gone", "live", "next"]


def test_subtasks_are_cancelled_with_their_parent_and_their_dependents_follow() -> None:
    cascade = cancellation_cascade(
        "parent",
        root_status=S.CANCELLED,
        dependents_of={"parent": ["after"], "sub": ["sub-after"]},
        subtasks_of={"parent": ["sub"]},
        status_of={"after": S.PENDING, "sub": S.IN_PROGRESS, "sub-after": S.PENDING},
    )
    assert cascade == (
        CascadeCancellation("after", "parent", R.DEPENDENCY_CANCELLED),
        CascadeCancellation("sub", "parent", R.PARENT_CANCELLED),
        CascadeCancellation("sub-after", "sub", R.DEPENDENCY_CANCELLED),
    )
    assert cascade[1].message == "parent task 'parent' was cancelled"


def test_unknown_tasks_are_skipped_and_only_failed_or_cancelled_roots_cascade() -> None:
    assert (
        cancellation_cascade(
            "a", root_status=S.CANCELLED, dependents_of={"a": ["ghost"]}, status_of={}
        )
        == ()
    )
    with pytest.raises(ValueError, match="only a failed or cancelled task cascades"):
        cancellation_cascade("a", root_status=S.COMPLETED, dependents_of={}, status_of={})


@settings(max_examples=200, deadline=None)
@given(dags(), st.data())
def test_the_cascade_is_exactly_what_can_no_longer_run_and_touches_nothing_else(
    specs: list[dict[str, object]], data: st.DataObject
) -> None:
    graph = validate_task_graph(specs)
    root = data.draw(st.sampled_from(graph.refs))
    statuses = {ref: data.draw(st.sampled_from(list(S))) for ref in graph.refs if ref != root}
    counting = CountingGraph({k: list(v) for k, v in graph.dependents.items()}, statuses)
    cascade = cancellation_cascade(
        root,
        root_status=S.FAILED,
        dependents_of=counting.dependents_of,
        status_of=counting.status_of,
    )
    # Brute force: unfinished tasks reachable from the root through unfinished tasks only.
    expected: set[str] = set()
    frontier = [root]
    while frontier:
        for child in graph.dependents[frontier.pop()]:
            if child not in expected and statuses[child] in (S.PENDING, S.QUEUED, S.IN_PROGRESS):
                expected.add(child)
                frontier.append(child)
    ids = [c.task_id for c in cascade]
    assert len(ids) == len(set(ids))
    assert set(ids) == expected
    assert sorted(counting.expanded) == sorted([root, *ids])
    for item in cascade:
        assert item.task_id in graph.dependents[item.caused_by]
        assert item.caused_by == root or item.caused_by in expected
        direct = item.caused_by == root
        assert item.reason is (R.DEPENDENCY_FAILED if direct else R.DEPENDENCY_CANCELLED)


# --- group counters ------------------------------------------------------------------------


def reference_group_status(statuses: list[S]) -> GroupStatus:
    """The definition, written independently of GroupCounts."""
    unfinished = [s for s in statuses if s in (S.PENDING, S.QUEUED, S.IN_PROGRESS)]
    if not statuses or all(s is S.PENDING for s in statuses):
        return GroupStatus.PENDING
    if all(s is S.COMPLETED for s in statuses):
        return GroupStatus.COMPLETED
    if not unfinished:
        return GroupStatus.FAILED if S.FAILED in statuses else GroupStatus.CANCELLED
    return GroupStatus.RUNNING


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([], GroupStatus.PENDING),
        ([S.PENDING, S.PENDING], GroupStatus.PENDING),
        ([S.QUEUED, S.PENDING], GroupStatus.RUNNING),
        ([S.IN_PROGRESS], GroupStatus.RUNNING),
        ([S.COMPLETED, S.PENDING], GroupStatus.RUNNING),
        ([S.FAILED, S.PENDING], GroupStatus.RUNNING),
        ([S.COMPLETED, S.COMPLETED], GroupStatus.COMPLETED),
        ([S.COMPLETED, S.FAILED, S.CANCELLED], GroupStatus.FAILED),
        ([S.COMPLETED, S.CANCELLED], GroupStatus.CANCELLED),
        ([S.CANCELLED], GroupStatus.CANCELLED),
    ],
)
def test_group_status_definition(statuses: list[S], expected: GroupStatus) -> None:
    assert GroupCounts.from_statuses(statuses).status() is expected


def test_progress_counts_completed_work_and_in_progress_shares() -> None:
    counts = GroupCounts.from_statuses([S.COMPLETED, S.IN_PROGRESS, S.IN_PROGRESS, S.FAILED])
    assert counts.progress() == 0.25
    assert counts.progress(in_progress_sum=1.0) == 0.5
    assert counts.progress(in_progress_sum=5.0) == 0.75  # clamped to two in-progress tasks
    assert counts.progress(in_progress_sum=-1.0) == 0.25
    assert GroupCounts().progress() == 0.0
    assert GroupCounts(completed=3).progress() == 1.0


def test_counter_map_round_trip_and_increments() -> None:
    counts = GroupCounts.from_mapping({"pending": 2, "completed": 1})
    assert counts.as_dict() == {
        "pending": 2,
        "queued": 0,
        "in_progress": 0,
        "completed": 1,
        "failed": 0,
        "cancelled": 0,
    }
    assert (counts.total, counts.unfinished, counts.finished) == (3, 2, 1)
    assert GroupCounts.increments(S.PENDING, S.QUEUED) == {"pending": -1, "queued": 1}
    assert GroupCounts.increments(None, S.PENDING) == {"pending": 1}
    assert GroupCounts.increments(S.FAILED, None) == {"failed": -1}
    assert GroupCounts.increments(S.QUEUED, S.QUEUED) == {}
    moved = counts.apply(S.PENDING, S.QUEUED)
    assert (moved.pending, moved.queued) == (1, 1)
    assert counts.pending == 2  # immutable
    assert counts.apply(S.QUEUED, S.QUEUED) is counts
    assert counts.apply(None, S.FAILED).failed == 1


def test_counter_drift_and_bad_maps_are_refused() -> None:
    with pytest.raises(ValueError, match="no task counted as 'queued'"):
        GroupCounts(pending=1).apply(S.QUEUED, S.IN_PROGRESS)
    with pytest.raises(ValueError, match="unknown task statuses"):
        GroupCounts.from_mapping({"running": 1})
    with pytest.raises(ValueError, match="negative"):
        GroupCounts(failed=-1)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(list(S)), max_size=30),
    st.lists(st.tuples(st.integers(min_value=0), st.integers(min_value=0)), max_size=60),
)
def test_counters_updated_move_by_move_equal_a_recount(
    initial: list[S], moves: list[tuple[int, int]]
) -> None:
    statuses = list(initial)
    counts = GroupCounts.from_statuses(statuses)
    edges = sorted(LEGAL_TRANSITIONS)
    for which_task, which_edge in moves:
        if not statuses:
            break
        index = which_task % len(statuses)
        options = [to for (frm, to) in edges if frm is statuses[index]]
        if not options:
            continue
        new = options[which_edge % len(options)]
        counts = counts.apply(statuses[index], new)
        statuses[index] = new
        assert counts == GroupCounts.from_statuses(statuses)
        assert counts.status() is reference_group_status(statuses)
        assert counts.progress() == statuses.count(S.COMPLETED) / len(statuses)
    assert sum(counts.as_dict().values()) == len(statuses)
