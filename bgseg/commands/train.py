"""`bgseg train`: train or resume a model from a recipe (training/*.json)."""


def add_arguments(parser):
    parser.add_argument("--config", required=True, metavar="RECIPE.json",
                        help="training recipe (see training/README.md and docs/training.md)")
    parser.add_argument(
        "--output",
        metavar="DIR",
        help="run directory (default runs/<recipe name>); "
        "an existing run of the same recipe is resumed",
    )
    parser.add_argument("--overwrite", action="store_true",
                        help="start again in a run directory that holds another (or this) run")
    parser.add_argument("--epochs", type=int, help="override the recipe's epochs")
    parser.add_argument("--batch-size", type=int, help="override the recipe's batch_size")
    parser.add_argument(
        "--images-per-epoch", type=int, help="override the recipe's images_per_epoch"
    )
    parser.add_argument("--val-images", type=int, help="override the recipe's val_images")
    parser.add_argument("--seed", type=int,
                        help="override the recipe's seed (a repeat of a run: give it --output)")
    parser.add_argument("--strategy", choices=("default", "mirrored", "multiworker"),
                        help="tf.distribute strategy (overrides the recipe)")
    parser.add_argument("--cache-dir", help="COCO mask cache folder (default $BGSEG_CACHE or "
                        "~/.cache/bgseg)")
    parser.add_argument("--data-throughput", action="store_true",
                        help="only measure the input pipeline (images/s) of the recipe, then exit")
    parser.add_argument(
        "--init-from",
        metavar="NAME_OR_PATH",
        help="start from a pretrained name (e.g. mediapipe_selfie, default_video) or "
        "a .keras model (overrides the recipe's init_from)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar (one line per epoch)")


def run(args):
    from bgseg.commands import common
    from bgseg.models.pretrained import check_model_source
    from bgseg.training.config import check_data_paths, load_recipe

    try:
        recipe = load_recipe(args.config, epochs=args.epochs, batch_size=args.batch_size,
                             images_per_epoch=args.images_per_epoch, val_images=args.val_images,
                             strategy=args.strategy, cache_dir=args.cache_dir,
                             init_from=args.init_from, seed=args.seed)
        for field in ("init_from", "teacher"):  # in a second, before TensorFlow loads and
            check_model_source(getattr(recipe, field), field)  # before any folder exists
        check_data_paths(recipe)
    except (FileNotFoundError, ValueError) as e:
        common.error(e)
        return 2
    from bgseg.training.trainer import RunDirError, data_throughput, train

    try:
        if args.data_throughput:
            print(f"input pipeline: {data_throughput(recipe):.1f} images/s "
                  f"({recipe.batch_size} per batch)")
        else:
            train(recipe, output=args.output, overwrite=args.overwrite,
                  verbose=2 if args.quiet else 1)
    except (FileNotFoundError, ValueError, RunDirError) as e:
        common.error(e)
        return 2
    return 0
