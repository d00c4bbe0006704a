"""The benchmark's report: the table of rows, the end-to-end and in-process notes, the targets
and the detection-quality comparison, all from one results document."""

from __future__ import annotations

from typing import Any

from bench.common import BATCH_SPANS, GIB, MIB, TARGETS, ratio
from bench.mixed import MIXED
from bench.workload import (
    REALISTIC,
    SPANS_PER_TRACE,
    UNIQUE,
)


def fmt_num(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}"


def fmt_ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.2f}x"


def fmt_pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def fmt_bytes(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value / GIB:.2f} GiB" if value >= GIB else f"{value / MIB:.0f} MiB"


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def build_report(results: dict[str, Any]) -> str:
    lines = _header(results) + _rows_table(results)
    if results.get("e2e"):
        lines += _e2e_lines(results)
    if results.get("batch_cli"):
        lines += _batch_cli_lines(results["batch_cli"])
    lines += _inprocess_lines(results["inprocess_notes"]) + _target_lines(results["targets"]) + _detection_lines(results["detection"])
    return "\n".join(lines)


def _header(results: dict[str, Any]) -> list[str]:
    meta, wl = results["meta"], results["workloads"]
    return [
        f"tracevault benchmark ({'quick' if meta['quick'] else 'default'} run): {meta['cores']} cores, seed {meta['seed']}, "
        f"{meta['started']}, commit {meta['commit']}",
        f"workloads: {SPANS_PER_TRACE} spans per trace; realistic {wl[REALISTIC]['words_per_trace']:,.0f} words/trace, "
        f"unique {wl[UNIQUE]['words_per_trace']:,.0f} words/trace" + _mixed_words(wl) + f"; exports of {BATCH_SPANS} spans",
        "",
    ]


def _mixed_words(workloads: dict[str, Any]) -> str:
    mixed = workloads.get(MIXED)
    if not mixed:
        return ""
    once = mixed.get("once", {})
    return (f", mixed {mixed['words_per_trace']:,.0f} words/trace ({fmt_pct(once.get('strings'))} of words in strings and"
            f" {fmt_pct(once.get('paragraphs'))} in paragraphs that occur once)")  # fmt: skip


def _row_line(row: dict[str, Any], ceiling_cores: float) -> str:
    spans = "-" if row.get("spans_per_s") is None else f"{row['spans']:,}"
    seconds = "-" if row.get("seconds") is None else f"{row['seconds']:.1f}"
    sps = "-" if row.get("spans_per_s") is None else fmt_num(row["spans_per_s"], 1)
    marker = "" if row.get("complete", True) else " (time cap)"
    return (
        f"{row['label'] + marker:<52} {spans:>6} {seconds:>8} {sps:>9} {fmt_num(row['words_per_s']):>9} "
        f"{(fmt_ratio(row['x_naive']) if row.get('x_naive') is not None else '-'):>8} "
        f"{fmt_pct(ratio(row['words_per_s'], ceiling_cores)):>15}"
        f" {('-' if row.get('cpu_seconds') is None else fmt_num(row['cpu_seconds'], 1)):>6}"
        f" {('-' if row.get('spans_per_cpu_s') is None else fmt_num(row['spans_per_cpu_s'], 1)):>11}"
        f" {(fmt_ratio(row['x_naive_cpu']) if row.get('x_naive_cpu') is not None else '-'):>11}"
        f" {fmt_num(row['notes'].get('other_load_cores'), 2):>10}"
    )


