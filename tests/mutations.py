"""Mutation checks: break the product on purpose, one line at a time, and show that the test
guarding that behaviour fails, then passes again on the real code.

    python tests/mutations.py [LABEL ...]      # from the repository root; prints a markdown table

Each entry: what breaks, the file, the text replaced, its broken replacement, the test. The file
is restored after each run (also on errors). Not collected by pytest (a developer's check).
"""
import pathlib
import subprocess
import sys

BREAKS = [
    ("shipped model answers a constant 0.5", "bgseg/runtime/segmenter.py",
     "        return self.model.get_output()\n",
     "        return self.model.get_output() * 0 + 0.5\n",
     "tests/test_shipped_models.py::test_shipped_model_finds_the_person_in_a_real_photo"),
    ("video writes the input frame, not the composite", "bgseg/runtime/stream.py",
     "        out = effect(frame, mask) if matrix is None else effect.on_planes(",
     "        out = frame if True else effect.on_planes(",
     "tests/test_cli_video.py::test_video_writes_the_composite_not_the_input"),
    ("--blur does nothing", "bgseg/effects.py",
     "            return blur_background(frame, mask, self.blur)\n",
     "            return frame.copy()\n",
     "tests/test_cli_image.py::test_effect_options_change_the_background_only"),
    ("metadata normalisation std 256", "bgseg/export/metadata.py",
     'normalization.std = [contract.NORMALIZATION["std"]]', 'normalization.std = [256.0]',
     "tests/test_export.py::test_segmenter_metadata_whole"),
    ("runtime feeds [0, 255] instead of [0, 1]", "bgseg/runtime/segmenter.py",
     "out=self._input[..., :3])",
     "out=self._input[..., :3]); self._input[..., :3] *= 255",
     "tests/test_runtime.py::test_every_quantization_gives_a_full_size_probability"),
    ("Beam writes the decoded input instead of the effect", "bgseg/beam/pipeline.py",
     "io.encode_image(self.effect(result.example, result.inference),",
     "io.encode_image(result.example,",
     "tests/test_beam.py::test_outputs_equal_bgseg_image"),
    ("distillation ignores the teacher", "bgseg/data/pipeline.py",
     "return (1.0 - weight) * y + weight * t", "return y",
     "tests/test_fine_tuning.py::test_on_policy_priors_come_from_the_policy_for_flagged_samples"),
    ("zoom runs on the crop but pastes nothing back", "bgseg/runtime/segmenter.py",
     "        canvas[y0:y1, x0:x1] = self._look(image, canvas.shape, box, prior, mirror)",
     "        _ = self._look(image, canvas.shape, box, prior, mirror)",
     "tests/test_zoom.py::test_zoom_finds_the_person_better_than_one_look"),
    ("the video crop never follows the person", "bgseg/runtime/zoom.py",
     "    if current is None or new is None:\n        return new\n",
     "    if current is not None:\n        return current\n",
     "tests/test_zoom.py::test_keep_box_holds_still_until_someone_leaves_or_the_people_shrink"),
    ("a mirrored pair gives its first mask twice", "bgseg/runtime/interpreter.py",
     "        return y[0], y[1]\n", "        return y[0], y[0]\n",
     "tests/test_flip.py::test_a_pair_of_inputs_gives_the_two_runs_masks_to_the_bit"),
    ("training zoom crops ignore the person", "bgseg/data/augment.py",
     "        matrix = _zoom_matrix(rng, mask, out_hw, config)",
     "        matrix = None",
     "tests/test_data_pipeline.py::test_zoom_crops_frame_the_person_as_the_runtime_zoom_does"),
]


def pytest(test):
    """(passed?, pytest's last line) of one test."""
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                          test], capture_output=True, text=True)
    return run.returncode == 0, (run.stdout.strip().splitlines() or ["?"])[-1]


def main(labels):
    print("| break | test | broken build | real build |\n|---|---|---|---|")
    for label, path, old, new, test in [b for b in BREAKS if b[0] in labels] or BREAKS:
        source = pathlib.Path(path)
        original = source.read_text()
        if old not in original:
            print(f"| {label} | `{test}` | not applied: the text is no longer in {path} | |")
            continue
        source.write_text(original.replace(old, new, 1))
        try:
            broken_passes, _ = pytest(test)
        finally:
            source.write_text(original)
        real_passes, last = pytest(test)
        print(f"| {label} | `{test}` | {'passes (!)' if broken_passes else 'FAILS'} | "
              f"{'passes' if real_passes else 'FAILS (!) ' + last} |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
