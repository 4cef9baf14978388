"""harness diff: what changed between two runs, and whether anything regressed."""

from __future__ import annotations

import json

from harness.diff import RunDiff, diff_runs, render_table, to_json
from harness.results import Check, CheckStatus, Declaration, Outcome, RequirementResult, Status
from harness.run import LabInfo, Run

P, F, E, S = CheckStatus.PASS, CheckStatus.FAIL, CheckStatus.ERROR, CheckStatus.SKIP


def req(
    rid: str,
    *checks: tuple[str, CheckStatus],
    status: Status | None = None,
    outcome: Outcome | None = None,
    duration: float | None = None,
    notes: str = "",
) -> RequirementResult:
    cs = [Check(name, st, message=f"{name} said {st}" if st is E else "") for name, st in checks]
    sts = [c.status for c in cs]
    if outcome is None:
        outcome = (
            Outcome.ERROR
            if E in sts
            else Outcome.FAILED if F in sts else Outcome.PASSED if sts else Outcome.MISSING
        )
    if status is None:
        status = Status.IMPLEMENTED if outcome is Outcome.PASSED else Status.NOT_IMPLEMENTED
    return RequirementResult(
        id=rid, status=status, outcome=outcome, checks=cs, duration_s=duration, notes=notes
    )


def run(run_id: str, *reqs: RequirementResult, duration: float | None = 100.0, **kw: object) -> Run:
    r = Run(
        run_id=run_id,
        checklists=["v1.37"],
        lab=LabInfo(name="local-sim", kubernetes_version="v1.37.2", components={"kueue": "0.14.1"}),
        requirements={x.id: x for x in reqs},
        duration_s=duration,
    )
    for k, v in kw.items():
        setattr(r, k, v)
    return r


def base() -> list[RequirementResult]:
    return [
        req("ai_inference", ("gateway_class_accepted", P), ("weighted_split", P), duration=20.0),
        req("gang_scheduling", ("all_or_nothing", P), ("no_partial_binding", P), duration=30.0),
        req("pod_autoscaling", ("hpa_scales_up", F), duration=40.0),
        req("gpu_sharing", status=Status.NA, outcome=Outcome.DECLARED),
    ]


def test_identical_runs_have_no_changes() -> None:
    d = diff_runs(run("A", *base()), run("B", *base()))
    assert (d.requirements, d.checks, d.new_errors, d.durations, d.lab) == ([], [], [], [], [])
    assert not d.regressed
    assert render_table(d).startswith("diff A -> B: no regression\n")


def test_implemented_to_not_implemented_is_a_regression() -> None:
    after = base()
    after[1] = req(
        "gang_scheduling", ("all_or_nothing", P), ("no_partial_binding", F), duration=30.0
    )
    d = diff_runs(run("A", *base()), run("B", *after))
    assert [(r.id, r.before, r.after, r.kind) for r in d.requirements] == [
        ("gang_scheduling", "Implemented", "Not Implemented", "regression")
    ]
    assert [(c.requirement, c.check, c.before, c.after, c.kind) for c in d.checks] == [
        ("gang_scheduling", "no_partial_binding", "pass", "fail", "regression")
    ]
    assert d.new_errors == []
    assert d.regressed


def test_failed_to_passed_is_an_improvement() -> None:
    after = base()
    after[2] = req("pod_autoscaling", ("hpa_scales_up", P), duration=40.0)
    d = diff_runs(run("A", *base()), run("B", *after))
    assert [(r.id, r.kind) for r in d.requirements] == [("pod_autoscaling", "improvement")]
    assert [(c.check, c.kind) for c in d.checks] == [("hpa_scales_up", "improvement")]
    assert not d.regressed


def test_passed_to_error_is_a_regression_and_a_new_error() -> None:
    after = base()
    after[0] = req(
        "ai_inference", ("gateway_class_accepted", P), ("weighted_split", E), duration=20.0
    )
    d = diff_runs(run("A", *base()), run("B", *after))
    assert [(r.id, r.before_outcome, r.after_outcome, r.kind) for r in d.requirements] == [
        ("ai_inference", "passed", "error", "regression")
    ]
    assert [(e.requirement, e.check, e.message) for e in d.new_errors] == [
        ("ai_inference", "weighted_split", "weighted_split said error")
    ]
    assert d.regressed


def test_failed_to_error_same_status_is_still_a_new_error() -> None:
    after = base()
    after[2] = req("pod_autoscaling", ("hpa_scales_up", E), duration=40.0)
    d = diff_runs(run("A", *base()), run("B", *after))
    assert [(r.id, r.kind) for r in d.requirements] == [("pod_autoscaling", "change")]
    assert [(c.before, c.after, c.kind) for c in d.checks] == [("fail", "error", "change")]
    assert len(d.new_errors) == 1
    assert d.regressed


def test_an_error_already_in_a_is_not_new() -> None:
    before = base()
    before[2] = req("pod_autoscaling", ("hpa_scales_up", E), duration=40.0)
    d = diff_runs(run("A", *before), run("B", *before))
    assert d.new_errors == []
    assert not d.regressed