def _rows_table(results: dict[str, Any]) -> list[str]:
    rows: list[dict[str, Any]] = results["rows"]
    header = (f"{'configuration':<52} {'spans':>6} {'seconds':>8} {'spans/s':>9} {'words/s':>9} {'x naive':>8} {'of ceil x cores':>15}"
              f" {'CPU s':>6} {'spans/CPU-s':>11} {'x naive/core':>11} {'other load':>10}")  # fmt: skip
    lines = [header, "-" * len(header)]
    lines += [_row_line(row, results["ceiling_cores_words_per_s"]) for row in rows]
    by_key = {row["key"]: row for row in rows}
    runs = "; ".join(
        f"{name} " + " / ".join(fmt_num(v) for v in by_key[key]["notes"].get("runs_words_per_s", []))
        for key, name in (("naive_realistic", "naive realistic"), ("naive_unique", "naive unique"), ("naive_mixed", "naive mixed"),
                          ("ceiling", "NER ceiling"))
        if key in by_key
    )
    loads = results.get("load_average", {})
    return lines + [
        f"baselines run at the start and at the end (naive mixed also in turn with the batch CLI), the fastest used (words/s): {runs}",
        "CPU s = user + system seconds of every process of that row (end to end: the server and its workers; batch CLI: the command"
        " and its workers); x naive/core = spans per CPU second over naive Presidio's",
        "other load = CPU cores used by other processes on the machine while that row was measured",
        "load average (1 min) " + ", ".join(f"{k.replace('_', ' ')} {v[0]:.2f}" for k, v in loads.items()),
        "",
    ]


def _e2e_lines(results: dict[str, Any]) -> list[str]:
    e2e = results["e2e"]
    lines = [f"end to end (tracevault serve, workers auto = {e2e['workers']}, spool fsync on, flush every 2 s):"]
    lat = e2e.get("latency")
    if lat:
        lines.append(
            f"  realistic, ack latency at half max ({fmt_num(lat['rate_spans_per_s'], 1)} spans/s, {lat['exports']} exports of {lat['batch_spans']} spans,"
            f" {lat['failed_exports']} failed): p50 {fmt_num(lat['p50_seconds'], 3)} s, p99 {fmt_num(lat['p99_seconds'], 3)} s,"
            f" max {fmt_num(lat['max_seconds'], 3)} s"
        )
    lines += _e2e_resource_lines(e2e)
    if "max_realistic" in e2e:
        lines.append(
            f"  realistic, cache hit rate (/metrics): whole run {fmt_pct(e2e.get('cache_hit_rate'))}, max-throughput phase {fmt_pct(e2e['max_realistic']['notes']['cache'])},"
            f" latency phase {fmt_pct((lat or {}).get('cache'))}"
        )
    lines += [_max_run_line(key, e2e[key]["notes"]) for key in ("max_realistic", "max_unique") if key in e2e]
    lines.append(
        f"  exit code after SIGTERM: realistic {e2e.get('exit_code', 'n/a')}, unique {e2e.get('unique_exit_code', 'n/a')};"
        f" exporter warnings (retries, timeouts) {results.get('exporter_warnings', 0)}"
    )
    lines += [f"  FAILED START: {failure}" for failure in e2e["start_failures"]]
    lines += [f"  E2E {kind.upper()} NOT MEASURED: {error}" for kind, error in e2e["errors"].items()]
    return lines + [""]


def _pss(rss: dict[str, Any]) -> str:
    """The peak of summed PSS (shared pages split between their holders), when it was sampled."""
    return f"; peak PSS summed {fmt_bytes(rss['pss_bytes'])}" if rss.get("pss_bytes") else ""


def _batch_cli_lines(cli: dict[str, Any]) -> list[str]:
    lines = [f"batch CLI (tracevault redact --jsonl --workers auto = {cli['workers']}, start-up included):"]
    for key in ("mixed", "small", "large"):
        run = cli[key]
        notes, rss = run["notes"], run["notes"]["peak_rss"]
        children = ", ".join(fmt_bytes(v) for v in rss["children_bytes"]) or "none"
        line = (f"  {run['name']}: input {fmt_bytes(notes['input_bytes'])}, exit code {notes['exit_code']}, peak RSS (VmHWM) command +"
                f" children {fmt_bytes(rss['total_bytes'])} (command {fmt_bytes(rss['command_bytes'])}; children {children}){_pss(rss)}")  # fmt: skip
        leaks = notes.get("workload_leaks")
        if leaks:
            line += f"; planted PII/secrets leaked {sum(leaks['leaked'].values())} of {sum(leaks['planted'].values())}"
        lines.append(line)
        lines += [f"    {text}" for text in notes.get("stderr_tail", [])]
        if notes.get("paired"):
            lines.append(_paired_line(notes))
    return lines + [""]


