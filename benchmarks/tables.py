"""The markdown table of a comparison report."""


def markdown_table(report):
    """The results as a markdown table (one column per model)."""
    names = [m["name"] for m in report["models"]]
    ours = names[0]
    lines = [f"Command: `{report['command']}`", "",
             f"| metric | {' | '.join(names)} |", "|---|" + "---|" * len(names)]

    def row(label, values, fmt):
        cells = [("-" if v is None else fmt.format(v)) for v in values]
        lines.append(f"| {label} | {' | '.join(cells)} |")

    for set_name, result in report["images"].items():
        n = result[ours]["items"]
        row(f"IoU, {set_name} ({n} images)", [result[n_]["iou"] for n_ in names], "{:.3f}")
    for set_name, result in [*report["images"].items(), ("DAVIS", report.get("davis"))]:
        if result and result[ours].get("solid_interior") is not None:
            row(
                f"solid interior / background (%), {set_name}",
                [
                    f"{100 * result[n_]['solid_interior']:.1f} / "
                    f"{100 * result[n_]['solid_background']:.1f}"
                    for n_ in names
                ],
                "{}",
            )
    if report.get("davis"):
        d = report["davis"]
        clips = ", ".join(report["davis_clips"])
        row(f"IoU, DAVIS held-out clips ({d[ours]['frames']} frames: {clips})",
            [d[n]["iou"] for n in names], "{:.3f}")
        row("dtSSD x100, DAVIS (lower is steadier)", [d[n].get("dtssd") for n in names], "{:.2f}")
        row("label flips where truth is steady, DAVIS (%)",
            [_pct(d[n].get("unstable_flip_rate")) for n in names], "{:.3f}")
    if report.get("videos"):
        v = report["videos"]
        row(f"label flip rate, unlabelled videos ({v[ours]['pairs']} frame pairs) (%)",
            [_pct(v[n].get("flip_rate")) for n in names], "{:.3f}")
        row("mean abs(a_t - a_{t-1}), unlabelled videos (x100)",
            [_pct(v[n].get("mean_abs_change")) for n in names], "{:.3f}")
    t = report["timing"]
    row(
        f"median invoke (ms, {report['threads']} threads)",
        [t[n]["median_invoke_ms"] for n in names],
        "{:.2f}",
    )
    row(
        "end-to-end frames/s (resize + invoke + resize back)",
        [t[n]["fps"] for n in names],
        "{:.1f}",
    )
    lines.append("")
    for name, ratio in report["ratios"].items():
        lines.append(f"{name} / MediaPipe: invoke time x{ratio['invoke_time']:.2f}, "
                     f"frames/s x{ratio['fps']:.2f}.")
    return "\n".join(lines) + "\n"


def _pct(value):
    return None if value is None else 100.0 * value