def test_missing_result_is_a_regression() -> None:
    after = base()
    after[1] = req(
        "gang_scheduling",
        status=Status.NOT_IMPLEMENTED,
        outcome=Outcome.MISSING,
        notes="No result: the verify role did not report.\nmore",
    )
    d = diff_runs(run("A", *base()), run("B", *after))
    assert [(r.id, r.after_outcome, r.kind) for r in d.requirements] == [
        ("gang_scheduling", "missing", "regression")
    ]
    assert [(c.check, c.before, c.after, c.kind) for c in d.checks] == [
        ("all_or_nothing", "pass", None, "removed"),
        ("no_partial_binding", "pass", None, "removed"),
    ]
    assert [(e.requirement, e.check, e.message) for e in d.new_errors] == [
        ("gang_scheduling", "", "No result: the verify role did not report.")
    ]
    assert d.regressed


def test_requirement_absent_from_b() -> None:
    a = run("A", *base())
    # absent and B was asked to run it: a regression
    d = diff_runs(a, run("B", *base()[1:]))
    assert [(r.id, r.before, r.after, r.kind) for r in d.requirements] == [
        ("ai_inference", "Implemented", None, "regression")
    ]
    # absent because B was run with --only: no news
    d = diff_runs(
        a,
        run(
            "B",
            *base()[1:],
            selection={"only": ["gang_scheduling", "pod_autoscaling", "gpu_sharing"], "skip": []},
        ),
    )
    assert d.requirements == [] and not d.regressed
    d = diff_runs(a, run("B", *base()[1:], selection={"only": [], "skip": ["ai_inference"]}))
    assert d.requirements == []


def test_requirement_dropped_by_the_checklist_is_removed_not_regressed() -> None:
    a = run("A", req("dra_support", ("deviceclass_api", P)), *base(), checklists=["v1.35"])
    b = run("B", *base(), checklists=["v1.37"])
    d = diff_runs(a, b)
    assert [(r.id, r.kind) for r in d.requirements] == [("dra_support", "removed")]
    assert not d.regressed
    assert ("checklists", "v1.35", "v1.37") in d.lab


def test_new_requirement_is_added() -> None:
    b = run("B", *base(), req("workload_sandboxing", ("runtimeclass", P)))
    d = diff_runs(run("A", *base()), b)
    assert [(r.id, r.before, r.after, r.kind) for r in d.requirements] == [
        ("workload_sandboxing", None, "Implemented", "added")
    ]
    assert d.checks == []  # a new requirement's checks are not listed one by one
    assert not d.regressed


def test_declared_status_changes() -> None:
    after = base()
    after[3] = req("gpu_sharing", ("time_slicing", P))
    d = diff_runs(run("A", *base()), run("B", *after))
    assert [(r.id, r.before, r.after, r.kind) for r in d.requirements] == [
        ("gpu_sharing", "N/A", "Implemented", "improvement")
    ]
    # and back: Implemented -> N/A is a regression
    d = diff_runs(run("B", *after), run("A", *base()))
    assert [(r.kind) for r in d.requirements] == ["regression"]
    assert d.regressed


def test_partially_implemented_by_declaration() -> None:
    after = base()
    decl = Declaration(Status.PARTIAL, "only whole GPUs")
    after[1] = req(
        "gang_scheduling", ("all_or_nothing", P), status=Status.PARTIAL, outcome=Outcome.DECLARED
    )
    after[1].declared = decl
    d = diff_runs(run("A", *base()), run("B", *after))
    assert [(r.before, r.after, r.kind) for r in d.requirements] == [
        ("Implemented", "Partially Implemented", "regression")
    ]


def test_check_added_removed_and_skipped() -> None:
    after = base()
    after[0] = req(
        "ai_inference", ("gateway_class_accepted", S), ("header_routing", P), duration=20.0
    )
    d = diff_runs(run("A", *base()), run("B", *after))
    assert [(c.check, c.before, c.after, c.kind) for c in d.checks] == [
        ("gateway_class_accepted", "pass", "skip", "regression"),
        ("weighted_split", "pass", None, "removed"),
        ("header_routing", None, "pass", "added"),
    ]
    assert d.requirements == []  # still Implemented / passed in both
    assert d.regressed  # a check that passed no longer does


def test_repeated_check_names_are_kept_apart() -> None:
    a = run("A", req("ai_inference", ("probe", P), ("probe", P)))
    b = run("B", req("ai_inference", ("probe", P), ("probe", F)))
    d = diff_runs(a, b)
    assert [(c.check, c.before, c.after) for c in d.checks] == [("probe#2", "pass", "fail")]