def _paired_line(notes: dict[str, Any]) -> str:
    paired, runs = notes["paired"], notes.get("runs", [])
    each = ", ".join(f"{fmt_ratio(cpu)} per core / {fmt_ratio(wall)} wall" for cpu, wall in zip(paired["x_naive_cpu_runs"], paired["x_naive_runs"]))
    spent = ", ".join(f"{fmt_num(run['cpu_seconds'], 1)} CPU s / {fmt_num(run['seconds'], 1)} s" for run in runs)
    baselines = " / ".join(fmt_num(v) for v in paired["baseline_words_per_s"])
    return (f"    {len(paired['x_naive_runs'])} runs, each between two naive Presidio runs and compared with the faster of them: {each}"
            f" (median {fmt_ratio(paired['x_naive_cpu'])} per core, {fmt_ratio(paired['x_naive'])} wall); runs {spent};"
            f" naive mixed in turn (words/s) {baselines}")  # fmt: skip


def _e2e_resource_lines(e2e: dict[str, Any]) -> list[str]:
    lines = []
    for key, label in (("rss", "realistic"), ("unique_rss", "unique")):
        rss = e2e.get(key)
        if rss:
            children = ", ".join(fmt_bytes(v) for v in rss["children_bytes"]) or "none"
            lines.append(
                f"  {label}, peak RSS (VmHWM) server + children: {fmt_bytes(rss['total_bytes'])} (server {fmt_bytes(rss['server_bytes'])}; children {children}){_pss(rss)}"
            )
    obj = e2e.get("objects")
    if obj:
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(obj["by_kind"].items())) or "none"
        lines.append(f"  realistic, objects in the store after SIGTERM: {kinds}; {obj['data_objects']} data objects for {obj['spans']:,} spans = {fmt_num(obj['per_1000_spans'], 1)} per 1,000 spans")
    return lines


def _max_run_line(key: str, notes: dict[str, Any]) -> str:
    return (
        f"  {key.replace('max_', '')}, max run: {notes['exports']} exports ({notes['failed_exports']} failed), mean export {fmt_num(notes['mean_export_seconds'], 2)} s"
        f" (of which in the redaction pool {fmt_num(notes['mean_redaction_seconds'], 2)} s),"
        f" cache hit rate {fmt_pct(notes['cache'])}; CPU cores used: workers {notes['workers_cpu_cores']:.2f},"
        f" server process {notes['server_cpu_cores']:.2f}, bench client {notes['client_cpu_cores']:.2f}"
    )


def _inprocess_lines(inproc: dict[str, dict[str, Any]]) -> list[str]:
    lines = ["in-process notes:"]
    for label, notes in inproc.items():
        parts = [f"failed closed {notes.get('failed_closed', 0)}"]
        if "cache_hit_rate" in notes:
            parts.append(f"cache hit rate {fmt_pct(notes['cache_hit_rate'])}")
        if "workload_leaks" in notes:
            leaks = notes["workload_leaks"]
            planted = sum(leaks["planted"].values())
            leaked = sum(leaks["leaked"].values())
            detail = ", ".join(f"{k} {leaks['leaked'].get(k, 0)}/{v}" for k, v in sorted(leaks["planted"].items()))
            parts.append(f"planted PII/secrets leaked {leaked} of {planted} ({detail})")
        lines.append(f"  {label}: " + "; ".join(parts))
    return lines + [""]


