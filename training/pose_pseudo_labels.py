"""Pseudo-label person masks with MediaPipe's BlazePose segmentation (the offline teacher).

Run with the MediaPipe environment made by `tflite/setup_mediapipe_venv.sh` (mediapipe==0.10.21,
whose wheel carries `pose_detection.tflite` and `pose_landmark_full.tflite`, Apache-2.0):

    .venv-mediapipe/bin/python training/pose_pseudo_labels.py ../shared/data/unlabelled_people \
        -o ~/.cache/bgseg/pseudo/unlabelled_people --agree 0.5

For every image (or every `--every`-th frame of a video file), BlazePose runs in static-image mode.
A frame gets a pseudo-label only where a pose is found: its segmentation mask > 0.5 (255 = person).
With `--agree T`, MediaPipe's selfie segmenter runs too and the frame is kept only when the two
masks agree (IoU >= T): BlazePose is the better full-body and video teacher, the selfie model the
better one for heads and portraits, and frames where they disagree are the ones to distrust.
The output is a `folder` source (`images/` + `masks/`, file stems kept; images are symlinks to the
originals, video frames are written as JPEG) plus `labels.json` with the counts and per-item IoU.
Nothing is written into the input folders, and an existing output folder is refused.
"""

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
VIDEO_EXTENSIONS = (".mp4", ".mov", ".avi", ".mkv")
SELFIE = "mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite"


def frames_of(source, every):
    """(stem, RGB frame, original path or None) for an image folder, an image or a video file."""
    source = Path(source)
    if source.is_dir():
        for path in sorted(p for p in source.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS):
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)  # applies EXIF orientation, as bgseg
            if image is not None:
                yield path.stem, cv2.cvtColor(image, cv2.COLOR_BGR2RGB), path
    elif source.suffix.lower() in VIDEO_EXTENSIONS:
        capture = cv2.VideoCapture(str(source))
        index = 0
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            if index % every == 0:
                yield f"{source.stem}_{index:05d}", cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), None
            index += 1
        capture.release()
    else:
        raise SystemExit(f"error: {source} is neither a folder of images nor a video file")


class SelfieTeacher:
    """MediaPipe's selfie segmenter through MediaPipe Tasks (CPU), full-frame probability."""

    def __init__(self):
        import mediapipe as mp
        from mediapipe.tasks import python as tasks
        from mediapipe.tasks.python import vision

        path = Path(mp.__file__).parent.parent / SELFIE
        self.mp = mp
        self.segmenter = vision.ImageSegmenter.create_from_options(vision.ImageSegmenterOptions(
            base_options=tasks.BaseOptions(model_asset_path=str(path)),
            output_confidence_masks=True, output_category_mask=False))

    def __call__(self, rgb):
        image = self.mp.Image(image_format=self.mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        return np.array(self.segmenter.segment(image).confidence_masks[0].numpy_view()).reshape(
            rgb.shape[:2])


def iou(a, b):  # bgseg.evaluation.iou's rule; bgseg is not installed in the MediaPipe venv
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sources", nargs="+", help="image folders, images or video files")
    parser.add_argument("-o", "--output", required=True, help="new folder for images/ + masks/")
    parser.add_argument("--every", type=int, default=5, help="video: label every N-th frame")
    parser.add_argument("--agree", type=float, default=None, metavar="IOU",
                        help="keep a frame only if BlazePose and the selfie model agree this well")
    parser.add_argument(
        "--complexity",
        type=int,
        default=1,
        choices=(0, 1),
        help="BlazePose lite (0) or full (1, default); heavy (2) is not in the wheel",
    )
    args = parser.parse_args(argv)
    if args.every < 1 or (args.agree is not None and not 0 <= args.agree <= 1):
        parser.error("--every must be >= 1 and --agree in [0, 1]")
    out = Path(args.output).expanduser()
    if out.exists():
        parser.error(f"{out} exists: choose a new folder")
    import mediapipe as mp

    (out / "images").mkdir(parents=True)
    (out / "masks").mkdir()
    selfie = SelfieTeacher() if args.agree is not None else None
    counts = {"frames": 0, "no_pose": 0, "disagree": 0, "kept": 0}
    items = {}
    with mp.solutions.pose.Pose(static_image_mode=True, model_complexity=args.complexity,
                                enable_segmentation=True) as pose:
        for source in args.sources:
            for stem, rgb, original in frames_of(source, args.every):
                counts["frames"] += 1
                result = pose.process(rgb)
                if result.pose_landmarks is None or result.segmentation_mask is None:
                    counts["no_pose"] += 1
                    continue
                mask = result.segmentation_mask > 0.5
                agreement = None
                if selfie is not None:
                    agreement = iou(mask, selfie(rgb) > 0.5)
                    if agreement < args.agree:
                        counts["disagree"] += 1
                        continue
                if original is not None:
                    (out / "images" / original.name).symlink_to(Path(original).resolve())
                else:
                    cv2.imwrite(
                        str(out / "images" / f"{stem}.jpg"),
                        cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                        [cv2.IMWRITE_JPEG_QUALITY, 92],
                    )
                cv2.imwrite(str(out / "masks" / f"{stem}.png"), mask.astype(np.uint8) * 255)
                items[stem] = {"coverage": float(mask.mean()), "agreement": agreement}
                counts["kept"] += 1
    (out / "labels.json").write_text(json.dumps({
        "teacher": f"MediaPipe BlazePose (complexity {args.complexity}) segmentation > 0.5",
        "agree": args.agree, "sources": args.sources, "every": args.every, "counts": counts,
        "items": items}, indent=2) + "\n")
    print(f"{out}: {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
