"""Cut a person out of a photo: transparent PNG plus a version on a blurred background.

    python examples/image.py photo.jpg
"""

import sys

import cv2

import bgseg
from bgseg.effects import Effect

path = sys.argv[1]
rgb = cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB)

with bgseg.load("default_image") as segmenter:      # a Segmenter: no state between images
    mask = segmenter.segment(rgb)                    # float32, same size as the photo

cv2.imwrite("person.png", cv2.cvtColor(Effect(alpha=True)(rgb, mask), cv2.COLOR_RGBA2BGRA))
cv2.imwrite("blurred.jpg", cv2.cvtColor(Effect(blur=15)(rgb, mask), cv2.COLOR_RGB2BGR))