def _target_lines(targets: list[dict[str, Any]]) -> list[str]:
    theader = f"  {'target':<58} {'measured':>22}  verdict"
    lines = ["targets (ratios from this run)", theader, "  " + "-" * (len(theader) - 2)]
    lines += [f"  {target['name']:<58} {target['measured']:>22}  {verdict(target['ok'])}" for target in targets]
    return lines + [""]


def _detection_lines(dq: dict[str, Any]) -> list[str]:
    ours, theirs, mine = dq["tracevault"], dq["naive_on_compare_rows"], dq["tracevault_on_compare_rows"]
    dheader = f"  {'group':<24} {'tracevault (all rows)':>22} {'tracevault':>11} {'naive Presidio':>15}"
    lines = [
        f"detection quality on the development corpus ({ours['rows']} rows; naive Presidio compared on {dq['compare_rows']} rows)",
        dheader,
        "  " + "-" * (len(dheader) - 2),
    ]
    for group, recall in ours["recall"].items():
        lines.append(
            f"  {'recall ' + group:<24} {fmt_pct(recall):>22} {fmt_pct(mine['recall'][group]):>11} {fmt_pct(theirs['recall'][group]):>15}"
        )
    lines.append(
        f"  {'leaked secrets':<24} {str(ours['leaked_secrets']) + ' of ' + str(ours['secrets_planted']):>22}"
        f" {mine['leaked_secrets']:>11} {theirs['leaked_secrets']:>15}"
    )
    lines.append(f"  {'benign kept':<24} {fmt_pct(ours['benign_kept']):>22} {fmt_pct(mine['benign_kept']):>11} {fmt_pct(theirs['benign_kept']):>15}")
    missed = ours["missed_targets"]
    lines.append("  bench.eval.evaluate targets: " + ("all met" if not missed else "MISSED: " + "; ".join(missed)))
    return lines


