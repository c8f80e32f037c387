"""The benchmark script runs end to end at a tiny size; its figures are not checked.

Speed depends on the machine, so nothing here is timed: the run must write its table,
and the window-function reference must count the same converters as the product.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from orchestration import bench
from orchestration.bench import Measured, SizeResult, parse_size, target_verdicts


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[SizeResult], str, Path]:
    root = tmp_path_factory.mktemp("bench")
    output = root / "docs" / "benchmarks.md"
    output.parent.mkdir()
    output.write_text(f"old figures\n{bench.NOTES_MARKER}\nA note kept by hand.\n")
    results = bench.run(["4k"], root / "work", output, bench.DEFAULT_CONFIG)
    return results, output.read_text(), root / "work"


def test_the_reference_counts_the_same_converters_as_the_product(
    tiny_run: tuple[list[SizeResult], str, Path],
) -> None:
    (result,), markdown, _ = tiny_run
    assert result.reference_mismatches == []
    assert "- 4k: direct and indirect converters equal to the product's" in markdown


def test_the_run_writes_every_measure_and_keeps_the_notes(
    tiny_run: tuple[list[SizeResult], str, Path],
) -> None:
    (result,), markdown, _ = tiny_run
    assert result.message_events > 0 and result.product_events > 0
    for measure in bench.MEASURES:
        assert f"| {measure} | " in markdown
    # The day is rebuilt before the reference is compared with the marts, so the
    # agreement below holds after an incremental run too.
    assert result.incremental_day is not None
    assert f"| incremental day | {result.incremental_day.seconds:.1f} s |" in markdown
    assert "| reference agrees | yes |" in markdown
    # The day's own breakdown: base_message_events is one of the partitioned models.
    breakdown = result.day_breakdown
    assert breakdown is not None
    assert breakdown.partitioned_model_seconds > 0 and breakdown.test_seconds > 0
    assert f"- 4k: load {breakdown.load_seconds:.1f} s, dbt " in markdown
    assert "old figures" not in markdown
    assert markdown.endswith(f"{bench.NOTES_MARKER}\nA note kept by hand.\n")


def test_the_run_leaves_no_data_behind(tiny_run: tuple[list[SizeResult], str, Path]) -> None:
    _, _, work = tiny_run
    assert not list(work.rglob("*.duckdb"))
    assert not list(work.rglob("*.parquet"))


@pytest.mark.parametrize(
    ("text", "events"),
    [("1000", 1_000), ("250k", 250_000), ("10M", 10_000_000), ("1.5m", 1_500_000)],
)
def test_sizes_are_message_events(text: str, events: int) -> None:
    assert parse_size(text) == events


@pytest.mark.parametrize("text", ["", "0", "ten", "-1M"])
def test_a_size_that_is_not_a_number_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="BENCH_SIZES"):
        parse_size(text)


def _result(full_build: float, peak_gib: float, attribution: float, reference: float) -> SizeResult:
    gib = 1024**3
    return SizeResult(
        label="100M",
        persons=1,
        message_events=100_000_000,
        product_events=20_000_000,
        generate_seconds=0.0,
        load=Measured(full_build / 4, int(peak_gib * gib / 2)),
        build=Measured(full_build * 3 / 4, int(peak_gib * gib)),
        reference=Measured(reference, 0),
        scan=Measured(1.0, 0),
        incremental_day=None,
        day_breakdown=None,
        attribution_seconds=attribution,
        slowest_models=[],
        reference_agrees=True,
        reference_mismatches=[],
    )


def test_each_target_is_called_met_or_missed_with_its_figure() -> None:
    # 100 s of build, 6 GiB, attribution 3 s against a reference of 4 s: all met but the
    # incremental day, which this result did not measure.
    assert target_verdicts([_result(100.0, 6.0, 3.0, 4.0)]) == [
        "Full build in at most 120 s at 100M (100,000,000 message events): met (100.0 s).",
        "One incremental day in at most a tenth of the full build: NOT MEASURED.",
        "Peak memory at most 8 GB (7.45 GiB) at 100M (100,000,000 message events): met (6.00 GiB).",
        "Attribution faster than the window-function reference at every size: met.",
    ]


def test_a_missed_target_says_so_plainly() -> None:
    verdicts = target_verdicts([_result(200.0, 9.0, 5.0, 4.0)])
    assert verdicts[0].endswith(": MISSED (200.0 s).")
    assert verdicts[2].endswith(": MISSED (9.00 GiB).")
    assert verdicts[3].endswith(": MISSED at 100M.")


def test_the_memory_target_is_eight_billion_bytes_not_eight_gib() -> None:
    # 7.5 GiB is 8,053,063,680 bytes: under 8 GiB, over 8 * 10**9 bytes.
    assert target_verdicts([_result(100.0, 7.5, 3.0, 4.0)])[2].endswith(": MISSED (7.50 GiB).")
    # 7.4 GiB is 7,945,689,497 bytes, under both readings.
    assert target_verdicts([_result(100.0, 7.4, 3.0, 4.0)])[2].endswith(": met (7.40 GiB).")


def test_a_day_is_split_into_its_load_partitioned_models_other_models_and_tests() -> None:
    timings = {
        "model.campaign_report.base_message_events": 4.0,
        "model.campaign_report.int_message_receipts": 3.0,
        "model.campaign_report.fct_campaign_performance": 2.5,
        "test.campaign_report.not_null_stg_campaigns_campaign_id.5d7a1c": 0.5,
        "test.campaign_report.unique_int_message_receipts_message_id.0b1f9e": 6.0,
        "seed.campaign_report.channel_defaults": 0.25,
    }
    breakdown = bench.day_breakdown(
        1.5, 20.0, timings, {"base_message_events", "int_message_receipts"}
    )
    assert (breakdown.load_seconds, breakdown.dbt_seconds) == (1.5, 20.0)
    # 4.0 + 3.0 partitioned; 2.5 other (the seed is neither a model nor a test).
    assert breakdown.partitioned_model_seconds == 7.0
    assert breakdown.other_model_seconds == 2.5
    assert breakdown.test_seconds == 6.5
    assert breakdown.slowest_nodes == [
        ("unique_int_message_receipts_message_id", 6.0),
        ("base_message_events", 4.0),
        ("int_message_receipts", 3.0),
        ("fct_campaign_performance", 2.5),
        ("not_null_stg_campaigns_campaign_id", 0.5),
    ]


def test_the_memory_of_a_process_tree_is_read_from_proc() -> None:
    assert bench._tree_rss(1 << 30) == 0  # no such process
    assert bench._tree_rss(os.getpid()) > 0


def test_a_kept_landing_folder_is_drawn_once_per_size(tmp_path: Path) -> None:
    data, work = tmp_path / "data", tmp_path / "work" / "1k"
    work.mkdir(parents=True)
    landing, first = bench._generated_data(work, 20, data)
    assert landing == data / "1k" / "landing"
    written = {path: path.stat().st_mtime_ns for path in landing.rglob("*.parquet")}
    assert written

    again, second = bench._generated_data(work, 20, data)
    assert (again, second) == (landing, first)
    assert {path: path.stat().st_mtime_ns for path in landing.rglob("*.parquet")} == written

    # Another number of people is another data set: drawn again, in the same place.
    _, third = bench._generated_data(work, 30, data)
    assert third.report["message_events"] > first.report["message_events"]
    assert json.loads((data / "1k" / bench.GENERATED_RECORD).read_text())["persons"] == 30
