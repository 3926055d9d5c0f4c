"""Data: COCO person filter, folder and DAVIS datasets, splits, the tf.data pipeline,
augmentation."""