def evaluate_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    by = {row["key"]: row for row in results["rows"]}
    e2e = results.get("e2e") or {}
    targets: list[dict[str, Any]] = []

    def add(name: str, value: float | None, ok: bool | None, shown: str) -> None:
        targets.append({"name": name, "value": value, "ok": ok, "measured": shown})

    def at_least(value: float | None, bound: float) -> bool | None:
        return None if value is None else value >= bound

    def at_most(value: float | None, bound: float) -> bool | None:
        return None if value is None else value <= bound

    realistic = ratio(by.get("e2e_realistic", {}).get("spans_per_s"), by["naive_realistic"]["spans_per_s"])
    add("realistic e2e spans/s >= 35x naive Presidio", realistic, at_least(realistic, TARGETS["realistic_vs_naive"]), fmt_ratio(realistic))
    targets += _mixed_targets(results, at_least, at_most)
    dq = results["detection"]
    ours, theirs = dq["tracevault_on_compare_rows"], dq["naive_on_compare_rows"]
    worse = {g: (ours["recall"][g] or 0.0) - r for g, r in theirs["recall"].items() if r is not None and (ours["recall"][g] or 0.0) < r}
    detection_ok = not worse and ours["leaked_secrets"] <= theirs["leaked_secrets"]
    shown = ", ".join(f"{g} {d * 100:+.1f}pt" for g, d in worse.items()) or "none worse"
    add("  ... with detection >= naive Presidio (recall per group)", None, detection_ok, shown)
    unique = ratio(by.get("e2e_unique", {}).get("spans_per_s"), by["naive_unique"]["spans_per_s"])
    add("unique e2e spans/s >= 1.5x naive Presidio", unique, at_least(unique, TARGETS["unique_vs_naive"]), fmt_ratio(unique))
    ceiling = ratio(by.get("e2e_unique", {}).get("words_per_s"), results["ceiling_cores_words_per_s"])
    add("unique e2e words/s >= 70% of NER ceiling x cores", ceiling, at_least(ceiling, TARGETS["unique_vs_ceiling_cores"]), fmt_pct(ceiling))
    patterns = ratio(by["patterns_unique"]["spans_per_s"], by["ner_unique"]["spans_per_s"])
    add("patterns-only >= 20x NER policy (in-process, unique)", patterns, at_least(patterns, TARGETS["patterns_vs_ner"]), fmt_ratio(patterns))
    patterns_r = ratio(by["patterns_realistic"]["spans_per_s"], by["ner_realistic"]["spans_per_s"])
    add("  (same on the realistic workload, for information)", patterns_r, None, fmt_ratio(patterns_r))
    p99 = (e2e.get("latency") or {}).get("p99_seconds")
    add("p99 ack latency <= 1 s at half max throughput", p99, at_most(p99, TARGETS["p99_seconds"]), "n/a" if p99 is None else f"{p99:.3f} s")
    rss = (e2e.get("rss") or {}).get("total_bytes")
    add("peak RSS (server + workers) <= 1.5 GiB", rss, at_most(rss, TARGETS["rss_bytes"]), fmt_bytes(rss))
    objects = (e2e.get("objects") or {}).get("per_1000_spans")
    add("objects written <= 10 per 1,000 spans", objects, at_most(objects, TARGETS["objects_per_1000"]), fmt_num(objects, 1))
    codes = [e2e.get("exit_code"), e2e.get("unique_exit_code")]
    exit_ok = None if all(c is None for c in codes) else all(c == 0 for c in codes)
    add("tracevault serve starts, and exits 0 after SIGTERM", None, exit_ok and not e2e.get("start_failures"),
        f"{len(e2e.get('start_failures', []))} failed starts")
    signals = results.get("derived_signals")
    if signals is not None:  # issue 16's target, in runs that measured it
        kept = signals.get("ratio")
        add("derived signals keep >= 90% of throughput (in-process)", kept, None if kept is None else kept >= 0.90, fmt_pct(kept))
    missed = dq["tracevault"]["missed_targets"]
    add("dev corpus targets (bench.eval.evaluate)", None, not missed, "all met" if not missed else f"{len(missed)} missed")
    return targets


def _mixed_targets(results: dict[str, Any], at_least: Any, at_most: Any) -> list[dict[str, Any]]:
    """Issue 17: the mixed workload per core and with the batch CLI, and the CLI's peak RSS."""
    by = {row["key"]: row for row in results["rows"]}
    if "naive_mixed" not in by:
        return []
    cli = by.get("cli_mixed", {})
    per_core = cli.get("x_naive_cpu")
    inproc = by.get("ner_mixed", {}).get("x_naive_cpu")
    wall = cli.get("x_naive")
    small = (by.get("cli_patterns_small", {}).get("notes") or {}).get("peak_rss", {}).get("total_bytes")
    large = (by.get("cli_patterns_large", {}).get("notes") or {}).get("peak_rss", {}).get("total_bytes")
    growth = ratio(large, small)
    rows = [
        ("mixed, batch CLI spans/CPU-s >= 10x naive (paired median)", per_core, at_least(per_core, TARGETS["mixed_per_core_vs_naive"]), fmt_ratio(per_core)),
        ("  (same, in-process NER policy, for information)", inproc, None, fmt_ratio(inproc)),
        ("mixed, batch CLI wall spans/s >= 18x naive (paired median)", wall, at_least(wall, TARGETS["mixed_cli_wall_vs_naive"]), fmt_ratio(wall)),
        ("batch CLI peak RSS <= 2 GiB (patterns-only, larger input)", large, at_most(large, TARGETS["cli_rss_bytes"]), fmt_bytes(large)),
        ("  ... and the same for a 10x larger input (<= 1.25x)", growth, at_most(growth, 1.25), fmt_ratio(growth)),
    ]  # fmt: skip
    return [{"name": name, "value": value, "ok": ok, "measured": shown} for name, value, ok, shown in rows]