def test_durations_flag_only_large_slowdowns() -> None:
    after = base()
    after[0] = req(
        "ai_inference", ("gateway_class_accepted", P), ("weighted_split", P), duration=35.0
    )  # +75%, +15 s
    after[1] = req(
        "gang_scheduling", ("all_or_nothing", P), ("no_partial_binding", P), duration=38.0
    )  # +27%
    after[2] = req("pod_autoscaling", ("hpa_scales_up", F), duration=10.0)  # faster
    d = diff_runs(run("A", *base()), run("B", *after, duration=158.0))
    assert [(t.subject, t.before_s, t.after_s, t.flagged) for t in d.durations] == [
        ("ai_inference", 20.0, 35.0, True),
        ("gang_scheduling", 30.0, 38.0, False),
        ("pod_autoscaling", 40.0, 10.0, False),
        ("total", 100.0, 158.0, True),
    ]
    assert [t.subject for t in d.slower] == ["ai_inference", "total"]
    assert not d.regressed  # time alone does not fail a run by default ...
    assert diff_runs(
        run("A", *base()), run("B", *after), time_regresses=True
    ).regressed  # ... unless asked


def test_small_absolute_slowdown_is_not_flagged() -> None:
    a = run("A", req("ai_inference", ("x", P), duration=2.0))
    b = run("B", req("ai_inference", ("x", P), duration=9.0))  # +350 % but only +7 s
    (t,) = diff_runs(a, b).durations
    assert not t.flagged
    custom = diff_runs(a, b, slower_ratio=1.0, slower_min_s=5.0)
    assert custom.durations[0].flagged


def test_interrupted_run_is_a_regression() -> None:
    b = run(
        "B",
        *base(),
        state="partial",
        interruption={"reason": "timeout", "message": "per-run timeout 1800 s"},
    )
    d = diff_runs(run("A", *base()), b)
    assert [(e.requirement, e.message) for e in d.new_errors] == [
        ("", "run partial: timeout per-run timeout 1800 s")
    ]
    assert d.regressed


def test_lab_changes_are_listed() -> None:
    b = run("B", *base())
    b.lab.kubernetes_version = "v1.37.3"
    b.lab.components = {"kueue": "0.15.0", "traefik": "3.5.0"}
    d = diff_runs(run("A", *base()), b)
    assert d.lab == [
        ("kubernetes", "v1.37.2", "v1.37.3"),
        ("kueue", "0.14.1", "0.15.0"),
        ("traefik", "-", "3.5.0"),
    ]
    assert not d.regressed


def _mixed() -> RunDiff:
    after = base()
    after[0] = req(
        "ai_inference", ("gateway_class_accepted", P), ("weighted_split", E), duration=35.0
    )
    after[2] = req("pod_autoscaling", ("hpa_scales_up", P), duration=40.0)
    return diff_runs(run("20260101-aaaa", *base()), run("20260102-bbbb", *after, duration=120.0))


def test_render_table_golden() -> None:
    assert render_table(_mixed()) == (
        "diff 20260101-aaaa -> 20260102-bbbb: REGRESSED\n"
        "\n"
        "Requirements (2 changed)\n"
        "  REGRESSION   ai_inference     Implemented (passed)      ->  Not Implemented (error)\n"
        "  improvement  pod_autoscaling  Not Implemented (failed)  ->  Implemented (passed)\n"
        "\n"
        "Checks (2 changed)\n"
        "  REGRESSION   ai_inference     weighted_split  pass  ->  error\n"
        "  improvement  pod_autoscaling  hpa_scales_up   fail  ->  pass\n"
        "\n"
        "New errors (1)\n"
        "  ai_inference  weighted_split  weighted_split said error\n"
        "\n"
        "Durations (1 flagged)\n"
        "  ai_inference  20.0s   ->  35.0s   +15.0s (+75%)  SLOWER\n"
        "  total         100.0s  ->  120.0s  +20.0s (+20%)"
    )


def test_render_table_is_deterministic() -> None:
    assert render_table(_mixed()) == render_table(_mixed())


def test_to_json() -> None:
    j = to_json(_mixed())
    assert json.loads(json.dumps(j)) == j  # plain JSON types only
    assert j["regressed"] is True
    assert (j["a"], j["b"]) == ("20260101-aaaa", "20260102-bbbb")
    assert j["requirements"][0] == {
        "id": "ai_inference",
        "before": "Implemented",
        "after": "Not Implemented",
        "before_outcome": "passed",
        "after_outcome": "error",
        "kind": "regression",
    }
    assert j["checks"][1] == {
        "requirement": "pod_autoscaling",
        "check": "hpa_scales_up",
        "before": "fail",
        "after": "pass",
        "kind": "improvement",
    }
    assert j["new_errors"] == [
        {
            "requirement": "ai_inference",
            "check": "weighted_split",
            "message": "weighted_split said error",
        }
    ]
    assert j["durations"][0] == {
        "subject": "ai_inference",
        "before_s": 20.0,
        "after_s": 35.0,
        "delta_s": 15.0,
        "ratio": 0.75,
        "flagged": True,
    }
    assert j["state"] == {"a": "complete", "b": "complete"}


def test_diff_survives_a_run_json_round_trip(tmp_path: object) -> None:
    a, b = run("A", *base()), run("B", *base())
    b.requirements["gang_scheduling"] = req("gang_scheduling", ("all_or_nothing", F))
    a2, b2 = Run.from_dict(a.to_dict()), Run.from_dict(b.to_dict())
    assert to_json(diff_runs(a2, b2)) == to_json(diff_runs(a, b))
